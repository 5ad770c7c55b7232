"""The inference-time stabilizer: its cost per frame and its effect on flicker.

    python benchmarks/stabilizer_bench.py [--styles scream udnie] [--strengths 0.4 0.6 0.8]

Cost: median ms of one :class:`~vstyle.temporal.stabilizer.Stabilizer` call (flow on 180-px grey
frames, warp and blend at full size) at 640×360 and 1280×720, on real consecutive clip frames,
after warm-up, on one thread (it runs on the pipeline's writer thread). Effect: the warping-error
ratio (Lai et al. 2018, as ``vstyle eval``) of each bundled style on the first 24 frames of the
evaluation clips at 180 px, without and with the stabilizer. Writes
``benchmarks/results/stabilizer.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.bench.machine import cpu_model  # noqa: E402
from vstyle.config import StylizeConfig  # noqa: E402
from vstyle.evaluate.flicker import DEFAULT_CLIPS, load_clip, shared_clips  # noqa: E402
from vstyle.styles import available_styles  # noqa: E402
from vstyle.stylizer import Stylizer  # noqa: E402
from vstyle.temporal.stabilizer import Stabilizer  # noqa: E402
from vstyle.temporal.warping_error import warping_error  # noqa: E402


def cost_ms(frames: list[np.ndarray], size: tuple[int, int], strength: float, runs: int) -> float:
    """Median ms per stabilizer call at ``size`` (W×H) over consecutive real frames."""
    scaled = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    styled = [cv2.GaussianBlur(f, (0, 0), 2) for f in scaled]  # any picture: the cost does not care
    stabilizer = Stabilizer(strength)
    for i in range(5):  # warm-up (and the first, flow-free frame)
        stabilizer(scaled[i % len(scaled)], styled[i % len(styled)])
    times = []
    for i in range(runs):
        j = (i + 5) % len(scaled)
        t0 = time.perf_counter()
        stabilizer(scaled[j], styled[j])
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", help="bundled styles (default: all)")
    parser.add_argument("--strengths", nargs="+", type=float, default=[0.4, 0.6, 0.8])
    parser.add_argument("--runs", type=int, default=100, help="timed calls per size (default 100)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "stabilizer.json")
    args = parser.parse_args()
    known = shared_clips()
    clips = [load_clip(known[name], frames=24, height=180) for name in DEFAULT_CLIPS if name in known]
    if not clips:
        print("skipped: the shared video/ clips are not here (../shared/data)", file=sys.stderr)
        return 0
    cv2.setNumThreads(1)
    full = load_clip(known[DEFAULT_CLIPS[0]], frames=24, height=None)
    costs = {
        f"{w}x{h}": {str(s): round(cost_ms(full.frames, (w, h), s, args.runs), 2) for s in args.strengths}
        for w, h in ((640, 360), (1280, 720))
    }
    styles = args.styles or [s.name for s in available_styles() if s.kind == "bundled"]
    flicker: dict[str, dict[str, dict[str, float]]] = {}
    for style in styles:
        flicker[style] = {}
        with Stylizer(StylizeConfig(style=style, workers=1)) as stylizer:
            for clip in clips:
                outputs = [stylizer(f) for f in clip.frames]
                row = {"none": warping_error(clip.frames, outputs).ratio}
                for s in args.strengths:
                    stabilizer = Stabilizer(s)
                    steady = [stabilizer(i, o) for i, o in zip(clip.frames, outputs)]
                    row[str(s)] = warping_error(clip.frames, steady).ratio
                flicker[style][clip.name] = {k: round(v, 3) for k, v in row.items()}
                print(style, clip.name, flicker[style][clip.name], file=sys.stderr)
    command = "python benchmarks/stabilizer_bench.py " + " ".join(sys.argv[1:])
    report = {"machine": cpu_model(), "command": command.strip(), "cost_ms": costs, "flicker_ratio": flicker}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)

    print("| size | " + " | ".join(f"strength {s}" for s in args.strengths) + " |")
    print("|---|" + "---|" * len(args.strengths))
    for size, row in costs.items():
        print(f"| {size} | " + " | ".join(f"{row[str(s)]:.2f} ms" for s in args.strengths) + " |")
    print()
    print("| style | clip | no stabilizer | " + " | ".join(f"{s}" for s in args.strengths) + " |")
    print("|---|---|---|" + "---|" * len(args.strengths))
    for style, rows in flicker.items():
        for clip_name, row in rows.items():
            cells = " | ".join(f"{row[str(s)]:.2f}" for s in args.strengths)
            print(f"| {style} | {clip_name} | {row['none']:.2f} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What switching styles in the live window costs: the pause before the first frame of a new style.

    python benchmarks/switch_cost.py [--runs 5] [--size 640x360] [--fit FPS]

A style the window has not shown yet opens on the worker that needs it
(:class:`~vstyle.switcher.StyleSwitcher`): ONNX Runtime loads and optimises the graph, then the
first call at this size allocates its buffers. The viewer sees the last frame of the old style for
that long (frames arriving meanwhile are dropped, not queued). For each bundled style this times
the open (``Stylizer.__enter__``) and the first frame, median of ``--runs`` fresh opens after one
untimed open (so the file is in the page cache, as after the first switch), next to the steady
per-frame time of the same stylizer. Writes ``benchmarks/results/switch_cost.json`` and prints a
Markdown table.

``--fit FPS`` times what ``live --height auto`` does instead: each style, when opened, is fitted to
a source of ``--size`` at ``FPS`` (:meth:`Stylizer.fit_height`, one worker), so the pause includes
the fit; the table adds the height chosen and the budget a frame has
(``benchmarks/results/switch_cost_fit.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.bench.machine import cpu_model  # noqa: E402
from vstyle.config import StylizeConfig  # noqa: E402
from vstyle.models.metadata import read_model_metadata  # noqa: E402
from vstyle.styles import available_styles  # noqa: E402
from vstyle.stylizer import Stylizer  # noqa: E402


def measure(style: str, frame: np.ndarray, runs: int, fit: float | None = None) -> dict[str, float]:
    config = StylizeConfig(style=style, workers=1)
    with Stylizer(config) as stylizer:  # untimed: page cache warm, as after the first switch
        stylizer(frame)
    height, width = frame.shape[:2]
    opens, fits, firsts, steady, heights = [], [], [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        with Stylizer(config) as stylizer:
            t1 = time.perf_counter()
            if fit is not None:
                heights.append(stylizer.fit_height(width, height, fit))
            t2 = time.perf_counter()
            stylizer(frame)
            t3 = time.perf_counter()
            stylizer(frame)
            steady.append(time.perf_counter() - t3)
        opens.append(t1 - t0)
        fits.append(t2 - t1)
        firsts.append(t3 - t2)
    row = {
        "open_ms": 1e3 * statistics.median(opens),
        "first_frame_ms": 1e3 * statistics.median(firsts),
        "pause_ms": 1e3 * statistics.median(sum(parts) for parts in zip(opens, fits, firsts, strict=True)),
        "steady_frame_ms": 1e3 * statistics.median(steady),
    }
    if fit is not None:
        row |= {"fit_ms": 1e3 * statistics.median(fits), "heights": heights}
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="640x360", help="frame size WxH (default 640x360)")
    parser.add_argument("--fit", type=float, metavar="FPS", help="fit each style to a source at FPS")
    parser.add_argument(
        "--out", type=Path, help="JSON report (default benchmarks/results/switch_cost[_fit].json)"
    )
    args = parser.parse_args()
    name = "switch_cost_fit.json" if args.fit else "switch_cost.json"
    args.out = args.out or ROOT / "benchmarks" / "results" / name
    width, height = (int(v) for v in args.size.lower().split("x"))
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    rows = []
    for entry in available_styles():
        if entry.kind != "bundled":
            continue
        arch = read_model_metadata(entry.path).architecture
        row = {"style": entry.name, "architecture": arch, **measure(entry.name, frame, args.runs, args.fit)}
        rows.append(row)
        print(f"{entry.name}: {row}", file=sys.stderr, flush=True)
    report = {
        "machine": cpu_model(),
        "command": "python benchmarks/switch_cost.py " + " ".join(sys.argv[1:]),
        "size": [width, height],
        "runs": args.runs,
        "fit_fps": args.fit,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.fit:
        budget = 1e3 / (args.fit * 1.25)  # one worker, the 25 % margin of Stylizer.fit_height
        print(
            f"| style | network | pause ms (open + fit + first frame) | height | steady ms/frame (budget {budget:.0f}) |"
        )
        print("|---|---|---|---|---|")
        for r in rows:
            heights = sorted(set(r["heights"]))
            print(
                f"| {r['style']} | {r['architecture']} | {r['pause_ms']:.0f} ({r['open_ms']:.0f} + "
                f"{r['fit_ms']:.0f} + {r['first_frame_ms']:.0f}) | {'/'.join(map(str, heights))} | "
                f"{r['steady_frame_ms']:.0f} |"
            )
        return 0
    print("| style | network | pause ms (open + first frame) | steady ms/frame |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['style']} | {r['architecture']} | {r['pause_ms']:.0f} ({r['open_ms']:.0f} + "
            f"{r['first_frame_ms']:.0f}) | {r['steady_frame_ms']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Backend-only vs end-to-end throughput, and live latency (the streaming core's acceptance numbers).

For each architecture (``quality``, ``fast``, ``tiny``; seeded random weights — speed does not
depend on the weights) and each size (640×360, 1280×720), in one run on the same real clip:

* **backend-only**: the clip's frames decoded and preprocessed up front, then ``backend.infer``
  timed frame by frame after warm-up; fps = frames / summed inference time, plus the median.
* **end-to-end**: ``vstyle render`` on the same clip and frame count (decode → stylize → H.264
  encode with the clip's audio copied), fps = frames written / wall time after the model loaded.

Then ``vstyle live`` from the synthetic 640×360 source at 30 fps into the null sink: capture→output
latency p50/p95 and dropped frames.

Usage::

    python benchmarks/stream_bench.py [--clip PATH] [--archs quality fast tiny] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vstyle.backends import open_backend
from vstyle.capture import FileSource, open_source
from vstyle.config import PipelineConfig, StylizeConfig
from vstyle.data import shared_data_dir
from vstyle.render import render, run
from vstyle.sinks import NullSink
from vstyle.stylizer import Stylizer

SIZES = {"640x360": 360, "1280x720": 720}
#: Frames per measurement, chosen so each architecture's slowest case takes ~20–40 s here.
FRAMES = {"quality": {360: 24, 720: 8}, "fast": {360: 90, 720: 30}, "tiny": {360: 240, 720: 90}}


def export_random(arch: str, folder: Path) -> Path:
    import torch

    from vstyle.models.export import export_onnx
    from vstyle.models.spec import get_arch
    from vstyle.models.stylenet import StyleNet

    torch.manual_seed(0)
    spec = get_arch(arch)
    return export_onnx(StyleNet(spec).eval(), spec, folder / f"{arch}.onnx", source="random init (benchmark)")


def backend_only(model: Path, clip: Path, height: int, frames: int, warmup: int = 2) -> dict[str, float]:
    with FileSource(clip) as source:
        images = [f.image for _, f in zip(range(frames), source.frames())]
    with Stylizer(StylizeConfig(model=model, height=height)) as stylizer:
        # Preprocess outside the timed region: this is the network alone.
        batches = []
        for image in images:
            stylizer.stylize_batch([image])
            batches.append(stylizer._buffer.copy())  # noqa: SLF001 - the exact tensor the backend saw
        backend = stylizer.backend
        for batch in batches[:warmup]:
            backend.infer(batch)
        times = []
        for batch in batches:
            t0 = time.perf_counter()
            backend.infer(batch)
            times.append(time.perf_counter() - t0)
    return {"fps": len(times) / sum(times), "median_ms": 1e3 * statistics.median(times), "frames": len(times)}


def end_to_end(model: Path, clip: Path, height: int, frames: int, folder: Path) -> dict[str, float]:
    out = folder / f"e2e-{model.stem}-{height}.mp4"
    metrics = render(clip, out, stylize=StylizeConfig(model=model, height=height), max_frames=frames,
                     sink_options={"overwrite": True})  # fmt: skip
    d = metrics.as_dict()
    return {"fps": d["fps"], "frames": d["frames_out"], "stages_ms_per_frame": d["stages_ms_per_frame"],
            "stylizer": d["stylizer"]}  # fmt: skip


def live_latency(model: Path, seconds: float = 10.0) -> dict[str, float]:
    frames = int(30 * seconds)
    metrics = run(open_source("synthetic:640x360@30", realtime=True, num_frames=frames), NullSink(),
                  StylizeConfig(model=model), PipelineConfig(mode="live", queue_size=1))  # fmt: skip
    d = metrics.as_dict()
    return {"fps": d["fps"], "p50_ms": d["latency_ms"]["p50"], "p95_ms": d["latency_ms"]["p95"],
            "dropped": d["dropped"], "frames_in": d["frames_in"], "frames_out": d["frames_out"]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = shared_data_dir()
    default_clip = root / "video" / "sam2_05_default_juggle.mp4" if root else None
    parser.add_argument("--clip", type=Path, default=default_clip, help="a 1280×720 clip (default: a shared-data clip)")
    parser.add_argument("--archs", nargs="+", default=list(FRAMES))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.clip is None or not args.clip.is_file():
        print("stream_bench: no clip (pass --clip PATH; ../shared/data/video is absent)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version()},  # fmt: skip
        "clip": args.clip.name,
        "rows": [],
        "live": {},
    }
    import av
    import onnxruntime

    results["versions"] = {"onnxruntime": onnxruntime.__version__, "av": av.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for arch in args.archs:
            model = export_random(arch, folder)
            for size, height in SIZES.items():
                n = FRAMES[arch][height]
                b = backend_only(model, args.clip, height, n)
                e = end_to_end(model, args.clip, height, n, folder)
                row = {"arch": arch, "size": size, "frames": n, "backend_fps": round(b["fps"], 2),
                       "backend_median_ms": round(b["median_ms"], 1), "e2e_fps": round(e["fps"], 2),
                       "ratio": round(e["fps"] / b["fps"], 3), "e2e_stages_ms": e["stages_ms_per_frame"]}  # fmt: skip
                results["rows"].append(row)
                print(json.dumps(row), flush=True)
            results["live"][arch] = live_latency(model)
            print(arch, "live", json.dumps(results["live"][arch]), flush=True)
    (args.out / "stream_bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n| arch | size | frames | backend-only fps (median ms) | end-to-end fps | e2e / backend |")
    print("|---|---|---|---|---|---|")
    for r in results["rows"]:
        print(f"| {r['arch']} | {r['size']} | {r['frames']} | {r['backend_fps']} ({r['backend_median_ms']}) "
              f"| {r['e2e_fps']} | {r['ratio']:.0%} |")  # fmt: skip
    print("\n| arch | live fps | p50 ms | p95 ms | dropped / captured |")
    print("|---|---|---|---|---|")
    for arch, r in results["live"].items():
        print(f"| {arch} | {r['fps']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['dropped']} / {r['frames_in']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

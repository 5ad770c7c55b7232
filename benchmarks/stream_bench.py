"""Backend-only vs end-to-end throughput, and live latency (the streaming core's acceptance numbers).

For each architecture (``quality``, ``fast``, ``tiny``; seeded random weights — speed does not
depend on the weights) and each size (640×360, 1280×720), in one run on the same real clip:

* **backend-only**: the clip's frames decoded and preprocessed up front, then ``backend.infer``
  after warm-up, with ``workers`` inferences in flight (1 inference on every core, or one
  single-threaded inference per core); fps = frames / wall time, plus the median per call.
* **end-to-end**: ``vstyle render`` on the same clip and frame count with the same workers
  (decode → stylize → H.264 encode with the clip's audio copied), fps = frames written / wall
  time after the model loaded. The ratio is taken against the *best* backend-only configuration.

Then ``vstyle live`` from the synthetic 640×360 source at 30 fps into the null sink, for each
workers setting: capture→output latency p50/p95 and dropped frames.

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
import threading
import time
from pathlib import Path

import numpy as np

from vstyle.capture import FileSource, open_source
from vstyle.config import PipelineConfig, StylizeConfig
from vstyle.data import shared_data_dir
from vstyle.render import render, run
from vstyle.sinks import NullSink
from vstyle.stylizer import Stylizer

SIZES = {"640x360": 360, "1280x720": 720}
#: Frames per measurement, chosen so each architecture's slowest case takes ~20–40 s here.
FRAMES = {"quality": {360: 24, 720: 8}, "fast": {360: 90, 720: 30}, "tiny": {360: 240, 720: 90}}
#: Stylize workers compared: one inference using every core, or one single-threaded inference per core.
WORKERS = (1, 2)


def export_random(arch: str, folder: Path) -> Path:
    import torch

    from vstyle.models.export import export_onnx
    from vstyle.models.spec import get_arch
    from vstyle.models.stylenet import StyleNet

    torch.manual_seed(0)
    spec = get_arch(arch)
    return export_onnx(StyleNet(spec).eval(), spec, folder / f"{arch}.onnx", source="random init (benchmark)")


def backend_only(
    model: Path, clip: Path, height: int, frames: int, workers: int, warmup: int = 2
) -> dict[str, float]:
    """The network alone on the clip's preprocessed frames, ``workers`` inferences in flight."""
    with FileSource(clip) as source:
        images = [f.image for _, f in zip(range(frames), source.frames())]
    with Stylizer(StylizeConfig(model=model, height=height, workers=workers)) as stylizer:
        # Preprocess outside the timed region: this is the network alone.
        batches = [stylizer.preprocess([image]).copy() for image in images]
        backend = stylizer.backend
        for batch in batches[:warmup]:
            backend.infer(batch)
        times: list[float] = []

        def work(share: list[np.ndarray]) -> None:
            for batch in share:
                t0 = time.perf_counter()
                backend.infer(batch)
                times.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=work, args=(batches[i::workers],)) for i in range(workers)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    return {"fps": len(times) / wall, "median_ms": 1e3 * statistics.median(times), "frames": len(times)}


def end_to_end(
    model: Path, clip: Path, height: int, frames: int, workers: int, folder: Path
) -> dict[str, float]:
    out = folder / f"e2e-{model.stem}-{height}.mp4"
    metrics = render(clip, out, stylize=StylizeConfig(model=model, height=height, workers=workers), max_frames=frames,
                     sink_options={"overwrite": True})  # fmt: skip
    d = metrics.as_dict()
    return {"fps": d["fps"], "frames": d["frames_out"], "stages_ms_per_frame": d["stages_ms_per_frame"],
            "stylizer": d["stylizer"]}  # fmt: skip


def live_latency(model: Path, workers: int, seconds: float = 10.0) -> dict[str, float]:
    frames = int(30 * seconds)
    metrics = run(open_source("synthetic:640x360@30", realtime=True, num_frames=frames), NullSink(),
                  StylizeConfig(model=model, workers=workers), PipelineConfig(mode="live", queue_size=1))  # fmt: skip
    d = metrics.as_dict()
    return {"fps": d["fps"], "p50_ms": d["latency_ms"]["p50"], "p95_ms": d["latency_ms"]["p95"],
            "dropped": d["dropped"], "frames_in": d["frames_in"], "frames_out": d["frames_out"]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = shared_data_dir()
    default_clip = root / "video" / "sam2_05_default_juggle.mp4" if root else None
    parser.add_argument(
        "--clip", type=Path, default=default_clip, help="a 1280×720 clip (default: a shared-data clip)"
    )
    parser.add_argument("--archs", nargs="+", default=list(FRAMES))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.clip is None or not args.clip.is_file():
        print("stream_bench: no clip (pass --clip PATH; ../shared/data/video is absent)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
        },  # fmt: skip
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
                for workers in WORKERS:
                    b = backend_only(model, args.clip, height, n, workers)
                    e = end_to_end(model, args.clip, height, n, workers, folder)
                    row = {"arch": arch, "size": size, "workers": workers, "frames": n,
                           "backend_fps": round(b["fps"], 2), "backend_median_ms": round(b["median_ms"], 1),
                           "e2e_fps": round(e["fps"], 2), "e2e_stages_ms": e["stages_ms_per_frame"]}  # fmt: skip
                    results["rows"].append(row)
                    print(json.dumps(row), flush=True)
                rows = [r for r in results["rows"] if r["arch"] == arch and r["size"] == size]
                best_backend = max(r["backend_fps"] for r in rows)
                for r in rows:  # against the best backend-only configuration, not the matching one
                    r["ratio_vs_best_backend"] = round(r["e2e_fps"] / best_backend, 3)
            for workers in WORKERS:
                results["live"][f"{arch} workers={workers}"] = live_latency(model, workers)
                print(
                    arch,
                    "live",
                    workers,
                    json.dumps(results["live"][f"{arch} workers={workers}"]),
                    flush=True,
                )
    (args.out / "stream_bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(
        "\n| arch | size | workers | frames | backend-only fps (median ms/call) | end-to-end fps | e2e / best backend-only |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results["rows"]:
        print(f"| {r['arch']} | {r['size']} | {r['workers']} | {r['frames']} | {r['backend_fps']} ({r['backend_median_ms']}) "
              f"| {r['e2e_fps']} | {r['ratio_vs_best_backend']:.0%} |")  # fmt: skip
    print("\n| arch | live fps | p50 ms | p95 ms | dropped / captured |")
    print("|---|---|---|---|---|")
    for arch, r in results["live"].items():
        print(
            f"| {arch} | {r['fps']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['dropped']} / {r['frames_in']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

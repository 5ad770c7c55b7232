"""What a GPU backend leaves the host CPU to do per frame: the float32 route against the uint8 route.

    python benchmarks/gpu_host_costs.py [--runs 30] [--sizes 1280x720 1920x1080 3840x2160]

A GPU backend runs the network in a millisecond or two at 1080p, so the host's share of each frame
can decide the frame rate. Two routes from an RGB frame in host memory to a stylized one:

* **float32** (what every backend got before :attr:`~vstyle.backends.base.Backend.takes_frames`):
  :meth:`~vstyle.stylizer.Stylizer.preprocess` builds an NCHW float32 batch on the host, it is
  copied into the page-locked upload buffer, the float32 result comes back into a page-locked buffer
  and is copied out, and :meth:`~vstyle.stylizer.Stylizer.postprocess` rounds it to uint8 HWC;
* **uint8** (``takes_frames``: the torch CUDA and TensorRT backends):
  :meth:`~vstyle.stylizer.Stylizer.preprocess_frames` pads uint8 frames, they are copied into the
  upload buffer, the uint8 result is copied out, and the padding is cropped; the layout, the cast
  and the rounding run on the GPU (:func:`vstyle.gpu.frames_to_batch`,
  :func:`vstyle.gpu.batch_to_frames`).

Both are timed here on the CPU, one thread, with the same NumPy copies the backends make
(page-locking changes the bus transfer, not these copies); the bus transfer itself needs a GPU
(``benchmarks/gpu_bench.py``), so this reports its bytes. Median of ``--runs`` after a warm-up,
the two routes interleaved so load on the machine hits both. Writes
``benchmarks/results/gpu_host_costs.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.bench.machine import cpu_model  # noqa: E402
from vstyle.config import StylizeConfig  # noqa: E402
from vstyle.stylizer import Stylizer  # noqa: E402


def float_route(stylizer: Stylizer, frame: np.ndarray, staging: dict[str, np.ndarray]) -> np.ndarray:
    batch = stylizer.preprocess([frame])
    upload = staging.setdefault("f_in", np.empty_like(batch))
    np.copyto(upload, batch)  # HostStaging.upload
    result = upload  # the network's output has the input's shape and type
    download = staging.setdefault("f_out", np.empty_like(result))
    np.copyto(download, result)  # HostStaging.download
    out = download.copy()  # the backend hands back a copy it owns
    h, w = frame.shape[:2]
    return stylizer.postprocess(out, 1, w, h)[0]


def uint8_route(stylizer: Stylizer, frame: np.ndarray, staging: dict[str, np.ndarray]) -> np.ndarray:
    frames = stylizer.preprocess_frames([frame])
    upload = staging.setdefault("u_in", np.empty_like(frames))
    np.copyto(upload, frames)
    download = staging.setdefault("u_out", np.empty_like(frames))
    np.copyto(download, upload)
    out = download.copy()
    h, w = frame.shape[:2]
    return np.ascontiguousarray(out[0, :h, :w])


def measure(width: int, height: int, runs: int) -> dict[str, object]:
    stylizer = Stylizer(StylizeConfig())  # layout only: no backend is opened
    stylizer.size_multiple = 4
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    staging: dict[str, np.ndarray] = {}
    a, b = float_route(stylizer, frame, staging), uint8_route(stylizer, frame, staging)
    assert np.array_equal(a, b), "both routes must give the same pixels"
    times: dict[str, list[float]] = {"float32": [], "uint8": []}
    for _ in range(runs):
        for name, route in (("float32", float_route), ("uint8", uint8_route)):
            t0 = time.perf_counter()
            route(stylizer, frame, staging)
            times[name].append(time.perf_counter() - t0)
    ms = {name: round(float(np.median(t)) * 1e3, 2) for name, t in times.items()}
    pixels = width * height
    return {
        "size": [width, height],
        "host_ms": ms,
        "host_ms_p95": {name: round(float(np.percentile(t, 95)) * 1e3, 2) for name, t in times.items()},
        "speedup": round(ms["float32"] / ms["uint8"], 2),
        "bus_mib_per_frame": {
            "float32": round(2 * 12 * pixels / 2**20, 1),
            "uint8": round(2 * 3 * pixels / 2**20, 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per route and size (default 30)")
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080", "3840x2160"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu_host_costs.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rows = []
    for size in args.sizes:
        width, height = (int(v) for v in size.lower().split("x"))
        rows.append(measure(width, height, args.runs))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    report = {
        "machine": cpu_model(),
        "cores": cores,
        "command": ("python benchmarks/gpu_host_costs.py " + " ".join(sys.argv[1:])).strip(),
        "numpy": np.__version__,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"{report['machine']}, one thread, median of {args.runs}")
    print(
        "| size | float32 route ms (p95) | uint8 route ms (p95) | speed-up | bus MiB/frame float32 → uint8 |"
    )
    print("|---|---|---|---|---|")
    for row in rows:
        w, h = row["size"]
        ms, p95, bus = row["host_ms"], row["host_ms_p95"], row["bus_mib_per_frame"]
        print(
            f"| {w}×{h} | {ms['float32']:.2f} ({p95['float32']:.2f}) | {ms['uint8']:.2f} ({p95['uint8']:.2f}) "
            f"| {row['speedup']:.2f}× | {bus['float32']} → {bus['uint8']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GPU backend-only throughput: ONNX Runtime CUDA, PyTorch FP16, TensorRT FP16 and INT8, 360p–1080p,
against the per-frame eager PyTorch loop measured in the same run.

For each model and backend, at each resolution: one frame (batch 1), ``--warmup`` calls, then
``--runs`` timed calls; the median is reported. Two timings per cell:

* ``host``: ``backend.infer`` on a float32 NCHW array in host memory — what the Stylizer pays,
  upload and download included;
* ``device``: the network alone on a CUDA tensor that stays on the GPU (TensorRT's
  ``infer_device``, the torch backend's ``forward``), synchronised per call.

The baseline, ``eager-fp32``, is the loop of pytorch/examples ``fast_neural_style`` on the GPU: the
same network (rebuilt from the ONNX file and checked against ONNX Runtime) in FP32 under
``torch.no_grad()``, each frame copied to the GPU and its result back. The report gives every
backend's speed-up over it at each size (``speedups``: host timings, batch 1).

Models are the named architectures with seeded random weights (speed does not depend on the
weights), exported once into ``<work>/models``, or ``--model`` files. INT8 calibrates on synthetic
frames unless ``--calib`` is given (speed only: the pictures of such a model mean nothing). Engines
are built into ``<work>/engines`` on the first run and reused afterwards.

Usage::

    python benchmarks/gpu_bench.py [--archs tiny fast quality] [--model X.onnx]
        [--backends eager-fp32 onnxruntime-cuda torch tensorrt-fp16 tensorrt-int8]
        [--resolutions 360p 720p 1080p] [--runs 100] [--warmup 20] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESOLUTIONS = {"360p": (360, 640), "720p": (720, 1280), "1080p": (1080, 1920)}
BACKENDS = ("eager-fp32", "onnxruntime-cuda", "torch", "tensorrt-fp16", "tensorrt-int8")
BASELINE = "eager-fp32"


class EagerLoop:
    """The per-frame eager loop of fast_neural_style on the GPU (the baseline; see the docstring)."""

    name = BASELINE

    def __init__(self, model: Path) -> None:
        from vstyle.bench.baselines import torch_network

        self.net = torch_network(model).cuda().eval()

    def __enter__(self) -> EagerLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.net = None

    def infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self.net(torch.from_numpy(batch).cuda())
            return out.clamp(0, 255).cpu().numpy()

    def forward(self, x):
        return self.net(x)


def export_arch(arch: str, folder: Path) -> Path:
    from vstyle.models.export import export_onnx
    from vstyle.models.spec import get_arch
    from vstyle.models.stylenet import StyleNet

    out = folder / f"{arch}.onnx"
    if out.is_file():
        return out
    import torch

    torch.manual_seed(0)
    spec = get_arch(arch)
    return export_onnx(StyleNet(spec).eval(), spec, out, source=f"random:{arch} (gpu_bench)", overwrite=True)


def synthetic_calibration(folder: Path, count: int = 8) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:360, :640]
    for i in range(count):
        base = np.stack([xx * (i + 1) % 256, yy * 2 % 256, (xx + yy + 40 * i) % 256], axis=-1)
        noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"calib-{i}.png"), noisy)
    return folder


def backend_factory(name: str, model: Path, engine_dir: Path, calib: list[Path]):
    from vstyle.backends import backend_class
    from vstyle.gpu import cuda_unavailable_reason

    if name == BASELINE:
        return cuda_unavailable_reason(), (lambda: EagerLoop(model))
    if name.startswith("tensorrt"):
        cls = backend_class("tensorrt")
        reason = cls.unavailable_reason()
        precision = name.split("-", 1)[1]
        return reason, (lambda: cls(model, precision=precision, engine_dir=engine_dir, calibration=calib))
    cls = backend_class(name)
    reason = cls.unavailable_reason()
    if name == "torch" and reason is None:
        reason = cuda_unavailable_reason()
    return reason, (lambda: cls(model))


def device_call(backend, x):
    if backend.name == "tensorrt":
        return lambda: backend.infer_device(x)
    if backend.name in ("torch", BASELINE):
        import torch

        def run():
            with torch.inference_mode():
                return backend.forward(x)

        return run
    return None


def time_calls(fn, runs: int, warmup: int, sync) -> list[float]:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def bench_cell(backend, size: tuple[int, int], multiple: int, runs: int, warmup: int) -> dict:
    import torch

    h, w = (-(-v // multiple) * multiple for v in size)
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    cell: dict = {"padded": f"{w}x{h}"}
    host = time_calls(lambda: backend.infer(batch), runs, warmup, torch.cuda.synchronize)
    cell["host_ms"] = 1e3 * statistics.median(host)
    fn = device_call(backend, torch.from_numpy(batch).cuda())
    if fn is not None:
        device = time_calls(fn, runs, warmup, torch.cuda.synchronize)
        cell["device_ms"] = 1e3 * statistics.median(device)
    cell["host_fps"] = 1e3 / cell["host_ms"]
    if "device_ms" in cell:
        cell["device_fps"] = 1e3 / cell["device_ms"]
    return cell


def speedups(results: list[dict]) -> list[dict]:
    """Each backend's host fps over the eager loop's, per model and resolution (measured cells only)."""
    base = {
        (r["model"], r["resolution"]): r["host_fps"]
        for r in results
        if r["backend"] == BASELINE and "host_fps" in r
    }
    lines = []
    for (model, res), fps in base.items():
        ratios = {
            r["backend"]: round(r["host_fps"] / fps, 3)
            for r in results
            if r["backend"] != BASELINE
            and r.get("resolution") == res
            and r["model"] == model
            and "host_fps" in r
        }
        lines.append({"model": model, "resolution": res, "eager_fps": round(fps, 2), "over_eager": ratios})
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="*", default=["tiny", "fast", "quality"])
    parser.add_argument("--model", nargs="*", type=Path, default=[], help="ONNX models to add")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--resolutions", nargs="+", default=list(RESOLUTIONS), choices=list(RESOLUTIONS))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--calib", nargs="*", type=Path, help="INT8 calibration clips/images")
    parser.add_argument("--work", type=Path, help="models and engines folder (default: a temp folder)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    import torch

    from vstyle.gpu import cuda_unavailable_reason, gpu_identity
    from vstyle.models.metadata import read_model_metadata

    reason = cuda_unavailable_reason()
    if reason is not None:
        print(f"gpu_bench: no CUDA GPU here: {reason}", file=sys.stderr)
        return 1
    work = args.work or Path(tempfile.mkdtemp(prefix="vstyle-gpu-bench-"))
    (work / "models").mkdir(parents=True, exist_ok=True)
    models = [export_arch(a, work / "models") for a in args.archs] + list(args.model)
    calib = list(args.calib or [synthetic_calibration(work / "calib")])
    gpu, cc = gpu_identity()
    report: dict = {
        "device": f"{gpu} (compute capability {cc})",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "runs": args.runs,
        "warmup": args.warmup,
        "results": [],
    }
    try:
        import tensorrt

        report["tensorrt"] = tensorrt.__version__
    except ImportError:
        report["tensorrt"] = None
    for model in models:
        multiple = read_model_metadata(model).size_multiple
        for name in args.backends:
            why, make = backend_factory(name, model, work / "engines", calib)
            row = {"model": model.stem, "backend": name}
            if why is not None:
                report["results"].append({**row, "skipped": why})
                print(f"{model.stem:>10} {name:<17} skipped: {why}", flush=True)
                continue
            t0 = time.perf_counter()
            with make() as backend:
                row["load_s"] = round(time.perf_counter() - t0, 1)  # includes any engine build
                for res in args.resolutions:
                    cell = bench_cell(backend, RESOLUTIONS[res], multiple, args.runs, args.warmup)
                    report["results"].append({**row, "resolution": res, **cell})
                    device = f"{cell['device_ms']:7.2f} ms" if "device_ms" in cell else "      —   "
                    print(
                        f"{model.stem:>10} {name:<17} {res:>5}: host {cell['host_ms']:7.2f} ms "
                        f"({cell['host_fps']:6.1f} fps), device {device}",
                        flush=True,
                    )
    report["speedups"] = speedups(report["results"])
    for line in report["speedups"]:
        print(
            f"{line['model']:>10} {line['resolution']:>5}: "
            + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in line["over_eager"].items()),
            flush=True,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "gpu_bench.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out} ({report['device']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a benchmark ran on: CPU, memory, GPUs, library versions, and the measured matmul peak.

Everything here reads the machine and never fails a benchmark: a fact that cannot be found is
recorded as ``None`` (JSON ``null``). Package versions come from the installed distributions'
metadata, so recording them imports neither PyTorch nor TensorRT.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import re
import shutil
import subprocess
import time
from typing import Any

log = logging.getLogger(__name__)

#: Distribution names to record, by the key they get in ``machine.versions`` (first one installed wins).
_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "torch": ("torch",),
    "tensorrt": ("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt_cu12", "tensorrt_cu13"),
    "av": ("av",),
    "onnx": ("onnx",),
    "numpy": ("numpy",),
    "opencv": ("opencv-python-headless", "opencv-python", "opencv-contrib-python"),
}
_CPU_PEAK_N = 2048
_GPU_PEAK_N = 8192


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def memory_gib() -> float | None:
    """Total RAM in GiB, or ``None`` where it cannot be read."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, ValueError, OSError):
        return None


def _version(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def library_versions() -> dict[str, str | None]:
    """Versions of vstyle and the libraries that decide its speed; ``None`` for one not installed."""
    from vstyle import __version__

    versions: dict[str, str | None] = {"vstyle": __version__, "python": platform.python_version()}
    versions.update({key: _version(names) for key, names in _DISTRIBUTIONS.items()})
    try:
        import av

        info = getattr(av, "ffmpeg_version_info", None)
        versions["ffmpeg"] = (
            ".".join(map(str, info)) if isinstance(info, tuple) else (str(info) if info else None)
        )
        codec = av.library_versions.get("libavcodec")
        versions["libavcodec"] = ".".join(map(str, codec)) if codec else None
    except ImportError:
        versions["ffmpeg"] = versions["libavcodec"] = None
    return versions


def _nvidia_smi() -> list[dict[str, Any]]:
    """GPUs as ``nvidia-smi`` reports them (name, memory, driver, the driver's CUDA version)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        query = subprocess.run(
            [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        header = subprocess.run([exe], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("nvidia-smi failed (%s); GPU details from PyTorch only", exc)
        return []
    match = re.search(r"CUDA Version:\s*([\d.]+)", header)
    gpus = []
    for line in query.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            continue
        try:
            memory = round(float(parts[1]) / 1024, 1)  # MiB
        except ValueError:
            memory = None
        gpus.append(
            {
                "name": parts[0],
                "memory_gib": memory,
                "driver": parts[2],
                "cuda": match.group(1) if match else None,
                "compute_capability": None,
            }
        )
    return gpus


def _nvidia_driver() -> bool:
    """Cheap check before importing PyTorch (seconds) for CUDA: ``False`` only where there is surely none."""
    if not platform.system() == "Linux":
        return True
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg"))


def _torch_gpus() -> list[dict[str, Any]]:
    """GPUs as PyTorch sees them, where PyTorch is installed with CUDA and a GPU is present."""
    if _version(("torch",)) is None or not _nvidia_driver():
        return []
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    gpus = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        gpus.append(
            {
                "name": props.name,
                "memory_gib": round(props.total_memory / 2**30, 1),
                "driver": None,
                "cuda": torch.version.cuda,
                "compute_capability": f"{props.major}.{props.minor}",
            }
        )
    return gpus


def gpu_records() -> list[dict[str, Any]]:
    """Each GPU: ``nvidia-smi``'s facts, completed by PyTorch's (compute capability, runtime CUDA)."""
    smi, torch_gpus = _nvidia_smi(), _torch_gpus()
    if not smi:
        return torch_gpus
    for gpu, extra in zip(smi, torch_gpus):
        gpu["compute_capability"] = extra["compute_capability"]
        gpu["cuda_runtime"] = extra["cuda"]
    return smi


def machine_record() -> dict[str, Any]:
    """The ``machine`` object of a result file (see :mod:`vstyle.bench.results`)."""
    cpu = cpu_model()
    gpus = gpu_records()
    cores = usable_cores()
    label = gpus[0]["name"] if gpus else f"{cpu} ×{cores}"
    return {
        "label": label,
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": {"model": cpu, "cores": os.cpu_count() or cores, "usable_cores": cores},
        "memory_gib": memory_gib(),
        "gpus": gpus,
        "versions": library_versions(),
    }


def device_label(machine: dict[str, Any], device_kind: str) -> str:
    """What a row ran on: the GPU's name for a GPU backend, the CPU and its usable cores otherwise."""
    if device_kind == "gpu" and machine["gpus"]:
        return str(machine["gpus"][0]["name"])
    return f"{machine['cpu']['model']} ×{machine['cpu']['usable_cores']}"


# -- matrix-multiply peak ----------------------------------------------------------------------------


def _best_rate(run: Any, flop: float, repeats: int) -> float:
    run()  # warm-up: thread pools, page faults, kernel choice
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return flop / best / 1e9


def cpu_matmul_peak(n: int = _CPU_PEAK_N, repeats: int = 5) -> tuple[float, str]:
    """Best GFLOP/s of an ``n×n`` float32 matrix multiply on every usable core, and how it was run.

    PyTorch's ``mm`` where PyTorch is installed (the kernels a CPU convolution uses), else NumPy's
    BLAS ``sgemm``. A multiply is ``2n³`` floating-point operations.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flop = 2.0 * n**3
    if _version(("torch",)) is not None:
        try:
            import torch

            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            out = torch.empty(n, n)
            threads = torch.get_num_threads()
            rate = _best_rate(lambda: torch.mm(ta, tb, out=out), flop, repeats)
            return rate, f"torch.mm {n}×{n} float32, {threads} threads, best of {repeats}"
        except ImportError:
            pass
    out_np = np.empty((n, n), np.float32)
    rate = _best_rate(lambda: np.matmul(a, b, out=out_np), flop, repeats)
    return rate, f"numpy.matmul {n}×{n} float32 (BLAS sgemm), best of {repeats}"


def gpu_matmul_peak(dtype: str, n: int = _GPU_PEAK_N, repeats: int = 10) -> tuple[float, str] | None:
    """Best GFLOP/s of an ``n×n`` ``dtype`` (``"float32"``/``"float16"``) matmul on CUDA device 0.

    ``None`` without PyTorch or a CUDA GPU. TF32 is left off for float32, so the number is true
    FP32 throughput.
    """
    if _version(("torch",)) is None or not _nvidia_driver():
        return None
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    t = getattr(torch, dtype)
    a = torch.randn(n, n, device="cuda", dtype=t)
    b = torch.randn(n, n, device="cuda", dtype=t)
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False

    def run() -> None:
        torch.mm(a, b)
        torch.cuda.synchronize()

    try:
        rate = _best_rate(run, 2.0 * n**3, repeats)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    return rate, f"torch.mm {n}×{n} {dtype} on {torch.cuda.get_device_name(0)}, best of {repeats}"


def matmul_peaks(*, gpu: bool) -> dict[str, Any]:
    """The ``peak_gflops`` object of a result file: CPU FP32 always, GPU FP32/FP16 when ``gpu``."""
    peaks: dict[str, Any] = {"cpu_fp32": None, "gpu_fp32": None, "gpu_fp16": None, "how": {}}
    rate, how = cpu_matmul_peak()
    peaks["cpu_fp32"], peaks["how"]["cpu_fp32"] = round(rate, 1), how
    if gpu:
        for dtype, key in (("float32", "gpu_fp32"), ("float16", "gpu_fp16")):
            measured = gpu_matmul_peak(dtype)
            if measured is not None:
                peaks[key], peaks["how"][key] = round(measured[0], 1), measured[1]
    return peaks


def peak_for(peaks: dict[str, Any], device_kind: str, precision: str) -> float | None:
    """The peak a row is compared against: FP16 matmul for reduced precision on a GPU, else FP32."""
    if device_kind == "gpu":
        return peaks.get("gpu_fp16") if precision in ("fp16", "int8") else peaks.get("gpu_fp32")
    return peaks.get("cpu_fp32")

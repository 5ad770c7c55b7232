"""CUDA plumbing shared by the GPU backends (PyTorch and TensorRT): is CUDA usable here, which GPU,
frame layout conversions as device ops, and pinned host staging for asynchronous copies.

Device memory and streams are PyTorch's (``torch.cuda`` tensors and streams): TensorRT gets raw
pointers from ``Tensor.data_ptr()`` and stream handles from ``Stream.cuda_stream``, so no pycuda or
cuda-python is needed. Nothing here imports torch at module import.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

#: What to install for CUDA through PyTorch.
TORCH_CUDA_HINT = (
    "install a CUDA build of PyTorch (pip install torch on Linux x86-64 brings CUDA 12; "
    "see pytorch.org for other CUDA versions) on a machine with an NVIDIA GPU and driver"
)


def nvidia_driver_present() -> bool:
    """Cheap check for an NVIDIA driver (no import): ``False`` only where there is surely none.

    Lets availability checks skip importing PyTorch (~2 s) on machines without a GPU. On Linux the
    driver shows as ``/proc/driver/nvidia`` or ``/dev/nvidiactl`` (``/dev/dxg`` under WSL); other
    systems are assumed to have one and PyTorch is asked.
    """
    if not sys.platform.startswith("linux"):
        return True
    return any(Path(p).exists() for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg"))


@functools.lru_cache(maxsize=1)
def cuda_unavailable_reason() -> str | None:
    """``None`` where PyTorch can use a CUDA GPU here, else why not and how to fix it (cached)."""
    if importlib.util.find_spec("torch") is None:
        return f"PyTorch is not installed: {TORCH_CUDA_HINT}"
    if not nvidia_driver_present():
        return "no NVIDIA GPU driver found (no /proc/driver/nvidia); CUDA needs an NVIDIA GPU and its driver"
    import torch

    if torch.version.cuda is None:
        return f"PyTorch {torch.__version__} is a CPU-only build: {TORCH_CUDA_HINT}"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable CUDA GPU"
    return None


def cuda_available() -> bool:
    return cuda_unavailable_reason() is None


def gpu_identity(device: Any = None) -> tuple[str, str]:
    """``(name, "major.minor")`` of the current (or given) CUDA device, e.g. ``("NVIDIA H100", "9.0")``."""
    import torch

    index = torch.cuda.current_device() if device is None else torch.device(device).index or 0
    major, minor = torch.cuda.get_device_capability(index)
    return torch.cuda.get_device_name(index), f"{major}.{minor}"


def memory_report(device: Any = None) -> str:
    """``"2.1 of 79.6 GiB free"`` for a CUDA device (best effort; empty where it cannot be read)."""
    try:
        import torch

        free, total = torch.cuda.mem_get_info(device)
        return f"{free / 2**30:.1f} of {total / 2**30:.1f} GiB free"
    except Exception:  # a broken context after an OOM may refuse even this
        return ""


class DevicePriority:
    """A class attribute whose value depends on whether CUDA is usable here (read on the class).

    The backend registry reads ``cls.priority`` and ``cls.device_kind`` without instantiating; a
    backend that runs on the GPU where there is one and on the CPU otherwise declares
    ``priority = DevicePriority(gpu=30, cpu=5)``.
    """

    def __init__(self, *, gpu: Any, cpu: Any) -> None:
        self.gpu, self.cpu = gpu, cpu

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        return self.gpu if cuda_available() else self.cpu


# -- frame layout on the device -----------------------------------------------------------------------


def frames_to_batch(
    frames: torch.Tensor, dtype: torch.dtype | None = None, *, channels_last: bool = False
) -> torch.Tensor:
    """Frames as the network's input, on the frames' device (no host round trip).

    Args:
        frames: ``(N, H, W, 3)`` uint8 RGB (or one ``(H, W, 3)`` frame).
        dtype: element type of the result (default float32).
        channels_last: return NCHW-shaped but NHWC-strided memory (what cuDNN prefers in FP16;
            it is the frames' own layout, so the conversion is only a cast).

    Returns:
        ``(N, 3, H, W)`` in ``dtype``, values 0..255.
    """
    import torch

    if frames.ndim == 3:
        frames = frames.unsqueeze(0)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ValueError(f"frames must be (N, H, W, 3) uint8. Got {tuple(frames.shape)} {frames.dtype}")
    batch = frames.permute(0, 3, 1, 2).to(dtype or torch.float32)
    if channels_last:
        return batch.contiguous(memory_format=torch.channels_last)
    return batch.contiguous()


def batch_to_frames(batch: torch.Tensor) -> torch.Tensor:
    """The network's output as frames, rounded like :meth:`vstyle.stylizer.Stylizer.postprocess`.

    Args:
        batch: ``(N, 3, H, W)`` float, values 0..255 (clamped here too).

    Returns:
        ``(N, H, W, 3)`` uint8 RGB, contiguous, on the batch's device.
    """
    import torch

    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"batch must be (N, 3, H, W). Got {tuple(batch.shape)}")
    # +0.5 then truncation: round half up, as the CPU path's np.add(..., 0.5, casting="unsafe").
    rounded = batch.float().clamp(0.0, 255.0).add_(0.5).to(torch.uint8)
    return rounded.permute(0, 2, 3, 1).contiguous()


def fit_frames(frames: torch.Tensor, width: int, height: int, pad_h: int, pad_w: int) -> torch.Tensor:
    """Frames already on a device, scaled to ``width×height`` and reflect-padded at the bottom and
    right: what :meth:`vstyle.stylizer.Stylizer.preprocess_frames` does on the host with OpenCV.

    Scaling averages areas like OpenCV's ``INTER_AREA``: the same pixels for integer downscaling
    factors and for upscaling, a mean of about two levels apart for fractional downscaling (the
    windows are cut differently); the padding mirrors without repeating the edge (OpenCV's
    ``BORDER_REFLECT_101``); values are rounded back to uint8.

    Shape:
        - frames: ``(N, H, W, 3)`` uint8.
        - returns: ``(N, height + pad_h, width + pad_w, 3)`` uint8, contiguous, on the same device.
    """
    import torch
    import torch.nn.functional as F

    n, h, w, _ = frames.shape
    if (h, w) == (height, width) and not (pad_h or pad_w):
        return frames.contiguous()
    x = frames.permute(0, 3, 1, 2).float()
    if (h, w) != (height, width):
        x = F.interpolate(x, size=(height, width), mode="area")
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
    return x.add_(0.5).clamp_(0.0, 255.0).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class HostStaging:
    """Reused host buffers for one thread's uploads and downloads; page-locked on CUDA.

    Copies from page-locked memory run asynchronously (``non_blocking=True``) on the current CUDA
    stream; the caller synchronises that stream before reading a download. Buffers are reused per
    shape and dtype, so a download is valid only until this staging's next download of that shape.

    Args:
        pin: page-lock the buffers (needs CUDA; otherwise plain host memory).
    """

    def __init__(self, pin: bool) -> None:
        self.pin = pin
        self._buffers: dict[tuple[str, tuple[int, ...], str], torch.Tensor] = {}

    def _buffer(self, role: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        import torch

        key = (role, shape, str(dtype))
        buf = self._buffers.get(key)
        if buf is None:
            if len(self._buffers) >= 8:  # frame sizes change rarely; do not hoard pinned memory
                self._buffers.clear()
            buf = self._buffers[key] = torch.empty(shape, dtype=dtype, pin_memory=self.pin)
        return buf

    def upload(self, array: np.ndarray, device: torch.device | str) -> torch.Tensor:
        """``array`` on ``device``: copied into a (pinned) buffer, then asynchronously to the device."""
        host = self._buffer("in", tuple(array.shape), _dtype(array))
        np.copyto(host.numpy(), array, casting="same_kind")
        return host.to(device, non_blocking=self.pin)

    def download(self, tensor: torch.Tensor) -> np.ndarray:
        """Start copying ``tensor`` into a (pinned) host buffer; read it after synchronising the stream."""
        host = self._buffer("out", tuple(tensor.shape), tensor.dtype)
        host.copy_(tensor, non_blocking=self.pin)
        return host.numpy()

    def clear(self) -> None:
        self._buffers.clear()


def _dtype(array: np.ndarray) -> torch.dtype:
    import torch

    return torch.from_numpy(np.empty(0, array.dtype)).dtype

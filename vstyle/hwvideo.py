"""Hardware video decode (NVDEC) and encode (NVENC) through PyAV, with a logged fallback to software.

PyAV (≥ 14) exposes FFmpeg's hardware contexts as :class:`av.codec.hwaccel.HWAccel`:

* **Decode**: ``av.open(path, hwaccel=HWAccel("cuda"))`` decodes on NVDEC. With the default
  ``is_hw_owned=False`` PyAV downloads each frame to host memory (NV12), so the rest of the pipeline
  is unchanged and the CPU is spared the decode itself. With ``is_hw_owned=True`` frames stay in GPU
  memory and their planes export DLPack: :func:`nv12_planes_to_rgb` turns them into an RGB CUDA
  tensor with no host copy (:func:`device_rgb`). ``FileSource(..., device_frames=True)`` delivers
  those tensors, and the GPU backends take them where they are (``--hwaccel`` turns it on for them:
  :func:`device_frames_for_backend`).
* **Encode**: ``h264_nvenc`` (and ``hevc_nvenc``, ``av1_nvenc``) are in PyAV's wheels but only open
  where the driver offers NVENC. Data-centre GPUs such as the H100 and A100 have no NVENC, so
  :func:`nvenc_unavailable_reason` probes once, and the file sink falls back to ``libx264`` with a
  logged reason.

On a machine without CUDA FFmpeg refuses to create the device (``EPERM``/``ENODEV``) even with
``allow_software_fallback``, so the fallback is ours: :func:`open_input` reopens the file for
software decoding and says why. Nothing here imports torch at module import.
"""

from __future__ import annotations

import functools
import logging
import sys
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

#: ``--hwaccel`` choices: ``auto`` uses the GPU's video engines when the network runs on a GPU.
HWACCEL_CHOICES = ("auto", "cuda", "none")
#: NVENC encoder of each software encoder it can replace.
NVENC_FOR = {"libx264": "h264_nvenc", "libx265": "hevc_nvenc", "libsvtav1": "av1_nvenc"}
#: NVENC presets run from p1 (fastest) to p7 (best); p4 is NVIDIA's balanced default.
NVENC_PRESETS = tuple(f"p{i}" for i in range(1, 8))

#: Y'CbCr → R'G'B' luma coefficients (Kr, Kb) by FFmpeg's ``AVColorSpace`` number.
_KR_KB = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593)}
#: FFmpeg's ``AVCOL_RANGE_JPEG`` (full range); everything else is treated as limited ("MPEG").
_FULL_RANGE = 2
#: DLPack's device type of host memory (``kDLCPU``).
_DLPACK_CPU = 1


def resolve_hwaccel(choice: str, *, gpu_backend: bool) -> str | None:
    """``"cuda"`` or ``None`` for a ``--hwaccel`` choice.

    Args:
        choice: ``auto``, ``cuda`` or ``none``.
        gpu_backend: whether the network runs on a CUDA GPU (``auto`` then uses its video engines;
            on the CPU path decoding on the GPU would only add a copy).

    Raises:
        ValueError: an unknown choice.
    """
    if choice not in HWACCEL_CHOICES:
        raise ValueError(f"hwaccel must be one of {', '.join(HWACCEL_CHOICES)}. Got {choice!r}")
    if choice == "auto":
        return "cuda" if gpu_backend else None
    return None if choice == "none" else choice


def hwaccel_for_backend(choice: str, backend: str) -> str | None:
    """:func:`resolve_hwaccel` for the network backend ``backend`` (a ``--backend`` value): the one
    place that decides whether ``auto`` means the GPU's video engines (``render``, ``live`` and
    ``bench`` all ask here)."""
    gpu = False
    if choice == "auto":
        from vstyle.backends import choose_backend

        gpu = choose_backend(backend).device_kind == "gpu"
    return resolve_hwaccel(choice, gpu_backend=gpu)


def device_frames_for_backend(backend: str) -> bool:
    """Whether decoded frames should stay on the GPU for the network backend ``backend``: where it
    takes uint8 frames on the GPU itself (:attr:`vstyle.backends.base.Backend.takes_frames`)."""
    from vstyle.backends import choose_backend

    return bool(choose_backend(backend).takes_frames)


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.strip() or type(error).__name__


def open_input(path: Path, hwaccel: str | None, *, keep_on_gpu: bool = False) -> tuple[Any, str]:
    """Open ``path`` for decoding on ``hwaccel`` (``"cuda"``) where it can, else in software.

    With ``keep_on_gpu`` NVDEC's frames stay in GPU memory (``is_hw_owned``: see
    :func:`device_rgb`); without it PyAV downloads each one to host memory.

    Returns:
        ``(container, decoder)`` with ``decoder`` ``"nvdec"`` or ``"software"``.

    Raises:
        av.FFmpegError: the file cannot be read at all (the caller explains it).
    """
    if hwaccel == "cuda":
        from av.codec.hwaccel import HWAccel

        try:
            # allow_software_fallback covers streams NVDEC cannot decode (e.g. 4:4:4 H.264).
            hwaccel_ = HWAccel(
                "cuda",
                allow_software_fallback=True,
                is_hw_owned=keep_on_gpu,
                options=_context_options(keep_on_gpu),
            )
            return av.open(str(path), mode="r", hwaccel=hwaccel_), "nvdec"
        except (av.FFmpegError, OSError) as error:
            logger.warning(
                "%s: hardware decoding (NVDEC) unavailable (%s); decoding on the CPU", path, _reason(error)
            )
    return av.open(str(path), mode="r"), "software"


def _context_options(keep_on_gpu: bool) -> dict[str, str] | None:
    """FFmpeg's CUDA device options for frames that stay on the GPU, shared with PyTorch.

    They must live in PyTorch's context, the device's primary one. PyAV asks FFmpeg for it
    (``primary_ctx``), which FFmpeg refuses once the context is active with other flags than its
    own, as it is when PyTorch started CUDA first; NVDEC would then quietly decode on the CPU. In
    that case FFmpeg is told to use the current context instead, after making PyTorch's current
    on this thread.
    """
    if not keep_on_gpu or "torch" not in sys.modules:
        return None
    import torch

    if not torch.cuda.is_initialized():
        return None
    torch.zeros(1, device="cuda")  # any CUDA work makes the primary context current on this thread
    return {"primary_ctx": "0", "current_ctx": "1"}


@functools.lru_cache(maxsize=8)
def nvenc_unavailable_reason(codec: str = "h264_nvenc") -> str | None:
    """``None`` where FFmpeg's ``codec`` encoder opens on this machine, else why not (probed once).

    Opening a 256×256 context is the only reliable test: the encoder is compiled into PyAV's FFmpeg
    everywhere, but needs an NVIDIA driver with NVENC and a GPU that has the engine.
    """
    try:
        context = av.codec.CodecContext.create(codec, "w")
    except (av.FFmpegError, ValueError) as error:
        return f"FFmpeg has no {codec} encoder ({_reason(error)})"
    context.width = context.height = 256
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, 30)
    try:
        context.open()  # released with the context object
    except (av.FFmpegError, OSError) as error:
        return f"{codec} does not open here ({_reason(error)}): no NVIDIA GPU with NVENC and driver"
    return None


def nvenc_options(crf: int | None, preset: str | None) -> dict[str, str]:
    """NVENC rate control for a software encoder's ``crf`` / ``preset``.

    Constant quality (``rc=vbr`` with ``cq``) at the same number as the CRF (the scales are close
    for H.264); x264 presets have no NVENC meaning, so anything but ``p1``–``p7`` becomes ``p4``.
    """
    options = {"preset": preset if preset in NVENC_PRESETS else "p4", "rc": "vbr"}
    if crf is not None:
        options["cq"] = str(crf)
    return options


# -- GPU-resident frames --------------------------------------------------------------------------


def _coefficients(colorspace: int) -> tuple[float, float]:
    # Unspecified (or unknown): swscale, and so the CPU path, assumes BT.601.
    return _KR_KB.get(colorspace, _KR_KB[5])


def nv12_planes_to_rgb(
    luma: torch.Tensor, chroma: torch.Tensor, *, colorspace: int = 2, color_range: int = 1
) -> torch.Tensor:
    """RGB from the two planes of an NV12 frame, on the planes' device (no host round trip).

    Chroma is upsampled by repeating each sample over its 2×2 block, as swscale's unscaled
    conversion does, so the result matches :meth:`av.VideoFrame.to_ndarray` within rounding.

    Args:
        luma: ``(H, W)`` uint8 Y plane (may be wider than the picture: row padding is cropped
            by the caller).
        chroma: ``(H/2, W/2, 2)`` or ``(H/2, W)`` uint8 interleaved Cb, Cr plane.
        colorspace: FFmpeg ``AVColorSpace`` of the frame (1 BT.709, 5/6 BT.601, 9 BT.2020;
            anything else BT.601).
        color_range: FFmpeg ``AVColorRange`` (2 full, else limited).

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    import torch

    height, width = luma.shape
    if chroma.ndim == 2:
        chroma = chroma.reshape(chroma.shape[0], -1, 2)
    short_rows, short_cols = (height + 1) // 2 - chroma.shape[0], (width + 1) // 2 - chroma.shape[1]
    if short_rows > 1 or short_cols > 1 or chroma.shape[2] != 2:
        raise ValueError(f"chroma plane {tuple(chroma.shape)} does not cover a {height}×{width} NV12 picture")
    if short_rows > 0 or short_cols > 0:
        # An odd width or height: PyAV exports the chroma plane with floor(size / 2) samples, one
        # short of the picture's last column or row; repeat the sample beside it.
        chroma = torch.cat([chroma, chroma[-1:]]) if short_rows > 0 else chroma
        chroma = torch.cat([chroma, chroma[:, -1:]], dim=1) if short_cols > 0 else chroma
    kr, kb = _coefficients(colorspace)
    kg = 1.0 - kr - kb
    y = luma.float()
    uv = chroma.float().repeat_interleave(2, 0).repeat_interleave(2, 1)[:height, :width]
    if color_range == _FULL_RANGE:
        cb, cr = uv[..., 0] - 128.0, uv[..., 1] - 128.0
    else:
        y = (y - 16.0) * (255.0 / 219.0)
        cb, cr = (uv[..., 0] - 128.0) * (255.0 / 224.0), (uv[..., 1] - 128.0) * (255.0 / 224.0)
    r = y + 2.0 * (1.0 - kr) * cr
    b = y + 2.0 * (1.0 - kb) * cb
    g = (y - kr * r - kb * b) / kg
    rgb = torch.stack((r, g, b), dim=-1)
    return rgb.clamp_(0.0, 255.0).add_(0.5).to(torch.uint8)


def device_rgb(frame: av.VideoFrame) -> torch.Tensor:
    """An NVDEC frame kept on the GPU (``HWAccel(..., is_hw_owned=True)``) as an RGB CUDA tensor.

    The planes are shared with FFmpeg through DLPack (no copy); the result is a new ``(H, W, 3)``
    uint8 tensor on the same device, ready for :func:`vstyle.gpu.frames_to_batch`.

    Raises:
        ValueError: the frame is not NV12 (10-bit streams decode to P010: not handled yet).
    """
    import torch

    layout = frame.sw_format.name if frame.sw_format is not None else frame.format.name
    if layout != "nv12":
        raise ValueError(f"device_rgb needs an NV12 frame from NVDEC. Got {layout}")
    if frame.planes[0].__dlpack_device__()[0] != _DLPACK_CPU:
        # PyAV exports a CUDA plane only without a consumer stream (its __dlpack__ refuses the
        # `stream=` torch.from_dlpack always passes for CUDA data), asking the caller to
        # synchronise first: FFmpeg copies NVDEC's output on the legacy default stream.
        torch.cuda.default_stream(frame.planes[0].__dlpack_device__()[1]).synchronize()
    luma = torch.from_dlpack(frame.planes[0].__dlpack__())
    chroma = torch.from_dlpack(frame.planes[1].__dlpack__())
    if chroma.dtype != torch.uint8:
        raise ValueError(f"device_rgb handles 8-bit NV12 only. Got {chroma.dtype} planes")
    return nv12_planes_to_rgb(
        luma[: frame.height, : frame.width],
        chroma[: (frame.height + 1) // 2],
        colorspace=int(frame.colorspace),
        color_range=int(frame.color_range),
    )

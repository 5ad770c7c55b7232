"""INT8 versions of exported FP32 style models in explicit-quantization (QDQ) form.

:func:`quantize_qdq` runs ONNX Runtime's static quantization over frames chosen by
:func:`calibration_frames` and writes a model with QuantizeLinear/DequantizeLinear pairs around the
convolutions. The same file runs on ONNX Runtime CPU (which fuses the pairs into integer kernels) and
is what a TensorRT INT8 engine is built from: TensorRT 11 dropped implicit INT8 calibration, so the
scales must be in the graph. For TensorRT the quantisation is symmetric: int8 activations and
weights, zero point 0 everywhere (TensorRT rejects any other zero point), weights per output channel.

Choices, measured on the ``scream`` teacher and the ``tiny`` architecture (see calibration/RECIPE.md):

* **Calibration: MinMax.** A style network's large activations are real signal (the 0..255 input,
  saturated colours before the output), which Percentile would clip; MinMax keeps them, needs no
  histograms (a fraction of the time and memory of Percentile/Entropy on 2 cores) and is exactly
  reproducible. Percentile was not compared (left as a follow-up).
* **Instance normalisation stays float** (``exclude_ops``): its statistics are per frame, so no
  calibrated range fits every frame; TensorRT runs it in float either way.
* **First and last convolution stay float** by default (``keep_io_float``): on the ``scream``
  teacher (184-row frames, 16 calibration frames, 6 held-out) PSNR against FP32 rose from 22.0 dB to
  28.7 dB. (On ``tiny`` with random weights it changes nothing: ~15 dB either way, its random
  output is noise that amplifies any error.)

The graph keeps float32 input and output, so the vstyle I/O contract (``N×3×H×W`` float32 RGB 0..255)
holds and the Stylizer and the backends load it like the FP32 model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vstyle.errors import ConfigError, ModelError, SourceError
from vstyle.models.export import save_model
from vstyle.models.metadata import (
    file_sha256,
    read_model_metadata,
    read_sidecar,
    sidecar_path,
)

logger = logging.getLogger(__name__)

PRECISION = "int8-qdq"
#: What :func:`quantize_qdq` calibrates with, and why (module docstring).
CALIBRATION_METHOD = "MinMax"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def calibration_cache_path(onnx_path: Path) -> Path:
    """``model.int8.onnx`` → ``model.int8.calib.json`` (the default calibration cache)."""
    return Path(onnx_path).with_suffix(".calib.json")


# -- calibration frames ------------------------------------------------------------------------------


def calibration_frames(
    sources: Sequence[Path],
    count: int = 64,
    height: int = 360,
    seed: int = 0,
    *,
    size_multiple: int = 8,
) -> list[np.ndarray]:
    """Choose up to ``count`` calibration frames, deterministically, from videos and images.

    Each video file gets an equal share of ``count`` (the first ones one more when it does not divide),
    taken at evenly spaced frame indices over the whole clip and decoded with
    :class:`~vstyle.capture.FileSource`. Image files, and the images of any folder given, form one more
    pool with its own share, from which a ``seed``-ed random choice is taken (in file-name order).
    Every frame is resized to ``height`` rows keeping its aspect ratio, both sides rounded to
    ``size_multiple`` (pass the model's :attr:`~vstyle.models.metadata.ModelInfo.size_multiple`).

    Args:
        sources: video files, image files and folders of images.
        count: how many frames in all; fewer come back when the sources hold fewer.
        height: frame height in pixels before rounding to ``size_multiple``.
        seed: seeds the choice among images (videos are spaced evenly, whatever the seed).
        size_multiple: frame height and width are rounded to multiples of this.

    Returns:
        ``H×W×3 uint8`` RGB frames: the videos' in source order, then the images'.

    Raises:
        ConfigError: ``count``, ``height`` or ``size_multiple`` is not positive, or no sources.
        SourceError: a source is missing, unreadable or of an unknown kind.
    """
    from vstyle.capture.images import read_rgb

    if count < 1 or height < 1 or size_multiple < 1:
        raise ConfigError(
            f"count, height and size_multiple must be positive; got {count}, {height}, {size_multiple}"
        )
    if not sources:
        raise ConfigError("calibration_frames needs at least one video, image or folder of images; got none")
    videos: list[Path] = []
    images: list[Path] = []
    for src in map(Path, sources):
        if src.is_dir():
            images.extend(sorted(p for p in src.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES))
        elif not src.exists():
            raise SourceError(f"calibration source {src} does not exist; expected a video, image or folder")
        elif src.suffix.lower() in _IMAGE_SUFFIXES:
            images.append(src)
        else:
            videos.append(src)
    groups = len(videos) + (1 if images else 0)
    if groups == 0:
        raise SourceError(f"no videos or images found in {[str(s) for s in sources]}")
    shares = [count // groups + (1 if i < count % groups else 0) for i in range(groups)]

    frames: list[np.ndarray] = []
    for video, share in zip(videos, shares):
        if share:
            frames.extend(_resize(f, height, size_multiple) for f in _video_frames(video, share))
    if images and shares[-1]:
        rng = np.random.default_rng(seed)
        take = min(shares[-1], len(images))
        chosen = sorted(rng.choice(len(images), size=take, replace=False))
        frames.extend(_resize(read_rgb(images[i]), height, size_multiple) for i in chosen)
    if len(frames) < count:
        logger.info("calibration: the sources gave %d of the %d frames asked for", len(frames), count)
    return frames


def _video_frames(path: Path, k: int) -> Iterator[np.ndarray]:
    """``k`` frames at evenly spaced indices over the clip (every frame when it has fewer)."""
    from vstyle.capture.file import FileSource

    with FileSource(path) as source:
        n = source.info.frame_count
        if not n:  # unknown length: decode everything once, then choose
            every = [frame.image for frame in source]
            picks = np.unique(np.linspace(0, len(every) - 1, min(k, len(every))).round().astype(int))
            yield from (every[i] for i in picks)
            return
        wanted = set(np.linspace(0, n - 1, min(k, n)).round().astype(int).tolist())
        last = max(wanted)
        for frame in source:
            if frame.index in wanted:
                yield frame.image
            if frame.index >= last:
                break


def _resize(image: np.ndarray, height: int, multiple: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    out_h = max(multiple, round(height / multiple) * multiple)
    out_w = max(multiple, round(w * height / h / multiple) * multiple)
    if (out_h, out_w) == (h, w):
        return np.ascontiguousarray(image)
    interp = cv2.INTER_AREA if out_h < h else cv2.INTER_LINEAR
    return cv2.resize(image, (out_w, out_h), interpolation=interp)


# -- quantisation ------------------------------------------------------------------------------------


def _frame_reader(input_name: str, frames: Sequence[np.ndarray]) -> Any:
    """An ORT CalibrationDataReader yielding each frame as ``1×3×H×W`` float32 0..255."""
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self._i >= len(frames):
                return None
            image = frames[self._i]
            self._i += 1
            return {input_name: np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)}

        def __len__(self) -> int:
            return len(frames)

    return _Reader()


def io_conv_names(proto: Any) -> list[str]:
    """Names of the first and last Conv/ConvTranspose nodes in graph order."""
    convs = [n.name for n in proto.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    return sorted({convs[0], convs[-1]}, key=convs.index) if convs else []


def quantize_qdq(
    src_onnx: Path,
    dst_onnx: Path,
    frames: Sequence[np.ndarray],
    *,
    per_channel: bool = True,
    exclude_ops: Sequence[str] = ("InstanceNormalization",),
    keep_io_float: bool = True,
    calib_cache: Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an INT8 QDQ version of the exported FP32 model ``src_onnx`` to ``dst_onnx``.

    Static quantisation with ONNX Runtime (:data:`CALIBRATION_METHOD` ranges over ``frames``),
    symmetric int8 activations and weights with zero point 0 (what TensorRT takes), weights per output
    channel when ``per_channel``. The model's ``vstyle.*`` metadata is copied with
    ``vstyle.precision = "int8-qdq"``; the sidecar (the format of
    :func:`~vstyle.models.export.export_onnx`'s) adds ``source_sha256``, the calibration method,
    frame count and sizes, and the excluded ops and nodes. The calibration tensor ranges are written
    as JSON to ``calib_cache``. All files are written to temporary names and renamed on success.

    Args:
        src_onnx: an FP32 model written by :func:`~vstyle.models.export.export_onnx`.
        dst_onnx: where the QDQ .onnx goes.
        frames: ``H×W×3 uint8`` RGB calibration frames (:func:`calibration_frames`), each a multiple
            of the model's size multiple; sizes may differ.
        per_channel: per-output-channel weight scales (better accuracy, supported by TensorRT).
        exclude_ops: op types left in float.
        keep_io_float: leave the first and last convolution in float.
        calib_cache: where the calibration ranges go; defaults to ``<dst stem>.calib.json`` beside it.
        overwrite: replace existing output files; otherwise refuse.

    Returns:
        ``dst_onnx``.

    Raises:
        ConfigError: ``dst_onnx`` does not end in .onnx or is ``src_onnx``; no frames, or a frame
            that is not ``H×W×3 uint8`` with sides multiples of the model's size multiple.
        ModelError: ``src_onnx`` is not an FP32 vstyle model or its sidecar does not match; an output
            file exists and ``overwrite`` is false.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    src, dst = Path(src_onnx), Path(dst_onnx)
    side = sidecar_path(dst)
    cache = Path(calib_cache) if calib_cache is not None else calibration_cache_path(dst)
    if dst.suffix != ".onnx":
        raise ConfigError(f"INT8 model path must end in .onnx, got {dst}")
    if dst.resolve() == src.resolve():
        raise ConfigError(f"INT8 model path {dst} is the FP32 model itself; choose another path")
    if not overwrite:
        for existing in (dst, side, cache):
            if existing.exists():
                raise ModelError(f"{existing} already exists; pass overwrite=True or choose another path")
    info = read_model_metadata(src)
    m = info.size_multiple
    if not frames:
        raise ConfigError("quantize_qdq needs calibration frames; got none (see calibration_frames)")
    for i, f in enumerate(frames):
        if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8 or f.shape[0] % m or f.shape[1] % m:
            raise ConfigError(
                f"calibration frame {i}: expected H×W×3 uint8 with H and W multiples of {m}; "
                f"got shape {f.shape} dtype {f.dtype}"
            )
    proto = onnx.load_model(str(src))
    props = {p.key: p.value for p in proto.metadata_props}
    if props.get("vstyle.precision", "fp32") != "fp32":
        raise ModelError(
            f"{src} is already a {props['vstyle.precision']} model; quantise the FP32 export instead"
        )
    src_sha = info.sha256 or file_sha256(src)
    excluded_nodes = io_conv_names(proto) if keep_io_float else []
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    op_types = sorted((set(QDQRegistry) | set(QLinearOpsRegistry)) - set(exclude_ops))

    dst.parent.mkdir(parents=True, exist_ok=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tag = f"tmp-{os.getpid()}"
    tmp_onnx = dst.with_name(f".{dst.name}.{tag}")
    tmp_cache = cache.with_name(f".{cache.name}.{tag}")
    try:
        quantize_static(
            str(src),
            str(tmp_onnx),
            _frame_reader(info.input_name, frames),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=op_types,
            per_channel=per_channel,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded_nodes,
            calibrate_method=CalibrationMethod.MinMax,
            calibration_cache_path=str(tmp_cache),
            extra_options={
                "ActivationSymmetric": True,  # zero point 0: TensorRT takes nothing else
                "WeightSymmetric": True,
                "CalibTensorRangeSymmetric": True,
                "QuantizeBias": False,  # TensorRT takes int8 Q/DQ only, no int32 bias
            },
        )
        qproto = onnx.load_model(str(tmp_onnx))
        qprops = dict(props)
        qprops.update(
            {
                "vstyle.precision": PRECISION,
                "vstyle.source": f"{PRECISION} of {src.name} sha256={src_sha}",
                "vstyle.fp32_source": info.source,
            }
        )
        del qproto.metadata_props[:]
        onnx.helper.set_model_props(qproto, qprops)
        try:
            onnx.checker.check_model(qproto, full_check=True)
        except onnx.checker.ValidationError as exc:
            raise ModelError(f"the INT8 QDQ version of {src} is not a valid ONNX model ({exc})") from exc

        src_side = read_sidecar(src) or {}
        save_model(
            qproto,
            dst,
            {
                "architecture": info.architecture,
                "spec": info.spec.to_dict() if info.spec is not None else src_side.get("spec"),
                "size_multiple": info.size_multiple,
                "source": qprops["vstyle.source"],
                "source_sha256": src_sha,
                "precision": PRECISION,
                "quantization": {
                    "calibration_method": CALIBRATION_METHOD,
                    "calibration_frames": len(frames),
                    "calibration_sizes": sorted({f"{f.shape[1]}x{f.shape[0]}" for f in frames}),
                    "calibration_cache": cache.name if cache.parent == dst.parent else str(cache),
                    "activations": "int8 symmetric per-tensor",
                    "weights": f"int8 symmetric {'per-channel' if per_channel else 'per-tensor'}",
                    "float_ops": sorted(exclude_ops),
                    "float_nodes": excluded_nodes,
                },
                "input": info.input_name,
                "output": info.output_name,
                "torch_version": src_side.get("torch_version"),
            },
            staged=tmp_onnx,
            extra=((tmp_cache, cache),),
        )
    finally:
        for tmp in (tmp_onnx, tmp_cache):
            tmp.unlink(missing_ok=True)
    logger.info("wrote INT8 QDQ %s (from %s, %d frames) to %s", info.architecture, src, len(frames), dst)
    return dst

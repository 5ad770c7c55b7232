"""The usual ways people run these networks, measured on the same clip, frames and weights as vstyle.

* :func:`eager_loop` — the per-frame eager PyTorch loop of pytorch/examples ``fast_neural_style``
  applied to a video: PyAV decodes a frame, it is scaled to the bench height, turned into a tensor,
  run through the network under ``torch.no_grad()``, clamped back to ``uint8`` and encoded by PyAV,
  one frame after another on one Python thread (PyAV's and PyTorch's own defaults for their
  internal threads). ``fps`` counts the frames after the first ``warmup`` ones, to the end of the
  encoder flush — as vstyle's file mode does.
* :func:`png_workflow` — "decode every frame to images → stylize each image → re-encode":
  FFmpeg's image2 muxer (through PyAV) writes every scaled frame as a PNG into a temporary folder,
  each PNG is read, stylized by the same eager network and written as a PNG, then the stylized PNGs
  are read back by FFmpeg's image2 demuxer and encoded. ``fps`` is all frames over the whole job
  (the network warmed up on one frame before the clock starts).

Both encode H.264 with :class:`~vstyle.sinks.video.VideoFileSink`'s defaults (codec, CRF, preset,
``yuv420p``) so the encoder does the same work as in vstyle's file mode. The network is the model's
own :class:`~vstyle.models.stylenet.StyleNet` with the weights read back from the ONNX file
(:func:`torch_network`), checked against ONNX Runtime on a test input before it is timed.
"""

from __future__ import annotations

import inspect
import logging
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vstyle.errors import ModelError, SourceError
from vstyle.models.from_onnx import stylenet_from_onnx
from vstyle.stylizer import scaled_size

if TYPE_CHECKING:
    from vstyle.models.stylenet import StyleNet

log = logging.getLogger(__name__)

#: Largest difference (on the 0..255 scale) allowed between the rebuilt network and ONNX Runtime.
PARITY_TOLERANCE = 1.0


def _encoder_defaults() -> dict[str, Any]:
    from vstyle.sinks.video import VideoFileSink

    params = inspect.signature(VideoFileSink).parameters
    return {k: params[k].default for k in ("codec", "crf", "preset", "pix_fmt")}


def torch_network(onnx_path: Path) -> StyleNet:
    """The model's :class:`StyleNet` in eval mode on the CPU, with the weights of the ONNX file.

    The network is rebuilt by :func:`~vstyle.models.from_onnx.stylenet_from_onnx` (the bench passes
    the FP32 variant) and checked against ONNX Runtime on a small input.

    Raises:
        ModelError: the file carries no architecture spec, is an INT8 QDQ model, its layers do not
            match the spec, or the rebuilt network's output differs from ONNX Runtime's by more than
            :data:`PARITY_TOLERANCE`.
    """
    onnx_path = Path(onnx_path)
    net = stylenet_from_onnx(onnx_path)
    _check_parity(net, onnx_path, net.spec.size_multiple)
    return net


def _check_parity(net: StyleNet, onnx_path: Path, m: int) -> None:
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(0)
    x = (rng.random((1, 3, 4 * m, 6 * m)) * 255).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    worst = float(np.abs(got - expected).max())
    if worst > PARITY_TOLERANCE:
        raise ModelError(
            f"{onnx_path}: the eager network rebuilt from the file differs from ONNX Runtime by {worst:.2f} "
            f"(tolerance {PARITY_TOLERANCE}); the layer order of the graph does not match its spec"
        )


def torch_device() -> str:
    """``"cuda"`` where PyTorch sees a GPU (as fast_neural_style's ``--cuda``), else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _stylize(net: StyleNet, image: np.ndarray, device: str) -> np.ndarray:
    """One frame through the eager network, as fast_neural_style's ``stylize`` does it."""
    import torch
    import torch.nn.functional as F

    h, w = image.shape[:2]
    m = net.spec.size_multiple
    x = torch.from_numpy(image).to(device).permute(2, 0, 1).float().unsqueeze(0)
    pad_h, pad_w = (-h) % m, (-w) % m
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
    with torch.no_grad():
        y = net(x)[0, :, :h, :w]
    return y.clamp(0, 255).round().byte().permute(1, 2, 0).contiguous().cpu().numpy()


def _open_clip(clip: Path) -> Any:
    import av

    try:
        container = av.open(str(clip))
    except (av.FFmpegError, OSError) as exc:
        raise SourceError(f"cannot read the clip {clip} ({exc}); pass --clip PATH to a video file") from exc
    if not container.streams.video:
        container.close()
        raise SourceError(f"{clip} has no video stream; pass --clip PATH to a video file")
    return container


def _add_encoder(container: Any, rate: Fraction, width: int, height: int) -> Any:
    enc = _encoder_defaults()
    stream = container.add_stream(enc["codec"], rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, enc["pix_fmt"]
    options = {}
    if enc["crf"] is not None:
        options["crf"] = str(enc["crf"])
    if enc["preset"] is not None:
        options["preset"] = enc["preset"]
    stream.codec_context.options = options
    return stream


def _rate(stream: Any) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate
    return Fraction(rate) if rate else Fraction(30)


def eager_loop(
    net: StyleNet, clip: Path, height: int, frames: int, warmup: int, folder: Path, device: str = "cpu"
) -> dict[str, Any]:
    """Decode → eager network → encode, one frame at a time (see the module docstring).

    Returns:
        ``frames`` (timed), ``fps``, ``width``, ``height`` and ``stages_ms`` (decode, stylize, encode
        per frame over all frames).
    """
    import av

    net = net.to(device)
    stages = {"decode": 0.0, "stylize": 0.0, "encode": 0.0}
    done = 0
    reference: float | None = None
    start = time.perf_counter()
    src = _open_clip(clip)
    try:
        stream = src.streams.video[0]
        in_w, in_h = stream.codec_context.width, stream.codec_context.height
        width, height_out = scaled_size(in_w, in_h, height)
        with av.open(str(folder / "eager.mp4"), "w") as dst:
            out = _add_encoder(dst, _rate(stream), width, height_out)
            decoded = src.decode(stream)
            while done < frames:
                t0 = time.perf_counter()
                frame = next(decoded, None)
                if frame is None:
                    break
                image = frame.to_ndarray(width=width, height=height_out, format="rgb24")
                t1 = time.perf_counter()
                styled = _stylize(net, image, device)
                t2 = time.perf_counter()
                dst.mux(out.encode(av.VideoFrame.from_ndarray(styled, format="rgb24")))
                t3 = time.perf_counter()
                stages["decode"] += t1 - t0
                stages["stylize"] += t2 - t1
                stages["encode"] += t3 - t2
                done += 1
                if done == warmup:
                    reference = t3
            t0 = time.perf_counter()
            dst.mux(out.encode(None))
            stages["encode"] += time.perf_counter() - t0
    finally:
        src.close()
    end = time.perf_counter()
    reference = reference if reference is not None else start
    timed = done - warmup if done > warmup else done
    return {
        "frames": timed,
        "fps": round(timed / (end - reference), 3) if timed else None,
        "width": width,
        "height": height_out,
        "stages_ms": {k: round(1e3 * v / max(done, 1), 3) for k, v in stages.items()},
    }


def png_workflow(
    net: StyleNet, clip: Path, height: int, frames: int, folder: Path, device: str = "cpu"
) -> dict[str, Any]:
    """Frames → PNG files → stylized PNG files → H.264 (see the module docstring)."""
    import av
    import cv2

    net = net.to(device)
    with tempfile.TemporaryDirectory(prefix="png-workflow-", dir=folder) as tmp:
        raw, styled = Path(tmp) / "in", Path(tmp) / "out"
        raw.mkdir()
        styled.mkdir()
        src = _open_clip(clip)
        try:
            stream = src.streams.video[0]
            rate = _rate(stream)
            width, height_out = scaled_size(stream.codec_context.width, stream.codec_context.height, height)
            _stylize(net, np.zeros((height_out, width, 3), np.uint8), device)  # warm-up, untimed
            start = time.perf_counter()
            # 1. ffmpeg -i clip -vf scale=W:H in/%06d.png
            with av.open(str(raw / "%06d.png"), "w", format="image2") as images:
                png = images.add_stream("png", rate=rate)
                png.width, png.height, png.pix_fmt = width, height_out, "rgb24"
                count = 0
                for frame in src.decode(stream):
                    if count >= frames:
                        break
                    rgb = frame.reformat(width=width, height=height_out, format="rgb24")
                    rgb.pts = None
                    images.mux(png.encode(rgb))
                    count += 1
                images.mux(png.encode(None))
        finally:
            src.close()
        extracted = time.perf_counter()
        # 2. stylize every image, one file at a time
        for path in sorted(raw.glob("*.png")):
            image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            result = _stylize(net, image, device)
            if not cv2.imwrite(str(styled / path.name), cv2.cvtColor(result, cv2.COLOR_RGB2BGR)):
                raise OSError(f"could not write {styled / path.name}")
        stylized = time.perf_counter()
        # 3. ffmpeg -framerate R -i out/%06d.png -c:v libx264 out.mp4
        written = 0
        with (
            av.open(str(styled / "%06d.png"), format="image2", options={"framerate": str(rate)}) as images,
            av.open(str(Path(tmp) / "png.mp4"), "w") as dst,
        ):
            out = _add_encoder(dst, rate, width, height_out)
            for frame in images.decode(video=0):
                frame.pts = None
                dst.mux(out.encode(frame))
                written += 1
            dst.mux(out.encode(None))
        end = time.perf_counter()
    n = max(written, 1)
    return {
        "frames": written,
        "fps": round(written / (end - start), 3) if written else None,
        "width": width,
        "height": height_out,
        "stages_ms": {
            "decode+png": round(1e3 * (extracted - start) / n, 3),
            "png→stylize→png": round(1e3 * (stylized - extracted) / n, 3),
            "png+encode": round(1e3 * (end - stylized) / n, 3),
        },
    }

"""NVDEC frames kept on the GPU (DLPack) and NVENC, where the hardware exists.

Skipped at collection time without CUDA; NVDEC / NVENC tests skip with the reason where the GPU has
no such engine (NVENC: H100, A100).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from media import decode, make_clip, only, read_streams

from vstyle.hwvideo import device_rgb, nvenc_unavailable_reason

pytestmark = pytest.mark.gpu


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_nvdec_frames_on_the_gpu_match_software_decode(tmp_path: Path) -> None:
    import torch
    from av.codec.hwaccel import HWAccel

    clip = make_clip(tmp_path / "in.mp4", frames=8, size=(256, 144), audio=None)
    _, software = decode(clip)
    try:
        container = av.open(
            str(clip), hwaccel=HWAccel("cuda", allow_software_fallback=False, is_hw_owned=True)
        )
    except (av.FFmpegError, OSError) as error:
        pytest.skip(f"NVDEC does not open here: {error}")
    with container:
        images = [device_rgb(frame) for frame in container.decode(video=0)]
    assert len(images) == len(software)
    assert all(i.is_cuda and i.dtype == torch.uint8 and i.shape == (144, 256, 3) for i in images)
    for image, frame in zip(images, software):
        assert _psnr(image.cpu().numpy(), frame.image) >= 40.0


def test_nvenc_encodes_where_the_gpu_has_it(tmp_path: Path) -> None:
    from vstyle.sinks.video import VideoFileSink

    reason = nvenc_unavailable_reason("h264_nvenc")
    if reason is not None:
        pytest.skip(reason)
    clip = make_clip(tmp_path / "in.mp4", frames=10, size=(256, 144), audio=None)
    info, frames = decode(clip)
    out = tmp_path / "out.mp4"
    with VideoFileSink(out, hwaccel="cuda") as sink:
        sink.open(info)
        for frame in frames:
            sink.write(frame)
    assert sink.codec == "h264_nvenc"
    assert len(only(read_streams(out), "video").times) == 10


def test_file_source_hands_gpu_frames_to_a_gpu_backend(tmp_path: Path, tiny_model: Path) -> None:
    """NVDEC → RGB on the GPU → network, no host copy on the way in: the same stylized frames as
    the host route, within FP16 and colour-conversion rounding."""
    import torch

    from vstyle.capture.file import FileSource
    from vstyle.config import StylizeConfig
    from vstyle.stylizer import Stylizer

    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(256, 144), audio=None)
    _, software = decode(clip)
    with FileSource(clip, hwaccel="cuda", device_frames=True) as source:
        if source.decoder != "nvdec":
            pytest.skip("NVDEC does not open here")
        images = [frame.image for frame in source]
    assert all(isinstance(i, torch.Tensor) and i.is_cuda and i.shape == (144, 256, 3) for i in images)
    with Stylizer(StylizeConfig(model=tiny_model, backend="torch", height=72)) as stylize:
        assert stylize.backend.takes_frames
        on_gpu = stylize.stylize_batch(images[:2])
        on_host = stylize.stylize_batch([f.image for f in software[:2]])
    for got, want in zip(on_gpu, on_host):
        assert isinstance(got, np.ndarray) and got.shape == want.shape == (72, 128, 3)
        assert _psnr(got, want) >= 30.0

"""Hardware video decode / encode: the choice, the logged fallback to software, and the NV12 → RGB
conversion GPU-resident frames go through (checked on the CPU against FFmpeg's own conversion).

On a machine with NVDEC / NVENC the same tests check the hardware result instead of the fallback;
tests/gpu/test_hwvideo_gpu.py covers the DLPack path that needs CUDA.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest
from media import decode, make_clip, only, read_streams

from vstyle.capture.file import FileSource
from vstyle.cli import main
from vstyle.errors import ConfigError, SinkError
from vstyle.hwvideo import (
    device_frames_for_backend,
    hwaccel_for_backend,
    nvenc_options,
    nvenc_unavailable_reason,
    resolve_hwaccel,
)
from vstyle.render import render

NVENC_REASON = nvenc_unavailable_reason("h264_nvenc")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _photo_like(height: int = 72, width: int = 128) -> np.ndarray:
    """Smooth colour fields plus texture: saturated and dark regions, unlike a flat test card."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack(
        [
            128 + 127 * np.sin(x / 9.0),
            128 + 110 * np.cos(y / 7.0 + x / 23.0),
            255 * (x / width) * (y / height),
        ],
        axis=-1,
    )
    rng = np.random.default_rng(3)
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


def test_resolve_hwaccel() -> None:
    assert resolve_hwaccel("auto", gpu_backend=True) == "cuda"
    assert resolve_hwaccel("auto", gpu_backend=False) is None, "the CPU path gains nothing from NVDEC"
    assert resolve_hwaccel("cuda", gpu_backend=False) == "cuda"
    assert resolve_hwaccel("none", gpu_backend=True) is None
    with pytest.raises(ValueError, match="auto, cuda, none"):
        resolve_hwaccel("vaapi", gpu_backend=True)


def test_hwaccel_follows_the_backend_the_network_runs_on() -> None:
    # ONNX Runtime on the CPU: `auto` keeps decode and encode in software; an explicit `cuda` stands.
    assert hwaccel_for_backend("auto", "onnxruntime") is None
    assert hwaccel_for_backend("cuda", "onnxruntime") == "cuda"
    assert hwaccel_for_backend("none", "auto") is None
    assert device_frames_for_backend("onnxruntime") is False, "ONNX Runtime on the CPU takes host arrays"


def test_encoder_probe_opens_a_real_encoder_and_explains_a_missing_one() -> None:
    assert nvenc_unavailable_reason("libx264") is None, "the probe must succeed where an encoder opens"
    missing = nvenc_unavailable_reason("no_such_nvenc")
    assert missing is not None and "no_such_nvenc" in missing
    if NVENC_REASON is not None:
        assert "h264_nvenc" in NVENC_REASON and "NVENC" in NVENC_REASON


def test_nvenc_options_map_quality_and_presets() -> None:
    assert nvenc_options(18, "veryfast") == {"preset": "p4", "rc": "vbr", "cq": "18"}
    assert nvenc_options(None, "p7") == {"preset": "p7", "rc": "vbr"}


def test_nvdec_request_decodes_the_same_frames_or_falls_back_with_a_warning(tmp_path: Path, caplog) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=12, size=(96, 64), audio=None)
    _, software = decode(clip)
    caplog.set_level(logging.WARNING)
    with FileSource(clip, hwaccel="cuda") as source:
        frames = [f.image for f in source]
        decoder = source.decoder
    assert len(frames) == len(software) == 12
    if decoder == "software":
        assert "NVDEC" in caplog.text and "decoding on the CPU" in caplog.text, "the fallback must be logged"
        for got, want in zip(frames, software):
            np.testing.assert_array_equal(got, want.image)
    else:  # NVDEC ran: the same pictures within the two decoders' colour-conversion rounding
        assert decoder == "nvdec"
        assert min(_psnr(g, w.image) for g, w in zip(frames, software)) >= 40.0
    with pytest.raises(ConfigError, match="hwaccel"):
        FileSource(clip, hwaccel="vaapi")


def test_nvenc_request_writes_a_playable_file_either_way(tmp_path: Path, tiny_model: Path, caplog) -> None:
    from vstyle.config import StylizeConfig

    clip = make_clip(tmp_path / "in.mp4", frames=10, size=(96, 64))
    out = tmp_path / "out.mp4"
    caplog.set_level(logging.WARNING)
    sink_options = {"hwaccel": "cuda"}
    metrics = render(clip, out, stylize=StylizeConfig(model=tiny_model), sink_options=sink_options)
    assert metrics.frames_out == 10
    video = only(read_streams(out), "video")
    assert len(video.times) == 10
    if NVENC_REASON is None:
        assert video.codec == "h264"
    else:
        assert video.codec == "h264" and "encoding with libx264 on the CPU" in caplog.text
    assert only(read_streams(out), "audio").payloads == only(read_streams(clip), "audio").payloads


@pytest.mark.skipif(NVENC_REASON is None, reason="NVENC opens here; the refusal is for machines without it")
def test_explicit_nvenc_without_the_engine_is_refused_before_writing(
    tmp_path: Path, tiny_model: Path
) -> None:
    from vstyle.config import StylizeConfig

    clip = make_clip(tmp_path / "in.mp4", frames=3, size=(64, 48), audio=None)
    out = tmp_path / "out.mp4"
    with pytest.raises(SinkError, match="h264_nvenc does not open here.*libx264"):
        render(clip, out, stylize=StylizeConfig(model=tiny_model), sink_options={"codec": "h264_nvenc"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"], "no output, no staging file left"


def test_cli_hwaccel(tmp_path: Path, tiny_model: Path, capsys) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(64, 48), audio=None)
    out = tmp_path / "out.mp4"
    args = ["render", str(clip), "-o", str(out), "--model", str(tiny_model), "--no-progress"]
    assert main([*args, "--hwaccel", "cuda"]) == 0
    assert len(only(read_streams(out), "video").times) == 6
    code = main(["live", "--input", "synthetic:64x48@30", "--no-display", "--max-frames", "3",
                 "--model", str(tiny_model), "--hwaccel", "cuda"])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and "--hwaccel cuda decodes and encodes video files" in err


def _nv12(rgb: np.ndarray, colorspace: str, color_range: str) -> tuple[av.VideoFrame, np.ndarray, np.ndarray]:
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="nv12", dst_colorspace=colorspace, dst_color_range=color_range
    )
    height, width = frame.height, frame.width
    luma = np.frombuffer(frame.planes[0], np.uint8).reshape(height, -1)[:, :width].copy()
    chroma = np.frombuffer(frame.planes[1], np.uint8).reshape(height // 2, -1)[:, :width].copy()
    return frame, luma, chroma


def test_nv12_to_rgb_bt601_matches_opencv() -> None:
    """OpenCV's NV12 converter (BT.601, limited range, chroma repeated per 2×2 block) is an
    independent implementation of the same maths: within one level everywhere."""
    torch = pytest.importorskip("torch")
    import cv2

    from vstyle.hwvideo import nv12_planes_to_rgb

    _, luma, chroma = _nv12(_photo_like(), "itu601", "MPEG")
    mine = nv12_planes_to_rgb(torch.from_numpy(luma), torch.from_numpy(chroma), colorspace=5).numpy()
    theirs = cv2.cvtColor(np.vstack([luma, chroma]), cv2.COLOR_YUV2RGB_NV12)
    assert mine.shape == theirs.shape and mine.dtype == np.uint8
    assert np.abs(mine.astype(int) - theirs.astype(int)).max() <= 1


@pytest.mark.parametrize(("color_range", "code"), [("MPEG", 1), ("JPEG", 2)])
def test_nv12_to_rgb_grey_levels_are_exact(color_range: str, code: int) -> None:
    """Neutral chroma: limited range maps Y 16..235 onto 0..255, full range is the identity."""
    torch = pytest.importorskip("torch")
    from vstyle.hwvideo import nv12_planes_to_rgb

    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb = nv12_planes_to_rgb(
        torch.from_numpy(levels), torch.full((8, 16), 128, dtype=torch.uint8), colorspace=1, color_range=code
    ).numpy()
    expected = levels.astype(float) if code == 2 else np.clip((levels - 16.0) * 255.0 / 219.0, 0, 255)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], np.floor(expected + 0.5).astype(np.uint8))


@pytest.mark.parametrize(("colorspace", "color_range"), [("itu709", "MPEG"), ("itu709", "JPEG")])
def test_nv12_to_rgb_bt709_close_to_ffmpeg(colorspace: str, color_range: str) -> None:
    """FFmpeg's default (fast, not exact) converter differs by up to ~2 levels plus its chroma
    filtering, so the bar is lower than against OpenCV; the wrong matrix must still lose clearly."""
    torch = pytest.importorskip("torch")
    from vstyle.hwvideo import nv12_planes_to_rgb

    frame, luma, chroma = _nv12(_photo_like(), colorspace, color_range)
    theirs = frame.reformat(
        format="rgb24", src_colorspace=colorspace, src_color_range=color_range
    ).to_ndarray()
    code = 2 if color_range == "JPEG" else 1
    mine = nv12_planes_to_rgb(
        torch.from_numpy(luma), torch.from_numpy(chroma), colorspace=1, color_range=code
    )
    wrong = nv12_planes_to_rgb(
        torch.from_numpy(luma), torch.from_numpy(chroma), colorspace=5, color_range=code
    )
    assert _psnr(mine.numpy(), theirs) >= 35.0
    assert _psnr(wrong.numpy(), theirs) < _psnr(mine.numpy(), theirs) - 6.0


def test_nv12_to_rgb_on_real_clips(videos_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    from vstyle.hwvideo import nv12_planes_to_rgb

    for clip in sorted(videos_dir.glob("*.mp4"))[:3]:
        with av.open(str(clip)) as container:
            frame = next(container.decode(video=0))
        theirs = frame.to_ndarray(format="rgb24")
        nv12 = frame.reformat(format="nv12")
        luma = np.frombuffer(nv12.planes[0], np.uint8).reshape(nv12.height, -1)[:, : nv12.width]
        chroma = np.frombuffer(nv12.planes[1], np.uint8).reshape(nv12.height // 2, -1)[:, : nv12.width]
        mine = nv12_planes_to_rgb(
            torch.from_numpy(luma.copy()), torch.from_numpy(chroma.copy()),
            colorspace=int(frame.colorspace), color_range=int(frame.color_range),
        ).numpy()  # fmt: skip
        assert _psnr(mine, theirs) >= 40.0, clip.name


def test_nv12_chroma_that_does_not_cover_the_picture_is_refused() -> None:
    torch = pytest.importorskip("torch")
    from vstyle.hwvideo import nv12_planes_to_rgb

    with pytest.raises(ValueError, match="does not cover"):
        nv12_planes_to_rgb(torch.zeros(8, 8, dtype=torch.uint8), torch.zeros(2, 8, dtype=torch.uint8))


def test_nv12_of_an_odd_size_repeats_the_last_chroma_sample() -> None:
    """PyAV exports an odd-sized frame's chroma plane one sample short (floor of half the size):
    the picture keeps its size, and only its last row and column can differ from full chroma."""
    torch = pytest.importorskip("torch")
    from vstyle.hwvideo import nv12_planes_to_rgb

    height, width = 65, 97
    frame = av.VideoFrame.from_ndarray(_photo_like(height, width), format="rgb24").reformat(
        format="nv12", dst_colorspace="itu601", dst_color_range="MPEG"
    )
    luma = np.frombuffer(frame.planes[0], np.uint8).reshape(-1, frame.planes[0].line_size)[:height, :width]
    chroma = np.frombuffer(frame.planes[1], np.uint8).reshape(-1, frame.planes[1].line_size)
    full = chroma[: (height + 1) // 2, : (width + 1) // 2 * 2]
    short = chroma[: height // 2, : width // 2 * 2]
    ours = nv12_planes_to_rgb(
        torch.from_numpy(luma.copy()), torch.from_numpy(short.copy()), colorspace=5
    ).numpy()
    exact = nv12_planes_to_rgb(
        torch.from_numpy(luma.copy()), torch.from_numpy(full.copy()), colorspace=5
    ).numpy()
    assert ours.shape == (height, width, 3)
    np.testing.assert_array_equal(ours[:-1, :-1], exact[:-1, :-1])
    assert _psnr(ours, exact) >= 35.0  # the last column and row are close, not wrong


def test_device_rgb_reads_nv12_planes_through_dlpack(videos_dir: Path) -> None:
    """The DLPack route device frames take, on a software NV12 frame (its planes export to the CPU)."""
    pytest.importorskip("torch")
    from vstyle.hwvideo import device_rgb

    clip = sorted(videos_dir.glob("*.mp4"))[0]
    with av.open(str(clip)) as container:
        frame = next(container.decode(video=0))
    mine = device_rgb(frame.reformat(format="nv12"))
    assert mine.shape == (frame.height, frame.width, 3) and mine.device.type == "cpu"
    assert _psnr(mine.numpy(), frame.to_ndarray(format="rgb24")) >= 40.0
    with pytest.raises(ValueError, match="NV12"):
        device_rgb(frame.reformat(format="yuv444p"))


def test_device_frames_need_nvdec_and_fall_back_to_host_frames(tmp_path: Path, caplog) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(96, 64), audio=None)
    with pytest.raises(ConfigError, match="hwaccel='cuda'"):
        FileSource(clip, device_frames=True)
    caplog.set_level(logging.WARNING)
    with FileSource(clip, hwaccel="cuda", device_frames=True) as source:
        frames = [f.image for f in source]
        decoder = source.decoder
    assert len(frames) == 6
    if decoder == "software":  # no GPU here: host frames, as without device_frames
        assert all(isinstance(f, np.ndarray) and f.shape == (64, 96, 3) for f in frames)
    else:
        assert all(f.is_cuda and tuple(f.shape) == (64, 96, 3) for f in frames)


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("flip_rows", [False, True])
@pytest.mark.parametrize("flip_cols", [False, True])
def test_orientation_on_a_tensor_equals_the_host_one(
    transpose: bool, flip_rows: bool, flip_cols: bool
) -> None:
    torch = pytest.importorskip("torch")
    from vstyle.capture.file import Orientation

    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    orientation = Orientation(transpose=transpose, flip_rows=flip_rows, flip_cols=flip_cols)
    mine = orientation.apply_tensor(torch.from_numpy(image))
    assert mine.is_contiguous()
    np.testing.assert_array_equal(mine.numpy(), orientation.apply(image))


@pytest.mark.parametrize(("size", "exact"), [((48, 32), True), ((144, 96), True), ((60, 40), False)])
def test_fit_frames_scales_and_pads_like_opencv(size: tuple[int, int], exact: bool) -> None:
    torch = pytest.importorskip("torch")
    import cv2

    from vstyle.gpu import fit_frames

    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8), (5, 5), 0)
    width, height = size
    pad_h, pad_w = (-height) % 16, (-width) % 16
    theirs = cv2.copyMakeBorder(
        cv2.resize(image, size, interpolation=cv2.INTER_AREA), 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101
    )
    mine = fit_frames(torch.from_numpy(image)[None], width, height, pad_h, pad_w)[0].numpy()
    assert mine.shape == theirs.shape
    if exact:  # integer downscaling and upscaling: the same pixels
        np.testing.assert_array_equal(mine, theirs)
    else:  # fractional downscaling: the averaging windows are cut differently
        assert _psnr(mine, theirs) >= 35.0


def test_stabilizer_refuses_frames_left_on_the_gpu(tmp_path: Path, tiny_model: Path) -> None:
    from vstyle.config import StylizeConfig

    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(96, 64), audio=None)
    out = tmp_path / "out.mp4"
    with pytest.raises(ConfigError, match="stabilizer reads the input frames on the host"):
        render(
            clip, out, stylize=StylizeConfig(model=tiny_model, stabilize=0.6),
            source_options={"hwaccel": "cuda", "device_frames": True},
        )  # fmt: skip
    assert not out.exists() and list(tmp_path.iterdir()) == [clip]

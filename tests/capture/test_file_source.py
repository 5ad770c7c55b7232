"""FileSource on well-formed videos: pixel formats, rotation, timestamps, counts, lifecycle."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from capture_clips import Clip, MakeVideo

from vstyle.capture import FileSource, SourceInfo
from vstyle.capture.file import Orientation
from vstyle.frames import Frame


def read_all(path: Path) -> tuple[list[Frame], SourceInfo]:
    """Every frame of ``path`` and the info of the source that read them."""
    with FileSource(path) as source:
        return list(source), source.info


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_h264_frames_are_rgb_uint8_in_order_with_the_written_count(h264_clip: Clip) -> None:
    with FileSource(h264_clip.path) as source:
        info = source.info
        frames = list(source)
    assert (info.width, info.height) == (96, 64)
    assert info.frame_count == len(h264_clip.frames) == len(frames) == 12
    assert info.fps == 30 and info.path == h264_clip.path and not info.live
    assert [f.index for f in frames] == list(range(12))
    for frame, written in zip(frames, h264_clip.frames, strict=True):
        assert frame.image.dtype == np.uint8 and frame.image.shape == (64, 96, 3)
        assert frame.image.flags.c_contiguous
        assert mean_abs_diff(frame.image, written) < 8  # lossy 4:2:0, but the same picture
    # each frame matches its own source frame better than its neighbour: order and content both right
    assert mean_abs_diff(frames[5].image, h264_clip.frames[5]) < mean_abs_diff(
        frames[5].image, h264_clip.frames[8]
    )


def test_frame_count_is_estimated_from_duration_when_the_container_has_none(make_video: MakeVideo) -> None:
    clip = make_video("clip.mkv", count=15)  # Matroska stores no frame count
    frames, info = read_all(clip.path)
    assert len(frames) == 15
    assert info.frame_count == 15


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt", "options", "tolerance"),
    [
        ("yuv420p10.mp4", "libx264", "yuv420p10le", {"crf": "12"}, 8),
        ("yuv444p.mp4", "libx264", "yuv444p", {"crf": "12"}, 4),
        ("yuv444p16.mkv", "ffv1", "yuv444p16le", {}, 1),
        ("bgr0.mkv", "ffv1", "bgr0", {}, 0),
        ("gbrp.mkv", "libx264rgb", "rgb24", {"qp": "0"}, 0),
        ("yuv420p10.mkv", "ffv1", "yuv420p10le", {}, 6),
    ],
)
def test_every_pixel_format_decodes_to_8bit_rgb_close_to_the_source(
    make_video: MakeVideo, name: str, codec: str, pix_fmt: str, options: dict[str, str], tolerance: float
) -> None:
    clip = make_video(name, count=4, codec=codec, pix_fmt=pix_fmt, options=options)
    frames, _ = read_all(clip.path)
    assert len(frames) == 4
    for frame, written in zip(frames, clip.frames, strict=True):
        assert frame.image.dtype == np.uint8 and frame.image.shape == written.shape
        assert mean_abs_diff(frame.image, written) <= tolerance


def test_10bit_h264_decodes_like_the_same_clip_in_8bit(make_video: MakeVideo) -> None:
    # 4:4:4 and lossless, so the only difference left is the bit depth of the YUV samples
    eight = make_video("8bit.mp4", count=4, pix_fmt="yuv444p", options={"qp": "0"})
    ten = make_video("10bit.mp4", count=4, pix_fmt="yuv444p10le", options={"qp": "0"})
    frames8, _ = read_all(eight.path)
    frames10, info10 = read_all(ten.path)
    assert "yuv444p10le" in info10.description
    assert len(frames10) == len(frames8) == 4
    for a, b, written in zip(frames8, frames10, ten.frames, strict=True):
        assert b.image.dtype == np.uint8 and b.image.shape == a.image.shape
        assert mean_abs_diff(a.image, b.image) < 1
        assert int(np.abs(a.image.astype(int) - b.image.astype(int)).max()) <= 3
        assert mean_abs_diff(b.image, written) <= mean_abs_diff(a.image, written)  # 10 bits lose less


def test_gray_video_decodes_to_three_equal_channels(make_video: MakeVideo) -> None:
    clip = make_video("gray.mkv", count=3, codec="ffv1", pix_fmt="gray")
    frames, _ = read_all(clip.path)
    image = frames[0].image
    assert image.shape == (64, 96, 3)
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])
    luma = clip.frames[0] @ np.array([0.299, 0.587, 0.114])
    assert float(np.abs(image[..., 0] - luma).mean()) < 4


@pytest.mark.parametrize(
    ("width", "height", "name", "codec", "pix_fmt", "tolerance"),
    [
        (161, 97, "odd.mp4", "libx264", "yuv444p", 1),
        (33, 17, "odd.mp4", "libx264", "yuv444p", 1),
        (161, 97, "odd.mkv", "ffv1", "yuv420p", 6),  # odd size with subsampled chroma
    ],
)
def test_odd_frame_sizes_survive(
    make_video: MakeVideo, width: int, height: int, name: str, codec: str, pix_fmt: str, tolerance: float
) -> None:
    options = {"qp": "0"} if codec == "libx264" else {}
    clip = make_video(
        name, count=3, width=width, height=height, codec=codec, pix_fmt=pix_fmt, options=options
    )
    frames, info = read_all(clip.path)
    assert (info.width, info.height) == (width, height)
    assert len(frames) == 3
    assert all(f.image.shape == (height, width, 3) and f.image.flags.c_contiguous for f in frames)
    assert mean_abs_diff(frames[1].image, clip.frames[1]) < tolerance


@pytest.mark.parametrize(
    ("rotation", "hflip", "expected"),
    [
        (90, False, lambda img: np.rot90(img, 1)),  # counter-clockwise
        (-90, False, lambda img: np.rot90(img, -1)),  # clockwise (a phone held upright)
        (180, False, lambda img: np.rot90(img, 2)),
        (90, True, lambda img: np.fliplr(np.rot90(img, 1))),  # rotated then mirrored
        (0, True, np.fliplr),
    ],
)
def test_rotation_metadata_turns_frames_upright(make_video: MakeVideo, rotation, hflip, expected) -> None:
    """The display matrix is written with PyAV's ``VideoStream.set_display_rotation``."""
    plain = make_video("plain.mp4", count=3, width=96, height=64, options={"qp": "0"})
    rotated = make_video(
        "rotated.mp4", count=3, width=96, height=64, options={"qp": "0"}, rotation=rotation, hflip=hflip
    )
    upright, _ = read_all(plain.path)
    with FileSource(rotated.path) as source:
        info = source.info
        frames = list(source)
    transposed = rotation in (90, -90)
    assert (info.width, info.height) == ((64, 96) if transposed else (96, 64))
    for frame, reference in zip(frames, upright, strict=True):
        assert frame.image.shape == (info.height, info.width, 3)
        assert frame.image.flags.c_contiguous
        np.testing.assert_array_equal(frame.image, expected(reference.image))


def test_orientation_from_display_matrix_matches_ffmpeg_autorotate() -> None:
    one = 1 << 16  # 16.16 fixed point

    def matrix(a: int, b: int, c: int, d: int) -> np.ndarray:
        return np.array([a * one, b * one, 0, c * one, d * one, 0, 0, 0, 1 << 30], np.int32)

    assert Orientation.from_matrix(matrix(1, 0, 0, 1)).is_identity
    # rotation_get == -90 (theta 90): ffmpeg applies transpose=clock, i.e. transpose then mirror
    assert Orientation.from_matrix(matrix(0, 1, -1, 0)) == Orientation(transpose=True, flip_cols=True)
    # rotation_get == 90 (theta 270): transpose=cclock, i.e. transpose then upside down
    assert Orientation.from_matrix(matrix(0, -1, 1, 0)) == Orientation(transpose=True, flip_rows=True)
    assert Orientation.from_matrix(matrix(-1, 0, 0, -1)) == Orientation(flip_rows=True, flip_cols=True)
    assert Orientation.from_matrix(matrix(1, 0, 0, -1)) == Orientation(flip_rows=True)
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert np.array_equal(Orientation(transpose=True, flip_cols=True).apply(image), np.rot90(image, -1))
    assert Orientation(transpose=True).size(640, 360) == (360, 640)


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_variable_frame_rate_timestamps_survive_exactly(make_video: MakeVideo, container: str) -> None:
    pts_ms = [0, 33, 50, 120, 121, 300, 333, 400, 401, 500]
    clip = make_video(f"vfr.{container}", count=len(pts_ms), pts=pts_ms, time_base=Fraction(1, 1000))
    frames, info = read_all(clip.path)
    assert len(frames) == len(pts_ms)
    assert all(f.time_base == info.time_base for f in frames)
    assert [f.pts * f.time_base for f in frames] == [Fraction(p, 1000) for p in pts_ms]


def test_frames_without_pts_get_them_from_index_and_rate(make_video: MakeVideo) -> None:
    clip = make_video("raw.h264", count=6, rate=25)  # an elementary stream: packets carry no pts
    frames, _ = read_all(clip.path)
    assert len(frames) == 6
    assert [f.time for f in frames] == pytest.approx([i / 25 for i in range(6)])


def test_stop_from_another_thread_ends_iteration_early(make_video: MakeVideo) -> None:
    clip = make_video("long.mp4", count=30)
    seen = []
    with FileSource(clip.path) as source:
        for frame in source:
            seen.append(frame.index)
            if frame.index == 2:
                stopper = threading.Thread(target=source.stop)
                stopper.start()
                stopper.join()
    assert seen == [0, 1, 2]


def test_lifecycle_info_before_open_close_twice_and_reopen(h264_clip: Clip) -> None:
    source = FileSource(h264_clip.path)
    with pytest.raises(RuntimeError, match="not open"):
        _ = source.info
    with source:
        first = [f.index for f in source]
        with pytest.raises(RuntimeError, match="once per open"):
            source.frames()
    source.close()  # idempotent
    with source:  # a closed source can be opened again and reads from the start
        assert [f.index for f in source] == first == list(range(12))


def test_close_during_iteration_ends_it_cleanly(h264_clip: Clip) -> None:
    with FileSource(h264_clip.path) as source:
        iterator = iter(source)
        next(iterator)
        source.close()
        assert list(iterator) == []


def test_an_image_with_side_data_pyav_cannot_list_still_opens(shared_data: Path) -> None:
    # The shared paintings carry side data (an ICC profile) that PyAV cannot name: listing it
    # raises ValueError, which once ended every eval/train run given such a file as a clip.
    with FileSource(shared_data / "styles" / "wave.jpg") as source:
        size = (source.info.height, source.info.width)
        frames = list(source)
    assert len(frames) == 1 and frames[0].image.shape[:2] == size

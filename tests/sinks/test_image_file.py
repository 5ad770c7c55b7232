"""ImageFileSink: one still, staged and committed on close; never two frames, never over the input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from media import pattern

from vstyle.capture.base import SourceInfo
from vstyle.errors import SinkError
from vstyle.frames import Frame
from vstyle.sinks import ImageFileSink, ImageSequenceSink

INFO = SourceInfo(width=64, height=48, frame_count=1)


def read_rgb(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]


def test_png_still_is_lossless_and_appears_only_on_close(tmp_path: Path) -> None:
    target = tmp_path / "still.png"
    with ImageFileSink(target) as sink:
        sink.open(INFO)
        sink.write(Frame(pattern(3), 0))
        assert not target.exists(), "the still must be staged until the sink commits"
        assert sink.frames_written == 1
    np.testing.assert_array_equal(read_rgb(target), pattern(3))
    assert [p.name for p in tmp_path.iterdir()] == ["still.png"]


def test_jpeg_quality_reaches_the_encoder(tmp_path: Path) -> None:
    sizes = {}
    for quality in (30, 95):
        with ImageFileSink(tmp_path / f"q{quality}.jpg", jpeg_quality=quality) as sink:
            sink.open(INFO)
            sink.write(Frame(pattern(1), 0))
        sizes[quality] = (tmp_path / f"q{quality}.jpg").stat().st_size
    assert sizes[30] < sizes[95]


def test_an_input_of_several_frames_is_refused_before_any_work(tmp_path: Path) -> None:
    sink = ImageFileSink(tmp_path / "still.png")
    with pytest.raises(SinkError, match=r"the input has 40 frames; .*still-%06d\.png.*--max-frames 1"):
        sink.open(SourceInfo(width=64, height=48, frame_count=40))
    assert list(tmp_path.iterdir()) == []


def test_a_second_frame_of_an_input_of_unknown_length_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "still.png"
    with pytest.raises(SinkError, match="more than one frame"), ImageFileSink(target) as sink:
        sink.open(SourceInfo(width=64, height=48))  # a stream: length unknown
        sink.write(Frame(pattern(0), 0))
        sink.write(Frame(pattern(1), 1))
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "still.png"
    target.write_bytes(b"the user's file")
    with pytest.raises(SinkError, match="exists; pass --overwrite"):
        ImageFileSink(target).open(INFO)
    assert target.read_bytes() == b"the user's file"
    with ImageFileSink(target, overwrite=True) as sink:
        sink.open(INFO)
        sink.write(Frame(pattern(2), 0))
    np.testing.assert_array_equal(read_rgb(target), pattern(2))


def test_the_input_image_is_never_written_over(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), pattern(0))
    before = photo.read_bytes()
    info = SourceInfo(width=64, height=48, frame_count=1, files=(photo,))
    with pytest.raises(SinkError, match="it is the input image"):
        ImageFileSink(tmp_path / "." / "photo.png", overwrite=True).open(info)
    assert photo.read_bytes() == before


def test_an_aborted_or_empty_run_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "still.png"
    with pytest.raises(RuntimeError, match="stylize failed"), ImageFileSink(target) as sink:
        sink.open(INFO)
        sink.write(Frame(pattern(0), 0))
        raise RuntimeError("stylize failed")
    with ImageFileSink(target) as sink:
        sink.open(INFO)
    assert list(tmp_path.iterdir()) == []


def test_a_sequence_never_replaces_the_images_it_reads(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    inputs = []
    for index in range(3):
        inputs.append(frames / f"{index:06d}.png")
        cv2.imwrite(str(inputs[-1]), pattern(index))
    info = SourceInfo(width=64, height=48, frame_count=3, files=tuple(inputs))
    with pytest.raises(SinkError, match="holds the input images"):  # even with overwrite
        ImageSequenceSink(f"{frames}/", overwrite=True).open(info)
    with pytest.raises(SinkError, match="holds the input images"):  # other names would mix with them
        ImageSequenceSink(f"{frames}/styled-%03d.png").open(info)
    ImageSequenceSink(f"{tmp_path}/styled/").open(info)

"""FileSource on bad input: each failure is one clear SourceError (also an OSError)."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest
from capture_clips import Clip, MakeVideo

from vstyle.capture import FileSource
from vstyle.errors import SourceError


def open_error(path: Path) -> SourceError:
    with pytest.raises(SourceError) as caught, FileSource(path):
        pass
    error = caught.value
    assert isinstance(error, OSError)
    assert "\n" not in str(error)
    return error


def overwrite(data: bytes, start: int, stop: int, seed: int = 0) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, stop - start, dtype=np.uint8).tobytes()
    return data[:start] + noise + data[stop:]


def test_missing_file_is_reported_as_not_found(tmp_path: Path) -> None:
    error = open_error(tmp_path / "nope.mp4")
    assert "not found" in str(error) and "nope.mp4" in str(error)


def test_folder_is_rejected_with_a_pointer_to_image_sequences(tmp_path: Path) -> None:
    assert "is a folder" in str(open_error(tmp_path))


@pytest.mark.parametrize("content", [b"", b"hello, this is not a video\n" * 40], ids=["empty", "text"])
def test_file_that_is_not_media_is_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    error = open_error(path)
    assert "cannot read" in str(error) and "fake.mp4" in str(error)
    assert isinstance(error.__cause__, av.FFmpegError)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    assert "no video stream (found: audio)" in str(open_error(path))


def test_mp4_truncated_before_its_index_is_rejected(h264_clip: Clip) -> None:
    data = h264_clip.path.read_bytes()  # PyAV writes the moov index at the end
    h264_clip.path.write_bytes(data[: len(data) * 6 // 10])
    assert "truncated" in str(open_error(h264_clip.path))


def test_truncated_faststart_mp4_yields_the_frames_it_still_holds(
    make_video: MakeVideo, caplog: pytest.LogCaptureFixture
) -> None:
    clip = make_video("fast.mp4", count=30, container_options={"movflags": "faststart"})
    data = clip.path.read_bytes()
    clip.path.write_bytes(data[: len(data) * 6 // 10])
    with caplog.at_level(logging.WARNING, logger="vstyle.capture.file"), FileSource(clip.path) as source:
        assert source.info.frame_count == 30  # what the header announces
        frames = list(source)
    assert 0 < len(frames) < 30
    assert [f.index for f in frames] == list(range(len(frames)))
    assert "truncated" in caplog.text


def test_garbage_in_the_middle_is_skipped_and_counted(
    h264_clip: Clip, caplog: pytest.LogCaptureFixture
) -> None:
    data = h264_clip.path.read_bytes()
    middle, tenth = len(data) // 2, len(data) // 10
    h264_clip.path.write_bytes(overwrite(data, middle - tenth, middle + tenth))
    with caplog.at_level(logging.WARNING, logger="vstyle.capture.file"), FileSource(h264_clip.path) as source:
        frames = list(source)
        skipped = source.corrupt_packets
    assert 0 < len(frames) < len(h264_clip.frames)
    assert skipped > 0
    assert all(f.image.shape == (64, 96, 3) for f in frames)
    assert "skipped" in caplog.text


def test_file_with_no_decodable_frame_fails_to_open(make_video: MakeVideo) -> None:
    clip = make_video("fast.mp4", count=10, container_options={"movflags": "faststart"})
    data = clip.path.read_bytes()
    start = data.index(b"mdat") + 4  # index intact, every packet garbage
    clip.path.write_bytes(overwrite(data, start, len(data)))
    error = open_error(clip.path)
    assert "no decodable video frames" in str(error)

"""VideoFileSink: timing, staging under a temporary name, refusals, sizes."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import decode, make_clip, pattern

from vstyle.capture.base import SourceInfo
from vstyle.errors import SinkError
from vstyle.frames import Frame
from vstyle.sinks import VideoFileSink

INFO = SourceInfo(width=64, height=48, fps=Fraction(25), time_base=Fraction(1, 25))


def seconds(frames: list[Frame]) -> list[Fraction]:
    """Exact presentation times (``Frame.time`` is a float)."""
    return [Fraction(f.pts) * f.time_base for f in frames]  # type: ignore[operator]


def frames_at(stamps: list[int], time_base: Fraction, size: tuple[int, int] = (64, 48)) -> list[Frame]:
    width, height = size
    return [Frame(pattern(i, height, width), i, stamp, time_base) for i, stamp in enumerate(stamps)]


def write_all(path: Path, info: SourceInfo, frames: list[Frame], **options: object) -> VideoFileSink:
    with VideoFileSink(path, threads=1, **options) as sink:
        sink.open(info)
        for frame in frames:
            sink.write(frame)
    return sink


def smooth(index: int) -> np.ndarray:
    """A picture without sharp edges, so 4:2:0 chroma keeps it close: flat colour plus soft gradients."""
    y, x = np.mgrid[0:48, 0:64]
    image = np.empty((48, 64, 3), np.uint8)
    image[..., 0] = 200 - x - index
    image[..., 1] = 30 + y + index * 2
    image[..., 2] = 90 + (x + y) // 2
    return image


def test_round_trip_keeps_every_frame_its_timestamp_and_its_colours(tmp_path: Path) -> None:
    frames = [Frame(smooth(i), i, i, Fraction(1, 25)) for i in range(12)]
    sink = write_all(tmp_path / "out.mp4", INFO, frames, crf=12)

    assert sink.frames_written == 12
    assert sink.final_path == tmp_path / "out.mp4"
    _, decoded = decode(tmp_path / "out.mp4")
    assert seconds(decoded) == seconds(frames)
    for got, sent in zip(decoded, frames, strict=True):
        # Lossy, but the same colours: the matrix used to encode (BT.709) is tagged, so decoders use it too.
        assert np.abs(got.image.astype(int) - sent.image.astype(int)).mean() < 2


def test_variable_frame_rate_timestamps_survive(tmp_path: Path) -> None:
    stamps = [0, 40, 50, 130, 135, 300, 333, 340, 500, 517]
    source = make_clip(tmp_path / "vfr.mkv", pts=stamps, time_base=Fraction(1, 1000), audio=None)
    info, frames = decode(source)
    assert [f.pts for f in frames] == stamps  # the source really is irregular

    write_all(tmp_path / "out.mp4", info, frames)

    _, decoded = decode(tmp_path / "out.mp4")
    assert seconds(decoded) == [Fraction(s, 1000) for s in stamps]


def test_codec_time_base_is_the_sources(tmp_path: Path) -> None:
    info = SourceInfo(width=64, height=48, fps=Fraction(30000, 1001), time_base=Fraction(1, 30000))
    sink = VideoFileSink(tmp_path / "out.mp4", threads=1)
    with sink:
        sink.open(info)
        assert sink._stream is not None
        assert sink._stream.codec_context.time_base == Fraction(1, 30000)
        sink.write(Frame(pattern(0), 0, 1001, Fraction(1, 30000)))
        sink.write(Frame(pattern(1), 1, 2002, Fraction(1, 30000)))
    _, decoded = decode(tmp_path / "out.mp4")
    assert seconds(decoded) == [Fraction(1001, 30000), Fraction(2002, 30000)]


def test_frames_without_pts_are_placed_by_index_at_the_nominal_rate(tmp_path: Path) -> None:
    info = SourceInfo(width=64, height=48, fps=Fraction(10))
    frames = [Frame(pattern(i), i) for i in (0, 1, 2, 5)]  # a gap, like a dropped live frame
    write_all(tmp_path / "out.mp4", info, frames)
    _, decoded = decode(tmp_path / "out.mp4")
    assert seconds(decoded) == [Fraction(0), Fraction(1, 10), Fraction(2, 10), Fraction(5, 10)]


def test_nothing_sits_at_path_until_close(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    sink = VideoFileSink(path, threads=1)
    sink.open(INFO)
    for frame in frames_at(list(range(40)), Fraction(1, 25)):  # enough to get past the encoder's delay
        sink.write(frame)
    assert not path.exists()
    staged = [p.name for p in tmp_path.iterdir()]
    assert len(staged) == 1 and staged[0].startswith(".out.mp4.partial-") and staged[0].endswith(".mp4")

    sink.close()
    sink.close()  # idempotent

    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert len(decode(path)[1]) == 40


def test_abort_leaves_nothing_in_the_folder(tmp_path: Path) -> None:
    sink = VideoFileSink(tmp_path / "out.mp4", threads=1)
    sink.open(INFO)
    for frame in frames_at(list(range(40)), Fraction(1, 25)):
        sink.write(frame)
    assert list(tmp_path.iterdir())  # the temporary file
    sink.abort()
    sink.abort()
    assert list(tmp_path.iterdir()) == []
    assert sink.final_path is None


def test_an_error_inside_with_aborts(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="stylizer broke"), VideoFileSink(tmp_path / "out.mp4") as sink:
        sink.open(INFO)
        sink.write(frames_at([0], Fraction(1, 25))[0])
        raise RuntimeError("stylizer broke")
    assert list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_inside_with_commits_a_playable_file(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt), VideoFileSink(path, threads=1) as sink:
        sink.open(INFO)
        for frame in frames_at(list(range(7)), Fraction(1, 25)):
            sink.write(frame)
        raise KeyboardInterrupt
    _, decoded = decode(path)
    assert seconds(decoded) == [Fraction(i, 25) for i in range(7)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_closing_with_no_frames_creates_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), VideoFileSink(tmp_path / "out.mp4") as sink:
        sink.open(INFO)
    assert list(tmp_path.iterdir()) == []
    assert sink.final_path is None
    assert "no frames were written" in caplog.text


def test_odd_sizes_are_padded_to_even_by_repeating_the_edge(tmp_path: Path) -> None:
    info = SourceInfo(width=33, height=21, fps=Fraction(25), time_base=Fraction(1, 25))
    frames = frames_at(list(range(4)), Fraction(1, 25), size=(33, 21))
    write_all(tmp_path / "odd.mp4", info, frames, crf=0, pix_fmt="yuv444p")
    write_all(tmp_path / "odd420.mp4", info, frames)

    _, lossless = decode(tmp_path / "odd.mp4")
    assert lossless[0].image.shape == (21, 33, 3)  # 4:4:4 has no chroma blocks: nothing to pad
    _, decoded = decode(tmp_path / "odd420.mp4")
    assert len(decoded) == 4
    image = decoded[0].image.astype(int)
    assert image.shape == (22, 34, 3)
    assert np.abs(image[:21, :33] - frames[0].image.astype(int)).mean() < 8
    assert np.abs(image[:, 33] - image[:, 32]).mean() < 8  # the repeated column, not black
    assert np.abs(image[21] - image[20]).mean() < 8


def test_a_frame_of_another_size_is_refused(tmp_path: Path) -> None:
    sink = VideoFileSink(tmp_path / "out.mp4", threads=1)
    with sink:
        sink.open(INFO)
        sink.write(Frame(pattern(0), 0, 0, Fraction(1, 25)))
        with pytest.raises(SinkError, match=r"frame 1 is 32x32 but .* is 64x48"):
            sink.write(Frame(pattern(1, 32, 32), 1, 1, Fraction(1, 25)))
    assert len(decode(tmp_path / "out.mp4")[1]) == 1


@pytest.mark.parametrize("stamps", [[0, 3, 3], [0, 5, 2]], ids=["repeated", "backwards"])
def test_a_pts_that_does_not_increase_is_a_clear_error(tmp_path: Path, stamps: list[int]) -> None:
    sink = VideoFileSink(tmp_path / "out.mp4", threads=1)
    sink.open(INFO)
    sink.write(Frame(pattern(0), 0, stamps[0], Fraction(1, 25)))
    sink.write(Frame(pattern(1), 1, stamps[1], Fraction(1, 25)))
    with pytest.raises(SinkError, match=r"frame 2 has pts \d+, not after the previous frame's \d+"):
        sink.write(Frame(pattern(2), 2, stamps[2], Fraction(1, 25)))
    sink.abort()


# -- refusals: all in open(), before any frame, leaving the folder as it was -------------------------


def test_an_existing_output_is_refused_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"precious")
    with pytest.raises(SinkError, match=r"out.mp4 exists; pass --overwrite or choose another name"):
        VideoFileSink(path).open(INFO)
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_overwrite_replaces_the_existing_output_only_on_close(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"old")
    sink = VideoFileSink(path, overwrite=True, threads=1)
    sink.open(INFO)
    sink.write(frames_at([0], Fraction(1, 25))[0])
    assert path.read_bytes() == b"old"
    sink.close()
    assert len(decode(path)[1]) == 1


def test_writing_over_the_input_is_refused_even_through_a_link(tmp_path: Path, clip: Path) -> None:
    info = decode(clip, limit=1)[0]
    for name in (clip, tmp_path / "." / "source.mp4"):
        with pytest.raises(SinkError, match="it is the input file"):
            VideoFileSink(name, overwrite=True).open(info)
    link = tmp_path / "link.mp4"
    link.symlink_to(clip)
    with pytest.raises(SinkError, match="it is the input file"):
        VideoFileSink(link, overwrite=True).open(info)


def test_a_missing_output_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"folder '.*nowhere' does not exist"):
        VideoFileSink(tmp_path / "nowhere" / "out.mp4").open(INFO)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_output_folder_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        with pytest.raises(SinkError, match=r"folder '.*locked' is not writable"):
            VideoFileSink(locked / "out.mp4").open(INFO)
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_folder_no_one_can_write_is_refused_even_for_root() -> None:
    """Permission bits let root through; the probe file proves the folder is really writable."""
    with pytest.raises(SinkError, match=r"folder '/proc' is not writable"):
        VideoFileSink(Path("/proc/out.mp4")).open(INFO)


def test_an_unknown_codec_is_refused_with_alternatives(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"unknown video encoder 'h266_magic'.*libx264"):
        VideoFileSink(tmp_path / "out.mp4", codec="h266_magic").open(INFO)
    with pytest.raises(SinkError, match="encodes audio, not video"):
        VideoFileSink(tmp_path / "out.mp4", codec="aac").open(INFO)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("out.notacontainer", "no container for the extension '.notacontainer'"),
        ("out", "no container for the extension ''"),
        ("out.png", "is an image format"),
    ],
)
def test_an_extension_without_a_video_container_is_refused(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(SinkError, match=message):
        VideoFileSink(tmp_path / name).open(INFO)
    assert list(tmp_path.iterdir()) == []


def test_a_codec_the_container_cannot_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="webm container cannot hold libx264"):
        VideoFileSink(tmp_path / "out.webm").open(INFO)
    assert list(tmp_path.iterdir()) == []


def test_other_containers_and_codecs_work(tmp_path: Path) -> None:
    frames = frames_at(list(range(3)), Fraction(1, 25))
    write_all(tmp_path / "out.mkv", INFO, frames, codec="ffv1", pix_fmt="yuv444p", crf=None, preset=None)
    _, decoded = decode(tmp_path / "out.mkv")
    assert len(decoded) == 3
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert container.streams.video[0].codec_context.name == "ffv1"


def test_options_the_encoder_ignores_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="vstyle.sinks"):
        write_all(tmp_path / "out.mp4", INFO, frames_at([0, 1], Fraction(1, 25)), codec="mpeg4")
    assert "encoder mpeg4 does not use crf=18, preset=veryfast" in caplog.text
    assert len(decode(tmp_path / "out.mp4")[1]) == 2

"""TeeSink: one stream into several real outputs, each keeping its own fate."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from media import only, pattern, read_streams

from vstyle.capture.base import SourceInfo
from vstyle.frames import Frame
from vstyle.sinks import DisplaySink, ImageSequenceSink, NullSink, TeeSink, VideoFileSink

INFO = SourceInfo(width=64, height=48, fps=Fraction(25), time_base=Fraction(1, 25))


def frames(n: int) -> list[Frame]:
    return [Frame(pattern(i), i, i, Fraction(1, 25)) for i in range(n)]


def outputs(tmp_path: Path) -> tuple[VideoFileSink, ImageSequenceSink]:
    return VideoFileSink(tmp_path / "out.mp4", threads=1), ImageSequenceSink(f"{tmp_path}/frames/")


def test_every_sink_gets_every_frame(tmp_path: Path) -> None:
    video, images = outputs(tmp_path)
    counter = NullSink()
    with TeeSink([video, images, counter]) as tee:
        tee.open(INFO)
        for frame in frames(6):
            tee.write(frame)
    assert len(only(read_streams(tmp_path / "out.mp4"), "video").times) == 6
    assert len(list((tmp_path / "frames").glob("*.png"))) == 6
    assert counter.frames == 6


def write_then_raise(tmp_path: Path, count: int, error: BaseException) -> None:
    """Write ``count`` frames through a tee of a video file and an image folder, then raise ``error``."""
    with pytest.raises(type(error)), TeeSink(list(outputs(tmp_path))) as tee:
        tee.open(INFO)
        for frame in frames(count):
            tee.write(frame)
        raise error


def test_an_error_discards_every_output(tmp_path: Path) -> None:
    write_then_raise(tmp_path, 3, RuntimeError("the network failed"))
    assert not (tmp_path / "out.mp4").exists()
    assert not list(tmp_path.rglob("*.png")) and not list(tmp_path.glob("*.mp4*"))


def test_ctrl_c_keeps_what_every_output_has_and_says_so(tmp_path: Path) -> None:
    video, images = outputs(tmp_path)
    tee = TeeSink([video, NullSink(), images])
    with pytest.raises(KeyboardInterrupt), tee:
        tee.open(INFO)
        for frame in frames(4):
            tee.write(frame)
        raise KeyboardInterrupt
    assert len(only(read_streams(tmp_path / "out.mp4"), "video").times) == 4
    assert len(list((tmp_path / "frames").glob("*.png"))) == 4
    assert tee.kept() == [f"4 frames in {tmp_path / 'out.mp4'}", f"4 images in {tmp_path / 'frames'}"]


def test_what_is_kept_when_nothing_was_written_or_no_file_is_involved(tmp_path: Path) -> None:
    video, images = outputs(tmp_path)
    tee = TeeSink([video, images])
    with pytest.raises(KeyboardInterrupt), tee:
        tee.open(INFO)
        raise KeyboardInterrupt
    assert tee.kept() == [] and not (tmp_path / "out.mp4").exists()
    assert TeeSink([NullSink()]).kept() is None, "a sink that writes no file keeps nothing to name"


def test_one_failing_close_still_closes_the_others_then_raises(tmp_path: Path) -> None:
    class Broken(NullSink):
        def close(self) -> None:
            raise OSError("device gone")

    video, _ = outputs(tmp_path)
    with pytest.raises(OSError, match="device gone"), TeeSink([Broken(), video]) as tee:
        tee.open(INFO)
        tee.write(frames(1)[0])
    assert len(only(read_streams(tmp_path / "out.mp4"), "video").times) == 1


def test_a_closed_window_stops_the_tee(monkeypatch: pytest.MonkeyPatch) -> None:
    pygame = pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    with TeeSink([NullSink(), DisplaySink()]) as tee:
        tee.open(INFO)
        tee.write(frames(1)[0])
        assert not tee.wants_stop
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        tee.write(frames(2)[1])
        assert tee.wants_stop


def test_a_tee_needs_a_sink() -> None:
    with pytest.raises(ValueError, match="at least one sink"):
        TeeSink([])

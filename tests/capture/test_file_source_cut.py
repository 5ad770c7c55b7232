"""FileSource cuts (``start``/``end``): the frames shown in the cut, re-timed from 0, after a seek."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media import make_clip

from vstyle.capture import FileSource, SourceInfo
from vstyle.errors import ConfigError, SourceError
from vstyle.frames import Frame


def read(path: Path, **cut: object) -> tuple[list[Frame], SourceInfo]:
    with FileSource(path, **cut) as source:  # type: ignore[arg-type]
        return list(source), source.info


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s at 25 fps with a key frame every 10 frames, so a cut starts between key frames."""
    folder = tmp_path_factory.mktemp("cut")
    return make_clip(folder / "clip.mp4", frames=100, size=(64, 48), fps=25, audio=None, keyint=10)


def test_a_cut_holds_exactly_the_frames_shown_in_it_retimed_from_zero(
    clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whole, _ = read(clip)
    with caplog.at_level(logging.WARNING):
        cut, info = read(clip, start=1.3, end=Fraction(5, 2))  # frames 33 (1.32 s) to 62 (2.48 s)
    assert caplog.records == [], "a cut is not a truncated file"  # fewer frames than announced, by design
    times = [f.pts * f.time_base for f in whole]
    kept = [i for i, t in enumerate(times) if Fraction(13, 10) <= t < Fraction(5, 2)]
    assert kept == list(range(33, 63))
    assert len(cut) == len(kept)
    for frame, i in zip(cut, kept, strict=True):
        # decoded after a seek to the key frame at 30: the same pixels as decoding from the top
        np.testing.assert_array_equal(frame.image, whole[i].image)
    assert [f.index for f in cut] == list(range(len(kept)))
    assert [f.pts * f.time_base for f in cut] == [times[i] - times[33] for i in kept]
    assert info.time_offset == times[33] == Fraction(33, 25)
    assert abs(info.frame_count - len(kept)) <= 1  # an estimate at the nominal rate


def test_an_end_alone_keeps_the_file_timeline(clip: Path) -> None:
    whole, _ = read(clip)
    cut, info = read(clip, end=1)
    assert info.time_offset == 0
    assert [f.pts for f in cut] == [f.pts for f in whole[:25]]


def test_a_cut_starts_from_the_players_zero_when_the_stream_does_not(tmp_path: Path) -> None:
    # Streams that begin at 1.4 s (as MPEG-TS captures do): a cut at 1 s means one second into the
    # clip, as FFmpeg's -ss has it, not the frame stamped 1 s.
    late = make_clip(tmp_path / "late.mkv", pts=range(35, 85), size=(64, 48), fps=25, audio=None, keyint=10)
    whole, _ = read(late)
    assert whole[0].pts * whole[0].time_base == Fraction(7, 5)
    cut, info = read(late, start=1)
    assert len(cut) == 25
    np.testing.assert_array_equal(cut[0].image, whole[25].image)
    assert info.time_offset == whole[25].pts * whole[25].time_base


def test_a_start_past_the_end_says_how_long_the_video_is(clip: Path) -> None:
    with pytest.raises(SourceError, match=r"nothing to read from 9 s on, its video ends at 4\.000 s"):
        read(clip, start=9)


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        ({"start": 2, "end": 2}, "not after its start"),
        ({"start": 3, "end": 1.5}, "not after its start"),
        ({"start": -1}, "start must be a time in seconds"),
        ({"end": 0}, "not after its start"),
    ],
)
def test_a_cut_that_holds_no_time_is_refused_before_opening(
    clip: Path, cut: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        FileSource(clip, **cut)  # type: ignore[arg-type]

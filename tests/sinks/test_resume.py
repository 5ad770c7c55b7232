"""Continuing an interrupted video render: the joined file equals one written in a single run."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import pytest
from media import make_clip, only, read_streams

from vstyle.capture.file import FileSource
from vstyle.errors import EndReached, SinkError, SourceError
from vstyle.sinks import VideoFileSink
from vstyle.sinks.resume import RECORD_KEY, read_partial

JOB = {"model": "abc", "height": None}
#: A variable-rate clip: 25 frames over 2.5 s with gaps (pts in 1/25 s).
VFR = [0, 1, 2, 4, 5, 9, 10, 11, 12, 20, 21, 22, 30, 31, 32, 33, 40, 41, 50, 51, 52, 53, 54, 60, 61]


def write(clip: Path, out: Path, *, stop_after: int | None = None, job=JOB, **cut) -> None:
    """Write ``clip``'s own frames to ``out`` (no network: the sink is what is tested); Ctrl-C after
    ``stop_after`` frames, as a user would."""
    try:
        with FileSource(clip, **cut) as source, VideoFileSink(out, record=job) as sink:
            sink.open(source.info)
            for index, frame in enumerate(source):
                sink.write(frame)
                if index + 1 == stop_after:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass


def resume(clip: Path, out: Path, *, job=JOB, **cut) -> VideoFileSink:
    partial = read_partial(out)
    with (
        FileSource(clip, after=partial.after, offset=partial.time_offset, **cut) as source,
        VideoFileSink(out, record=job, resume=True) as sink,
    ):
        sink.open(source.info)
        for frame in source:
            sink.write(frame)
    return sink


@pytest.mark.parametrize(
    "cut", [{}, {"start": Fraction(3, 10), "end": Fraction(21, 10)}], ids=["whole", "cut"]
)
@pytest.mark.parametrize("stop_after", [1, 4, 10])
def test_a_continued_file_has_the_frame_times_and_sound_of_one_run(
    tmp_path: Path, cut: dict, stop_after: int
) -> None:
    clip = make_clip(tmp_path / "vfr.mp4", frames=len(VFR), pts=VFR, keyint=5)
    whole, out = tmp_path / "whole.mp4", tmp_path / "out.mp4"
    write(clip, whole, **cut)
    write(clip, out, stop_after=stop_after, **cut)
    assert len(only(read_streams(out), "video").times) == stop_after
    sink = resume(clip, out, **cut)

    expected, joined = read_streams(whole), read_streams(out)
    assert only(joined, "video").times == only(expected, "video").times  # every frame, decodable
    assert only(joined, "audio").payloads == only(expected, "audio").payloads  # no gap, no repeat
    assert only(joined, "audio").times == only(expected, "audio").times
    assert sink.resumed_frames == stop_after and sink.kept() == [
        f"{len(only(expected, 'video').times)} frames in {out}"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "vfr.mp4", "whole.mp4"]


def test_the_first_part_is_copied_not_encoded_again(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out.mp4"
    write(clip, out, stop_after=7)
    with av.open(str(out)) as container:
        before = [bytes(p) for p in container.demux(video=0) if p.size]
    resume(clip, out)
    with av.open(str(out)) as container:
        after = [bytes(p) for p in container.demux(video=0) if p.size]
    assert after[:7] == before and len(after) == 20


def test_the_record_is_in_the_file(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out.mp4"
    write(clip, out)
    with av.open(str(out)) as container:
        record = json.loads(container.metadata[RECORD_KEY])
    assert record["job"]["model"] == "abc" and record["job"]["video"]["size"] == [64, 48]
    assert record["job"]["video"]["crf"] == 18 and record["time_offset"] == "0"


def test_other_settings_are_refused_and_the_file_left_alone(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out.mp4"
    write(clip, out, stop_after=5)
    before = out.read_bytes()
    with pytest.raises(SinkError, match=r"cannot continue .*model differs .*--overwrite"):
        resume(clip, out, job={**JOB, "model": "another"})
    partial = read_partial(out)
    with (
        FileSource(clip, after=partial.after, offset=partial.time_offset) as source,
        VideoFileSink(out, record=JOB, resume=True, crf=23) as sink,
        pytest.raises(SinkError, match="crf differs"),
    ):
        sink.open(source.info)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "source.mp4"]


@pytest.mark.parametrize(
    ("stop", "new_frames", "kept"),
    [
        (RuntimeError("the network failed"), 1, None),  # an error: the new part is discarded
        (KeyboardInterrupt(), 0, "5 frames in {out} (as they were)"),  # Ctrl-C before a new frame
    ],
    ids=["error", "ctrl-c-before-a-frame"],
)
def test_a_continuation_that_ends_early_leaves_the_first_part(
    tmp_path: Path, clip: Path, stop: BaseException, new_frames: int, kept: str | None
) -> None:
    out = tmp_path / "out.mp4"
    write(clip, out, stop_after=5)
    before = out.read_bytes()
    partial = read_partial(out)
    with (
        pytest.raises(type(stop)),
        FileSource(clip, after=partial.after, offset=partial.time_offset) as source,
        VideoFileSink(out, record=JOB, resume=True) as sink,
    ):
        sink.open(source.info)
        for frame in list(source)[:new_frames]:
            sink.write(frame)
        raise stop
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "source.mp4"]
    if kept is not None:
        assert sink.kept() == [kept.format(out=out)]


def test_a_finished_file_has_nothing_after_it(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out.mp4"
    write(clip, out)
    partial = read_partial(out)
    with pytest.raises(EndReached), FileSource(clip, after=partial.after, offset=partial.time_offset):
        pass


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("out.mkv", "vstyle", "works for MP4 and MOV files"),
        ("out.mp4", "other", "carries no record of a vstyle render"),
        ("out.mp4", "text", "does not open as a video"),
    ],
)
def test_files_that_cannot_be_continued(
    tmp_path: Path, clip: Path, name: str, make: str, message: str
) -> None:
    out = tmp_path / name
    if make == "vstyle":
        write(clip, out, stop_after=3)
    elif make == "other":
        make_clip(out, frames=3)
    else:
        out.write_text("not a video")
    with pytest.raises(SinkError, match=message):
        read_partial(out)


def test_a_frame_close_after_the_last_one_is_not_lost(tmp_path: Path) -> None:
    # 25 fps nominal, but frames 4 ms apart in places: the join must not take one for the other.
    stamps = [0, 40, 44, 80, 120, 124, 128, 160, 200, 204]
    clip = make_clip(tmp_path / "burst.mp4", frames=len(stamps), pts=stamps, time_base=Fraction(1, 1000))
    whole, out = tmp_path / "whole.mp4", tmp_path / "out.mp4"
    write(clip, whole)
    for stop_after in (2, 5):
        out.unlink(missing_ok=True)
        write(clip, out, stop_after=stop_after)
        resume(clip, out)
        assert only(read_streams(out), "video").times == only(read_streams(whole), "video").times


def test_a_stream_that_cannot_seek_is_refused_not_taken_as_finished(tmp_path: Path) -> None:
    raw = make_clip(tmp_path / "raw.h264", frames=12, audio=None)
    with pytest.raises(SourceError, match="cannot continue a render of .*cannot seek.*-c copy"):
        with FileSource(raw, after=Fraction(1, 5), offset=Fraction(0)):
            pass

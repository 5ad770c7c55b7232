"""VideoFileSink copies the source's audio (and other streams) unchanged, interleaved with the video."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import pytest
from media import AUDIO_RATE, decode, make_clip, only, read_streams

from vstyle.capture.base import SourceInfo
from vstyle.frames import Frame
from vstyle.sinks import VideoFileSink


def render(source: Path, out: Path, limit: int | None = None, **options: object) -> list[Frame]:
    """Decode ``source`` like a file source and write its frames (up to ``limit``) to ``out``."""
    info, frames = decode(source, limit=limit)
    with VideoFileSink(out, threads=1, **options) as sink:
        sink.open(info)
        for frame in frames:
            sink.write(frame)
    return frames


def exact_times(frames: list[Frame]) -> list[Fraction]:
    return [Fraction(f.pts) * f.time_base for f in frames]  # type: ignore[operator]


@pytest.mark.parametrize("codec", ["aac", "libopus"])
def test_audio_is_copied_packet_for_packet(tmp_path: Path, codec: str) -> None:
    source = make_clip(tmp_path / "source.mp4", frames=25, audio=codec)
    frames = render(source, tmp_path / "out.mp4")

    before, after = read_streams(source), read_streams(tmp_path / "out.mp4")
    audio_in, audio_out = only(before, "audio"), only(after, "audio")
    assert audio_out.codec == audio_in.codec
    assert len(audio_out.payloads) == len(audio_in.payloads) > 30
    assert audio_out.payloads == audio_in.payloads  # byte-identical: copied, not re-encoded
    assert audio_out.times == audio_in.times
    frame_length = Fraction(960 if codec == "libopus" else 1024, AUDIO_RATE)
    assert abs(audio_out.end - audio_in.end) <= frame_length
    video = only(after, "video")
    assert video.times == exact_times(frames)  # every frame decodes, at its source time


def test_audio_survives_a_variable_frame_rate_source(tmp_path: Path) -> None:
    stamps = [0, 40, 50, 130, 135, 300, 333, 340, 500, 517, 700]
    source = make_clip(tmp_path / "vfr.mp4", pts=stamps, time_base=Fraction(1, 1000), audio_seconds=0.75)
    frames = render(source, tmp_path / "out.mp4")

    before, after = read_streams(source), read_streams(tmp_path / "out.mp4")
    assert only(after, "video").times == exact_times(frames) == [Fraction(s, 1000) for s in stamps]
    assert only(after, "audio").payloads == only(before, "audio").payloads


def test_audio_is_interleaved_with_the_video_not_appended(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "source.mp4", frames=50)
    render(source, tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as container:
        order = [packet.stream.type for packet in container.demux() if packet.size]
    halfway = order[: len(order) // 2]
    assert halfway.count("audio") > 10 and halfway.count("video") > 10


def test_audio_running_past_the_last_frame_is_copied_whole(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "source.mp4", frames=10, audio_seconds=1.5)  # 0.4 s of video
    render(source, tmp_path / "out.mp4")
    before, after = read_streams(source), read_streams(tmp_path / "out.mp4")
    assert only(after, "audio").payloads == only(before, "audio").payloads
    assert only(after, "audio").end == only(before, "audio").end


def test_a_render_that_stops_early_keeps_the_audio_up_to_its_last_frame(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "source.mp4", frames=40)  # 1.6 s
    frames = render(source, tmp_path / "out.mp4", limit=15)  # 0.6 s, closed normally

    before, after = read_streams(source), read_streams(tmp_path / "out.mp4")
    video_end = exact_times(frames)[-1] + Fraction(1, 25)
    audio_in, audio_out = only(before, "audio"), only(after, "audio")
    assert audio_out.payloads == audio_in.payloads[: len(audio_out.payloads)]  # a prefix, unchanged
    assert video_end <= audio_out.end <= video_end + Fraction(1024, AUDIO_RATE)


def test_keyboard_interrupt_leaves_a_playable_file_with_audio_up_to_the_last_frame(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "source.mp4", frames=40)
    info, frames = decode(source)
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt), VideoFileSink(out, threads=1) as sink:
        sink.open(info)
        for frame in frames[:12]:
            sink.write(frame)
        raise KeyboardInterrupt

    before, after = read_streams(source), read_streams(out)
    assert only(after, "video").times == exact_times(frames[:12])  # all of it decodes
    video_end = exact_times(frames)[11] + Fraction(1, 25)
    audio_out = only(after, "audio")
    assert audio_out.payloads == only(before, "audio").payloads[: len(audio_out.payloads)]
    assert video_end <= audio_out.end <= video_end + Fraction(1024, AUDIO_RATE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "source.mp4"]


def test_a_stream_the_container_cannot_hold_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = make_clip(tmp_path / "source.mp4", frames=5)  # AAC, which WebM cannot hold
    with caplog.at_level(logging.WARNING, logger="vstyle.sinks"):
        render(source, tmp_path / "out.webm", codec="libvpx-vp9", crf=40, preset=None)
    assert "not copying #1 audio aac" in caplog.text and "webm container cannot hold it" in caplog.text
    after = read_streams(tmp_path / "out.webm")
    assert [report.kind for report in after] == ["video"]
    assert len(only(after, "video").times) == 5


def test_copy_streams_false_writes_the_video_alone(tmp_path: Path, clip: Path) -> None:
    render(clip, tmp_path / "out.mp4", copy_streams=False)
    assert [report.kind for report in read_streams(tmp_path / "out.mp4")] == ["video"]


def test_a_live_or_pathless_source_has_nothing_to_copy(tmp_path: Path, clip: Path) -> None:
    info, frames = decode(clip, limit=3)
    for name, source_info in [
        ("live.mp4", SourceInfo(64, 48, info.fps, None, info.time_base, live=True, path=clip)),
        ("pathless.mp4", SourceInfo(64, 48, info.fps, None, info.time_base)),
    ]:
        with VideoFileSink(tmp_path / name, threads=1) as sink:
            sink.open(source_info)
            for frame in frames:
                sink.write(frame)
        assert [report.kind for report in read_streams(tmp_path / name)] == ["video"]


@pytest.mark.parametrize("name", ["fox.mp4", "sam2_01_dog.mp4"])
def test_real_clip_keeps_its_other_streams(tmp_path: Path, videos_dir: Path, name: str) -> None:
    source = videos_dir / name
    if not source.exists():
        pytest.skip(f"{source} is absent")
    frames = render(source, tmp_path / "out.mp4", limit=60)

    after = read_streams(tmp_path / "out.mp4")
    assert only(after, "video").times == exact_times(frames)
    video_end = exact_times(frames)[-1]
    audio_in = [report for report in read_streams(source, decode_video=False) if report.kind == "audio"]
    audio_out = [report for report in after if report.kind == "audio"]
    assert len(audio_out) == len(audio_in)  # fox.mp4 has no audio track; the dog clip has AAC
    for copied, original in zip(audio_out, audio_in, strict=True):
        assert copied.codec == original.codec
        assert copied.payloads == original.payloads[: len(copied.payloads)]
        assert video_end < copied.end < video_end + Fraction(1, 10)

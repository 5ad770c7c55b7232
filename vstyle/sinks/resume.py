"""Continuing an interrupted video render: the record a video file carries, and what it holds.

Every video :class:`~vstyle.sinks.video.VideoFileSink` writes a record of the render into the
file's metadata (key :data:`RECORD_KEY`, JSON): what was rendered (the caller's ``job``: input,
model, size, cut …), how it was encoded, and the shift of the source's timeline. An interrupted
render commits a playable file of what was done (Ctrl-C, SIGTERM, SIGHUP); that file and the
record are enough to go on later: the source is read from the first frame after the file's last
one, the file's packets are copied into a new file unchanged (no second encode), and the new
frames are encoded after them on the same timeline. A file whose record differs from what the
command asks for is never continued: two halves made differently would not be one render.

MP4 and MOV keep a metadata key of their own only with ``movflags=use_metadata_tags`` (set by the
sink); Matroska and WebM keep any key, upper-cased, which :func:`read_record` accepts too. Only MP4
and MOV files are continued: they keep every timestamp as written (edit lists for a start before
0), where Matroska moves a whole file's timestamps when a stream starts before 0 (AAC priming), so
the two parts would not line up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container

from vstyle.errors import SinkError

#: The metadata key of the record.
RECORD_KEY = "vstyle_render"
#: Version of the record's layout; a file with another is not continued.
RECORD_FORMAT = 1


@dataclass(frozen=True)
class PartialRender:
    """What an earlier render left in a video file.

    Attributes:
        path: the file.
        record: the record it carries (``format``, ``job``, ``time_offset``).
        frames: video frames it holds.
        first_time: presentation time of its first frame, in seconds of the file.
        last_time: presentation time of its last frame, in seconds of the file.
        time_base: the time base its video was stored in (its times are multiples of it).
    """

    path: Path
    record: dict[str, Any]
    frames: int
    first_time: Fraction
    last_time: Fraction
    time_base: Fraction

    @property
    def time_offset(self) -> Fraction:
        """Seconds of the source's own timeline that the file's 0 s stands for."""
        return Fraction(self.record["time_offset"])

    @property
    def after(self) -> Fraction:
        """The last frame's time on the source's own timeline, plus half a tick of the file's time
        base (which rounded it): the source goes on with the frames after this moment."""
        return self.last_time + self.time_offset + self.time_base / 2


def read_record(container: av.container.Container) -> dict[str, Any] | None:
    """The render record of an open container, or ``None`` when it has none."""
    for key, value in container.metadata.items():
        if key.lower() == RECORD_KEY:
            try:
                record = json.loads(value)
            except ValueError:
                return None
            return record if isinstance(record, dict) else None
    return None


def read_partial(path: Path) -> PartialRender:
    """Read what an earlier render wrote to ``path`` (its record and the times of its frames).

    Raises:
        SinkError: the file does not open, holds no video, or carries no vstyle record of this
            format; the message says what to do instead.
    """
    shown = str(path)
    try:
        container = av.open(shown, "r")
    except (av.FFmpegError, OSError) as error:
        raise SinkError(
            f"cannot continue {shown}: it does not open as a video ({error}); pass --overwrite to "
            "render it again from the start"
        ) from error
    with container:
        record = read_record(container)
        if record is None or record.get("format") != RECORD_FORMAT or "job" not in record:
            raise SinkError(
                f"cannot continue {shown}: it carries no record of a vstyle render to go on from "
                f"(written by another program or an older vstyle); pass --overwrite to render it again"
            )
        if not {"mov", "mp4"} & set(container.format.name.split(",")):
            # Matroska and WebM store no decoding times and move a whole file's timestamps when a
            # stream starts before 0 (AAC and Opus priming), so the two parts would not line up.
            raise SinkError(
                f"cannot continue {shown}: continuing a render works for MP4 and MOV files, not "
                f"{container.format.long_name or container.format.name}; pass --overwrite to render it again"
            )
        if not container.streams.video:
            raise SinkError(
                f"cannot continue {shown}: it holds no video; pass --overwrite to render it again"
            )
        stream = container.streams.video[0]
        times = sorted(
            packet.pts for packet in container.demux(stream) if packet.pts is not None and packet.size
        )
    if not times or stream.time_base is None:
        raise SinkError(
            f"cannot continue {shown}: it holds no video frame; pass --overwrite to render it again"
        )
    time_base = Fraction(stream.time_base)
    return PartialRender(path, record, len(times), times[0] * time_base, times[-1] * time_base, time_base)


def check_same_job(partial: PartialRender, job: dict[str, Any], *, compare_size: bool = True) -> None:
    """Refuse to continue ``partial`` with another job than the one that wrote it.

    Raises:
        SinkError: naming the settings that differ.
    """
    recorded = partial.record["job"]
    if not compare_size and isinstance(recorded.get("video"), dict):
        recorded = {**recorded, "video": {k: v for k, v in recorded["video"].items() if k != "size"}}
    changed = [name.removeprefix("video.") for name in differences(recorded, job)]
    if changed:
        raise SinkError(
            f"cannot continue {partial.path}: this command's {', '.join(changed)} "
            f"{'differs' if len(changed) == 1 else 'differ'} from the render that wrote it; run that "
            "command again, or pass --overwrite to render it anew"
        )


def differences(recorded: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> list[str]:
    """Names of the fields (``model``, ``video.crf`` …) in which two job records differ."""
    names = []
    for key in sorted(set(recorded) | set(wanted)):
        a, b = recorded.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(f"{prefix}{key}")
    return names


def join(partial: PartialRender, rest: Path, output_path: Path, options: dict[str, str]) -> int:
    """Write ``partial``'s file followed by ``rest`` (the frames rendered after it, on the same
    timeline) into ``output_path``, every packet copied unchanged; returns the video frames written.

    Both files come from the same sink settings, so their streams match one for one. Packets of
    the other streams (audio …) that ``rest`` repeats from before its start (the copier's pre-roll)
    are left out by their timestamps, which both files took from the same source.

    Raises:
        SinkError: the two files' streams differ (another encoder build made ``rest``).
    """
    shown = str(partial.path)
    with av.open(shown, "r") as first, av.open(str(rest), "r") as second:
        kinds = [
            (s.type, s.codec_context.codec.canonical_name if s.codec_context else None) for s in first.streams
        ]
        if kinds != [
            (s.type, s.codec_context.codec.canonical_name if s.codec_context else None)
            for s in second.streams
        ]:
            raise SinkError(f"cannot continue {shown}: the new part holds other streams ({kinds})")
        old_video, new_video = first.streams.video[0], second.streams.video[0]
        if old_video.time_base != new_video.time_base or bytes(
            old_video.codec_context.extradata or b""
        ) != bytes(new_video.codec_context.extradata or b""):
            raise SinkError(
                f"cannot continue {shown}: this encoder writes other parameter sets than the one that "
                "started it, so the two parts would not play as one stream; pass --overwrite to render again"
            )
        with av.open(str(output_path), "w", options=options) as output:
            output.metadata.update(second.metadata)
            streams = []
            for stream in second.streams:
                out = output.add_stream_from_template(stream)
                out.metadata.update(stream.metadata)
                out.disposition = stream.disposition
                streams.append(out)
            ends: dict[int, Fraction] = {}
            frames, last_dts = 0, None
            for number, source in enumerate((first, second)):
                for packet in source.demux():
                    if not packet.size:  # a demuxer's end-of-stream marker
                        continue
                    index, video = packet.stream.index, packet.stream.type == "video"
                    when = packet.pts * Fraction(packet.time_base) if packet.pts is not None else None
                    if number == 1 and not video and when is not None and index in ends:
                        # Already in the first part: at or before its last packet of that stream,
                        # give or take half a packet (an edit list rounds a late start).
                        duration = packet.duration * Fraction(packet.time_base) if packet.duration else 0
                        if when <= ends[index] + duration / 2:
                            continue
                    if number == 0 and when is not None:
                        ends[index] = max(ends.get(index, when), when)
                    if video:
                        frames += 1
                        if packet.dts is not None:
                            # The new part's encoder starts its decoding times a reorder delay
                            # before its first frame, which can fall before the first part's last
                            # one: move those few up, one tick apart (still before their pts, and
                            # decoders only need the order).
                            if last_dts is not None and packet.dts <= last_dts:
                                packet.dts = last_dts + 1
                            last_dts = packet.dts
                    packet.stream = streams[index]
                    output.mux(packet)
    return frames

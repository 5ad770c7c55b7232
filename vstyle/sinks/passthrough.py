"""Copying a source file's audio, subtitle and data streams into an output, packet for packet.

Only the video is stylized; everything else in the source travels unchanged (no decode, no
re-encode), so the output's audio is byte-identical to the input's. The copy advances with the
video rather than after it, which keeps the file interleaved and means an interrupted render holds
exactly the audio that belongs to the video it has.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.packet
import av.stream

from vstyle.errors import SinkError

logger = logging.getLogger(__name__)

#: Packets that end at most this long before the first video frame are still copied: cameras and
#: encoders often start audio slightly before the picture (AAC priming, pre-roll).
PREROLL = Fraction(1, 2)


class StreamCopier:
    """Copies the non-video streams of a media file into an output container without re-encoding.

    Output streams are added from the source's streams as templates when the copier is built, so it
    must be built before the output's header is written (before the first packet is muxed). Streams
    the output container cannot hold (AAC in WebM, a QuickTime timecode track in MP4) are skipped with
    a warning. Video streams are never copied: the stylized video replaces them.

    Times are exact fractions of a second on the source's own timeline: the video frames written
    beside the copy must carry the pts the source's decoder gave them for the two to stay in sync.

    A cut of the source (:attr:`~vstyle.capture.SourceInfo.time_offset`) moves every copied packet
    back by the same offset as the video, and copies no packet that ends before the cut (no pre-roll:
    the cut is where the user asked the sound to begin).

    Args:
        source: the media file the video came from.
        output: an output container that has not written its header yet.
        offset: seconds of the source's timeline the video's timestamps were shifted back by.

    Raises:
        SinkError: the source cannot be opened for reading.
    """

    def __init__(
        self, source: Path, output: av.container.OutputContainer, offset: Fraction = Fraction(0)
    ) -> None:
        self._source_path = source
        self._output = output
        self._offset = Fraction(offset)
        self._preroll = PREROLL if not offset else Fraction(0)
        try:
            self._input = av.open(str(source), "r")
        except (av.FFmpegError, OSError) as error:
            raise SinkError(
                f"cannot copy the audio and other streams of {str(source)!r}: it does not open as a media "
                f"file ({error}); pass copy_streams=False to write the video alone"
            ) from error
        self._routes: dict[int, av.stream.Stream] = {}
        self._names: dict[int, str] = {}
        self._video_indices: set[int] = set()
        self._pending: av.packet.Packet | None = None
        self._packets: Iterator[av.packet.Packet] | None = None
        self._exhausted = False
        self._start: Fraction | None = None
        self._latest_video: Fraction | None = None  # latest source video pts passed over, in seconds
        self._closed = False
        self.packets_copied = 0
        try:
            self._add_streams()
            if self._routes and offset > 0:
                self.seek(self._offset)
        except BaseException:
            self.close()
            raise

    @property
    def time_bases(self) -> list[Fraction]:
        """The time bases of the streams being copied, as the source has them."""
        return [Fraction(stream.time_base) for stream in self._routes.values()]

    @property
    def copied_streams(self) -> list[str]:
        """Descriptions of the streams being copied, e.g. ``["#1 audio aac"]``."""
        return [self._names[index] for index in self._routes]

    def _add_streams(self) -> None:
        format_name = self._output.format.name
        for stream in self._input.streams:
            if stream.type == "video":
                self._video_indices.add(stream.index)
                continue
            reason = _refusal(format_name, stream)
            if reason is not None:
                logger.warning(
                    "not copying %s of %s: the %s container cannot hold it (%s)",
                    _describe(stream),
                    self._source_path,
                    format_name,
                    reason,
                )
                continue
            out = self._output.add_stream_from_template(stream)
            out.metadata.update(stream.metadata)
            out.disposition = stream.disposition
            self._routes[stream.index] = out
            self._names[stream.index] = _describe(stream)
        if self._routes:
            logger.info("copying %s from %s unchanged", ", ".join(self.copied_streams), self._source_path)
        else:
            self.close()  # nothing to copy: release the file now

    def seek(self, offset: Fraction) -> None:
        """Start demuxing a little before ``offset`` seconds (on the source's own timeline) instead
        of at the top of the file; call before the first :meth:`copy_until`."""
        if not self._routes:  # nothing to copy: the source is closed already
            return
        target = max(Fraction(0), offset - 1)  # a second early: interleaving is rarely coarser
        try:
            self._input.seek(math.floor(target * av.time_base), backward=True)
        except av.FFmpegError as error:  # unseekable: reading from the top costs time, not correctness
            logger.debug(
                "%s: cannot seek to %.3f s (%s); copying from the top", self._source_path, target, error
            )

    def start(self, first_video_time: Fraction) -> None:
        """Set where the video starts; packets ending more than :data:`PREROLL` before are dropped.

        Args:
            first_video_time: presentation time of the first written frame, in seconds.
        """
        self._start = first_video_time

    def copy_until(self, until: Fraction) -> None:
        """Mux every packet that starts at or before ``until`` seconds and was not muxed yet."""
        while (packet := self._peek()) is not None:
            when = self._time(packet)
            if when is not None and when > until:
                return
            self._pending = None
            self._mux(packet)

    def finish(self, *, last_frame_time: Fraction, video_end: Fraction, stopped_early: bool) -> None:
        """Copy what is left once the video is complete.

        Packets up to ``video_end`` are always copied. The rest of the source (audio that runs past
        the last frame) is copied too, unless the render stopped early: ``stopped_early`` says so
        outright (an interrupt), and so does a source video packet later than ``last_frame_time``
        (the source had frames that were never written).

        Args:
            last_frame_time: presentation time of the last written frame, in seconds.
            video_end: when that frame stops being shown, in seconds.
            stopped_early: the caller knows the render ended before its source did.
        """
        self.copy_until(video_end)
        tail: list[av.packet.Packet] = []
        if not stopped_early:
            # Read on, holding the packets back until it is clear that no source frame comes after
            # the last written one (in an interleaved file such a frame shows up within a second).
            for packet in self._remaining():
                if self._source_went_on(last_frame_time):
                    break
                tail.append(packet)
        if stopped_early or self._source_went_on(last_frame_time):
            logger.info(
                "the video ended before its source did; other streams are copied up to %.3f s",
                float(video_end),
            )
            return
        for packet in tail:
            self._mux(packet)

    def _source_went_on(self, last_frame_time: Fraction) -> bool:
        return self._latest_video is not None and self._latest_video > last_frame_time

    def close(self) -> None:
        """Release the source file; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pending = None
        self._packets = None
        self._input.close()

    # -- internals -----------------------------------------------------------------------------

    def _peek(self) -> av.packet.Packet | None:
        if self._pending is None:
            self._pending = next(self._remaining(), None)
        return self._pending

    def _remaining(self) -> Iterator[av.packet.Packet]:
        """The source's packets to copy not yet consumed, in file order.

        Video packets are passed over (noting the latest one's time), as are the demuxer's flush
        packets and packets that end before the video starts.
        """
        if self._pending is not None:
            yield self._pending
            self._pending = None
        if self._closed or not self._routes:
            return
        if self._packets is None:
            self._packets = self._input.demux()
        for packet in self._packets:
            index = packet.stream.index
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            if index in self._video_indices:
                when = self._time(packet)
                if when is not None and (self._latest_video is None or when > self._latest_video):
                    self._latest_video = when
                continue
            if index not in self._routes or self._before_start(packet):
                continue
            yield packet

    def _before_start(self, packet: av.packet.Packet) -> bool:
        if self._start is None:
            return False
        when = self._time(packet)
        if when is None:
            return False
        end = when + (packet.duration or 0) * packet.time_base
        return end < self._start - self._preroll

    def _time(self, packet: av.packet.Packet) -> Fraction | None:
        """When the packet starts on the output's timeline (the source's, less the cut's offset)."""
        when = _start_time(packet)
        return when - self._offset if when is not None else None

    def _mux(self, packet: av.packet.Packet) -> None:
        index = packet.stream.index
        out = self._routes.get(index)
        if out is None:  # its stream was given up after a muxing error
            return
        if self._offset:
            shift = round(self._offset / packet.time_base)
            if packet.pts is not None:
                packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
        packet.stream = out
        try:
            self._output.mux_one(packet)
        except av.FFmpegError as error:
            logger.warning(
                "stopped copying %s of %s: the muxer refused its packet at pts %s (%s)",
                self._names[index],
                self._source_path,
                packet.pts,
                error,
            )
            del self._routes[index]
            return
        self.packets_copied += 1


def _start_time(packet: av.packet.Packet) -> Fraction | None:
    """When the packet starts being presented, in seconds (its dts if it has no pts)."""
    stamp = packet.pts if packet.pts is not None else packet.dts
    if stamp is None or packet.time_base is None:
        return None
    return stamp * Fraction(packet.time_base)


def _describe(stream: av.stream.Stream) -> str:
    codec = stream.codec_context.name if stream.codec_context is not None else getattr(stream, "name", None)
    return f"#{stream.index} {stream.type} {codec or 'without codec'}"


def _refusal(format_name: str, stream: av.stream.Stream) -> str | None:
    """Why a ``format_name`` container cannot hold ``stream``, or ``None`` when it can.

    FFmpeg only knows for sure once it writes a header, so this writes one to memory: an output of the
    same format holding just this stream.
    """
    try:
        with av.open(io.BytesIO(), "w", format=format_name) as probe:
            probe.add_stream_from_template(stream)
            probe.start_encoding()
    except (av.FFmpegError, ValueError) as error:
        return str(error)
    return None

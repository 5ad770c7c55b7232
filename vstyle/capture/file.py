"""Frames from a video file, decoded by FFmpeg through PyAV."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np

from vstyle.capture.base import Source, SourceInfo
from vstyle.errors import ConfigError, EndReached, SourceError
from vstyle.frames import Frame
from vstyle.hwvideo import open_input

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

__all__ = ["FileSource", "Orientation"]


@dataclass(frozen=True)
class Orientation:
    """The right-angle transform that turns decoded pixels upright, read from a display matrix.

    FFmpeg's display matrix maps a decoded pixel ``(x, y)`` to its displayed place
    ``(a·x + c·y, b·x + d·y)``. Snapped to right angles that is a transpose (when the axes swap)
    followed by flips; this matches what the ``ffmpeg`` command line does with ``-autorotate``.

    Attributes:
        transpose: swap rows and columns first.
        flip_rows: then reverse the row order (upside down).
        flip_cols: then reverse the column order (mirror).
    """

    transpose: bool = False
    flip_rows: bool = False
    flip_cols: bool = False

    @classmethod
    def from_frame(cls, frame: av.VideoFrame) -> Orientation:
        """The orientation a decoded frame's ``DISPLAYMATRIX`` side data asks for (identity if none)."""
        try:
            side_data = list(frame.side_data)
        except ValueError:
            # PyAV cannot list side data of a type it does not know (an image's ICC profile, for
            # one); its rotation property reads the display matrix alone (no flips).
            angle = math.radians(-getattr(frame, "rotation", 0) or 0)
            if not angle:
                return cls()
            c, s = math.cos(angle), math.sin(angle)
            # av_display_rotation_set's matrix, 16.16 fixed point
            matrix = np.array([c, -s, 0, s, c, 0, 0, 0, 1], dtype=np.float64) * 65536
            return cls.from_matrix(np.round(matrix).astype(np.int32))
        for entry in side_data:
            if entry.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
                return cls.from_matrix(np.frombuffer(bytes(entry), dtype=np.int32, count=9))
        return cls()

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> Orientation:
        """Orientation from FFmpeg's 3×3 display matrix (9 int32, 16.16 fixed point, row-major)."""
        a, b, c, d = (float(matrix[i]) / 65536.0 for i in (0, 1, 3, 4))
        swap = abs(b) + abs(c) > abs(a) + abs(d)
        exact = (a == 0 and d == 0) if swap else (b == 0 and c == 0)
        if not exact:
            angle = float(np.degrees(np.arctan2(b, a)))
            logger.warning(
                "display matrix rotates by %.1f degrees, not a multiple of 90; rotating to the nearest one",
                angle,
            )
        if swap:
            # displayed row follows x (sign of b), displayed column follows y (sign of c)
            return cls(transpose=True, flip_rows=b < 0, flip_cols=c < 0)
        return cls(transpose=False, flip_rows=d < 0, flip_cols=a < 0)

    @property
    def is_identity(self) -> bool:
        return not (self.transpose or self.flip_rows or self.flip_cols)

    def size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of a ``width×height`` frame once turned upright."""
        return (height, width) if self.transpose else (width, height)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Turn an ``H×W×C`` image upright; returns a new contiguous array unless identity."""
        if self.transpose:
            image = cv2.transpose(image)
        if self.flip_rows and self.flip_cols:
            return cv2.flip(image, -1)
        if self.flip_rows:
            return cv2.flip(image, 0)
        if self.flip_cols:
            return cv2.flip(image, 1)
        return image

    def apply_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """:meth:`apply` for an ``H×W×C`` torch tensor (a frame on the GPU); contiguous result."""
        if self.transpose:
            image = image.transpose(0, 1)
        dims = [d for d, flip in ((0, self.flip_rows), (1, self.flip_cols)) if flip]
        if dims:
            image = image.flip(dims)
        return image.contiguous()


class FileSource(Source):
    """Decode a video file (any container and codec FFmpeg reads) into upright 8-bit RGB frames.

    * Every pixel format (10-bit, 4:4:4, gray, RGB, …) is converted to ``uint8`` RGB, honouring the
      frame's colour matrix and range.
    * Rotation metadata (the display matrix) is applied to the pixels, so frames come out upright
      and :attr:`info` reports the upright size.
    * Timestamps are the stream's own ``pts`` in its ``time_base``; variable frame rate survives.
      Only frames without a ``pts`` get one made up from their index and the nominal rate.
    * Packets that fail to decode (a corrupt or truncated file) are skipped and counted in
      :attr:`corrupt_packets`; the file fails to open only when no frame at all can be decoded.
    * A cut (``start``/``end``, seconds on the player's timeline, which begins at 0 where the file
      begins) seeks to the key frame before ``start``, decodes on from there and keeps the frames
      shown from ``start`` up to ``end``. Their timestamps are shifted so that the first one is 0, and
      :attr:`SourceInfo.time_offset` tells sinks the shift, so copied audio moves with them.
    * Continuing an interrupted render (``after``/``offset``): only the frames after the last one
      it wrote are read, shifted as that render shifted its frames, so their timestamps carry on
      from its last one; :class:`EndReached` when none is left.

    The first frame is decoded in :meth:`open` to learn the upright size and to fail early.

    Args:
        path: the video file.
        hwaccel: ``"cuda"`` to decode on the GPU's NVDEC engine (frames are still delivered as host
            RGB); where it cannot open, a warning says why and decoding runs on the CPU.
            :attr:`decoder` tells which one ran.
        device_frames: with ``hwaccel="cuda"``, leave NVDEC's frames in GPU memory and deliver
            them as ``(H, W, 3)`` uint8 RGB CUDA tensors (torch; converted on the GPU by
            :func:`vstyle.hwvideo.device_rgb`), for a GPU backend to take with no host copy.
            Frames NVDEC cannot keep as 8-bit NV12 (10-bit, 4:4:4), and every frame where
            decoding fell back to the CPU, still come as host arrays.
        start: first moment to read, in seconds from the start of the file (default its start).
        end: moment to stop before, in seconds from the start of the file (default its end).
        after: read only frames shown later than this moment, in seconds on the file's own
            timestamps (pts × time base): the last frame an interrupted render wrote, moved by
            ``offset`` (plus half a tick of the time base it was stored in, which rounded it).
        offset: with ``after``, the :attr:`SourceInfo.time_offset` of that render, subtracted from
            every frame instead of the first kept frame's time.

    Example:
        >>> with FileSource("clip.mp4") as source:  # doctest: +SKIP
        ...     for frame in source:
        ...         print(frame.index, frame.time, frame.image.shape)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        hwaccel: str | None = None,
        device_frames: bool = False,
        start: float | Fraction | None = None,
        end: float | Fraction | None = None,
        after: Fraction | None = None,
        offset: Fraction | None = None,
    ) -> None:
        super().__init__()
        if hwaccel not in (None, "cuda"):
            raise ConfigError(f"hwaccel must be None (software) or 'cuda' (NVDEC). Got {hwaccel!r}")
        if device_frames and hwaccel != "cuda":
            raise ConfigError("device_frames keeps NVDEC's frames on the GPU: it needs hwaccel='cuda'")
        self.start = _seconds("start", start)
        self.end = _seconds("end", end)
        if self.end is not None and self.end <= (self.start or 0):
            raise ConfigError(
                f"the cut ends at {float(self.end):g} s, not after its start at {float(self.start or 0):g} s; "
                "give an end later than the start"
            )
        if (after is None) != (offset is None):
            raise ConfigError("after and offset continue an earlier render together: give both or neither")
        self.after = None if after is None else Fraction(after)
        self.resume_offset = None if offset is None else Fraction(offset)
        self.path = Path(path)
        self.hwaccel = hwaccel
        self.device_frames = device_frames
        self._offset = 0  # pts subtracted from every frame (the first kept frame's, for a cut)
        #: ``"nvdec"`` or ``"software"`` once open.
        self.decoder: str | None = None
        self._container: av.container.InputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._orientation = Orientation()
        self._decoded: Iterator[av.VideoFrame] | None = None
        self._first: av.VideoFrame | None = None
        self._started = False
        self._corrupt_packets = 0
        self._last_error: Exception | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        if self._container is not None:
            return
        path = self.path
        if not path.exists():
            raise SourceError(
                f"video file {path} not found; check the path (expected an existing video file)"
            )
        if path.is_dir():
            raise SourceError(
                f"{path} is a folder, expected a video file; to read a folder of images use "
                "ImageSequenceSource (or pass the folder as the input)"
            )
        try:
            container, self.decoder = open_input(path, self.hwaccel, keep_on_gpu=self.device_frames)
        except av.FFmpegError as error:
            raise SourceError(
                f"cannot read {path} as a video: FFmpeg says {_ffmpeg_reason(error)!r}; expected a media "
                "file FFmpeg can read (mp4, mkv, mov, webm, avi, …) - it may not be a video, or be truncated"
            ) from error
        try:
            self._open_stream(container)
        except BaseException:
            container.close()
            self._reset()
            raise

    def _open_stream(self, container: av.container.InputContainer) -> None:
        path = self.path
        if not container.streams.video:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
            raise SourceError(f"{path} has no video stream (found: {kinds}); expected a file with video")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads; FFmpeg picks the thread count
        self._container, self._stream = container, stream
        self._stop.clear()
        self._started = False
        self._corrupt_packets = 0
        self._last_error = None
        self._decoded = self._decode_frames()
        if self.start or self.end is not None or self.after is not None:
            self._decoded = self._cut(container, stream)
        self._first = next(self._decoded, None)
        if self._first is None and self._corrupt_packets == 0 and self.after is not None:
            raise EndReached(f"{path} has no frame after {_describe_seconds(self.after)}")
        if self._first is None and self._corrupt_packets == 0 and self.start:
            duration = _duration(container, stream)
            if self.end is not None and (duration is None or duration > self.start):
                raise SourceError(
                    f"{path}: the cut from {float(self.start):g} s to {float(self.end):g} s holds no frame; "
                    "make it longer than one frame"
                )
            raise SourceError(
                f"{path}: nothing to read from {float(self.start):g} s on, its video ends at "
                f"{_describe_seconds(duration)}; choose an earlier --start"
            )
        self._offset = self._first.pts if self._first is not None and self.start else 0
        if self.resume_offset is not None:
            self._offset = round(self.resume_offset / Fraction(stream.time_base)) if stream.time_base else 0
        if self._first is None:
            detail = f"; last error: {_ffmpeg_reason(self._last_error)}" if self._last_error else ""
            raise SourceError(
                f"{path} has no decodable video frames ({self._corrupt_packets} packets failed to decode"
                f"{detail}); the file is empty or corrupt - re-export or re-download it"
            )
        self._orientation = Orientation.from_frame(self._first)
        width, height = self._orientation.size(self._first.width, self._first.height)
        fps = _stream_rate(stream)
        time_base = Fraction(stream.time_base) if stream.time_base else (1 / fps if fps else None)
        self._info = SourceInfo(
            width=width,
            height=height,
            fps=fps,
            frame_count=self._cut_count(_frame_count(container, stream, fps), fps),
            time_base=time_base,
            live=False,
            path=path,
            time_offset=self._offset * time_base if self._offset and time_base else Fraction(0),
            description=(
                f"{path.name}: {stream.codec_context.name} {self._first.width}×{self._first.height} "
                f"{self._first.format.name}"
                + (" (NVDEC)" if self.decoder == "nvdec" else "")
                + ("" if self._orientation.is_identity else f", {self._orientation}")
            ),
        )
        logger.debug("opened %s: %s", path, self._info)

    def close(self) -> None:
        self._stop.set()
        container = self._container
        self._reset()
        if container is not None:
            container.close()

    def _reset(self) -> None:
        if self._decoded is not None:
            self._decoded.close()  # type: ignore[attr-defined]
        self._container = self._stream = None
        self._decoded = None
        self._first = None
        self._info = None

    # -- reading ---------------------------------------------------------------------------------

    @property
    def corrupt_packets(self) -> int:
        """Packets skipped so far because FFmpeg could not decode them."""
        return self._corrupt_packets

    def frames(self) -> Iterator[Frame]:
        info = self.info
        if self._started:
            raise RuntimeError(
                f"FileSource({str(self.path)!r}) frames() can be iterated once per open(); reopen it"
            )
        self._started = True
        return self._frames(info)

    def _frames(self, info: SourceInfo) -> Iterator[Frame]:
        decoded, first = self._decoded, self._first
        assert decoded is not None and first is not None
        self._first = None
        rate_step = (1 / (info.fps * info.time_base)) if info.fps and info.time_base else None
        index = 0
        for video_frame in _chain(first, decoded):
            if self._stop.is_set():
                return
            pts = video_frame.pts
            if pts is None and rate_step is not None:
                pts = round(index * rate_step)
            elif pts is not None:
                pts -= self._offset
            yield Frame(
                image=self._to_rgb(video_frame, info),
                index=index,
                pts=pts,
                time_base=info.time_base if pts is not None else None,
                captured_at=time.monotonic(),
            )
            index += 1
        announced = self._stream.frames if self._stream is not None else 0
        if self._corrupt_packets:
            logger.warning(
                "%s: decoded %d frames, skipped %d packets FFmpeg could not decode (last: %s); "
                "the file is truncated or corrupt",
                self.path,
                index,
                self._corrupt_packets,
                _ffmpeg_reason(self._last_error),
            )
        elif (
            announced
            and index < announced
            and not (self.start or self.end is not None or self.after is not None)
        ):
            logger.warning(
                "%s: decoded %d of the %d frames its header announces; the file is probably truncated",
                self.path,
                index,
                announced,
            )

    def _to_rgb(self, video_frame: av.VideoFrame, info: SourceInfo) -> np.ndarray | torch.Tensor:
        width, height = self._orientation.size(info.width, info.height)  # decoded (pre-rotation) size
        sw_format = video_frame.sw_format  # set only for a frame in GPU memory
        if sw_format is not None and sw_format.name == "nv12":
            return self._device_rgb(video_frame, width, height)
        if video_frame.width != width or video_frame.height != height:
            # a mid-stream resolution change: keep one size for the whole source
            logger.debug(
                "%s: frame of %d×%d scaled to %d×%d",
                self.path,
                video_frame.width,
                video_frame.height,
                width,
                height,
            )
            image = video_frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
        else:
            image = video_frame.to_ndarray(format="rgb24")
        # rows of odd widths keep FFmpeg's padding; consumers (tensors, encoders) want packed rows
        return np.ascontiguousarray(self._orientation.apply(image))

    def _device_rgb(self, video_frame: av.VideoFrame, width: int, height: int) -> torch.Tensor:
        """An NVDEC frame as an upright RGB CUDA tensor, complete before it leaves this thread."""
        import torch

        from vstyle.gpu import fit_frames
        from vstyle.hwvideo import device_rgb

        image = device_rgb(video_frame)
        if image.shape[:2] != (height, width):  # a mid-stream resolution change, as on the host
            image = fit_frames(image[None], width, height, 0, 0)[0]
        image = self._orientation.apply_tensor(image)
        # The consumer runs on another thread and stream: finish the conversion here.
        torch.cuda.current_stream(image.device).synchronize()
        return image

    def _decode_frames(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order, skipping (and counting) packets that fail."""
        container, stream = self._container, self._stream
        assert container is not None and stream is not None
        packets = container.demux(stream)
        while True:
            if self._stop.is_set():
                return
            try:
                packet = next(packets)
            except StopIteration:
                return  # the demuxer's final empty packet already flushed the decoder
            except av.FFmpegError as error:  # the container itself is damaged past here
                self._note_error(error)
                break
            try:
                decoded = packet.decode()
            except av.FFmpegError as error:
                self._note_error(error)
                continue
            yield from decoded
        try:  # drain frames the (threaded) decoder still holds
            yield from stream.codec_context.decode(None)
        except av.FFmpegError as error:
            logger.debug("%s: flushing the decoder failed: %s", self.path, error)

    def _cut(
        self, container: av.container.InputContainer, stream: av.video.stream.VideoStream
    ) -> Iterator[av.VideoFrame]:
        """The decoded frames shown from :attr:`start` up to :attr:`end`, after a seek to the key
        frame before :attr:`start`."""
        if stream.time_base is None:
            raise SourceError(
                f"cannot cut {self.path}: its video stream has no time base; drop --start/--end"
            )
        time_base = Fraction(stream.time_base)
        origin = stream.start_time or 0  # the player's 0 s, in pts
        first = origin + math.floor((self.start or 0) / time_base)
        stop = origin + math.ceil(self.end / time_base) if self.end is not None else None
        what = "cut" if self.after is None else "continue a render of"
        if self.after is not None:
            first = max(first, math.floor(self.after / time_base) + 1)
        if first > origin:
            try:
                # backward: the key frame at or before the target; decoding runs on from there.
                container.seek(first, stream=stream, backward=True, any_frame=False)
            except av.FFmpegError as error:
                # A raw stream (.h264) has no index to seek by, and a failed seek can leave the
                # demuxer at the end: reading on would find nothing, and a render continued from
                # there would look finished.
                raise SourceError(
                    f"cannot {what} {self.path}: it cannot seek ({_ffmpeg_reason(error)}); put it in a "
                    f"container first, e.g. ffmpeg -i {self.path.name} -c copy {self.path.stem}.mp4"
                ) from error
        decoded = self._decode_frames()
        try:
            for frame in decoded:
                if frame.pts is None:
                    raise SourceError(
                        f"cannot {what} {self.path}: its frames carry no timestamps; "
                        + (
                            "drop --start/--end (or --max-frames to stop early)"
                            if self.after is None
                            else "render it again with --overwrite, or put it in a container first"
                        )
                    )
                if frame.pts < first:
                    continue
                if stop is not None and frame.pts >= stop:
                    return
                yield frame
        finally:
            decoded.close()  # type: ignore[attr-defined]

    def _cut_count(self, count: int | None, fps: Fraction | None) -> int | None:
        """Frames the cut holds, estimated at the nominal rate (for a progress bar)."""
        if not (self.start or self.end is not None or self.after is not None) or count is None or not fps:
            return count
        skipped = round((self.after if self.after is not None else self.start or 0) * fps)
        kept = count - skipped if self.end is None else min(count, round(self.end * fps)) - skipped
        return max(1, kept)

    def _note_error(self, error: Exception) -> None:
        self._corrupt_packets += 1
        self._last_error = error
        logger.debug("%s: skipped a packet: %s", self.path, error)


def _chain(first: av.VideoFrame, rest: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    yield first
    yield from rest


def _ffmpeg_reason(error: BaseException | None) -> str:
    if error is None:
        return "unknown"
    return getattr(error, "strerror", None) or str(error)


def _stream_rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return Fraction(rate)
    return None


def _seconds(name: str, value: float | Fraction | None) -> Fraction | None:
    if value is None:
        return None
    seconds = Fraction(value)
    if seconds < 0:
        raise ConfigError(
            f"{name} must be a time in seconds from the start of the file, not {float(seconds):g}"
        )
    return seconds


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Fraction | None:
    """Length of the video in seconds from its header, ``None`` where unknown."""
    if stream.duration and stream.time_base:
        return stream.duration * Fraction(stream.time_base)
    if container.duration:
        return Fraction(container.duration, av.time_base)
    return None


def _describe_seconds(seconds: Fraction | None) -> str:
    return "an unknown time" if seconds is None else f"{float(seconds):.3f} s"


def _frame_count(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, fps: Fraction | None
) -> int | None:
    """Frames in the stream from its header, else estimated from its duration; ``None`` if unknown."""
    if stream.frames:
        return int(stream.frames)
    seconds = _duration(container, stream)
    if fps is None or seconds is None:
        return None
    return max(1, round(seconds * fps))

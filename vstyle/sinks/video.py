"""Writing frames to a video file, with the source's audio and other streams copied in unchanged.

The file is encoded with PyAV (FFmpeg): H.264 in whatever container the extension names, by default.
It is written under a hidden temporary name beside the destination and renamed onto it by
:meth:`VideoFileSink.close`, so nothing half-written ever sits at the destination; :meth:`abort`
deletes it instead.

Timing is the source's: the video stream's time base is the source's and every frame keeps its pts,
so variable frame rate survives and copied audio stays in sync.

Every file carries a record of the render in its metadata, from which an interrupted render can be
continued (``resume=True``; :mod:`vstyle.sinks.resume`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import av.container
import av.video.stream
import numpy as np
from av.codec.codec import UnknownCodecError

from vstyle.capture.base import SourceInfo
from vstyle.errors import ConfigError, SinkError
from vstyle.frames import Frame, check_image
from vstyle.hwvideo import NVENC_FOR, NVENC_PRESETS, nvenc_options, nvenc_unavailable_reason
from vstyle.sinks.base import Sink
from vstyle.sinks.passthrough import StreamCopier
from vstyle.sinks.resume import RECORD_FORMAT, RECORD_KEY, PartialRender, check_same_job, join, read_partial
from vstyle.sinks.staging import check_name, check_writable_folder, remove_quietly, same_file, staging_path

logger = logging.getLogger(__name__)

#: Frame rate assumed when a source reports neither a rate nor a time base.
FALLBACK_FPS = Fraction(30)
#: Encoders worth suggesting when the requested one is unknown, in order of preference.
_SUGGESTED_ENCODERS = ("libx264", "libx265", "libsvtav1", "libvpx-vp9", "h264_nvenc", "mpeg4", "ffv1")
#: FFmpeg's QuickTime-family muxers (one implementation, several brands).
_MOV_MUXERS = frozenset({"mov", "mp4", "ipod", "3gp", "3g2", "psp", "ismv", "f4v"})
#: FFmpeg muxers that write one image per frame; they need a pattern, which ImageSequenceSink handles.
_IMAGE_MUXERS = frozenset({"image2", "image2pipe", "apng", "gif"})


#: Presets of the x264-family encoders, fastest first (checked up front: FFmpeg's own error comes
#: only when the encoder opens, as two lines of its log).
_X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
X264_PRESETS_FOR: dict[str, tuple[str, ...]] = {"libx264": _X264_PRESETS, "libx265": _X264_PRESETS}


class VideoFileSink(Sink):
    """Encodes frames into a video file and copies the source's other streams beside them.

    All refusals happen in :meth:`open`, before any frame is encoded: a missing or unwritable output
    folder, the output being the input file, an existing output without ``overwrite``, an unknown
    encoder or pixel format, an extension FFmpeg cannot map to a container.

    When the source is a media file (``info.path``), its audio, subtitle and data streams are copied
    packet for packet (no re-encode), interleaved with the video as it is written: after each frame the
    source packets that start before that frame ends are muxed, and the rest follow at :meth:`close`.
    Streams the container cannot hold are skipped with a logged warning. A render interrupted with
    ``KeyboardInterrupt`` inside ``with sink:`` keeps the frames written so far and the audio up to them.

    Frame size is fixed by the first frame. With a chroma-subsampled ``pix_fmt`` (``yuv420p``) an odd
    width or height is padded to even by repeating the last column or row, because 4:2:0 stores colour
    per 2×2 block and H.264 encoders reject odd sizes; padding keeps every source pixel, where cropping
    would lose one. The written video is then one pixel wider or taller.

    Args:
        path: the video to write; its extension picks the container (``.mp4``, ``.mkv``, ``.mov``, ...).
        codec: FFmpeg encoder name.
        crf: constant rate factor (quality; lower is better) for encoders that take one.
        preset: speed/size trade-off for encoders that take one.
        pix_fmt: pixel format to encode (``yuv420p`` plays everywhere).
        overwrite: replace an existing ``path`` instead of refusing.
        copy_streams: copy the source's audio and other streams; ``False`` writes the video alone.
        threads: encoder threads, ``0`` for FFmpeg's choice.
        hwaccel: ``"cuda"`` to encode on the GPU's NVENC engine (``h264_nvenc`` for ``libx264``,
            ``hevc_nvenc`` for ``libx265``, ``av1_nvenc`` for ``libsvtav1``) at the same quality
            number; where NVENC does not open (no driver, or a GPU without the engine such as
            H100 and A100) a warning says why and the software encoder runs.
        record: what is being rendered (input, model, settings: JSON-ready), written into the
            file's metadata with the encoding settings, so the render can be continued.
        resume: when ``path`` exists, continue it instead of refusing it: its video is copied
            unchanged and the frames written after it must come from a source opened to go on
            after its last frame (``FileSource(after=…, offset=…)``; see
            :meth:`~vstyle.sinks.resume.PartialRender.after`). Its record must equal this render's
            (``record`` and the encoding settings), else :meth:`open` refuses.

    Attributes:
        codec: the encoder; after :meth:`open`, the one actually used (``h264_nvenc`` with
            ``hwaccel="cuda"`` where NVENC opened).
        frames_written: frames encoded so far.
        final_path: ``path`` once :meth:`close` has committed it, else ``None``.
        resumed_frames: frames copied from the file being continued (0 when not continuing).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        codec: str = "libx264",
        crf: int | None = 18,
        preset: str | None = "veryfast",
        pix_fmt: str = "yuv420p",
        overwrite: bool = False,
        copy_streams: bool = True,
        threads: int = 0,
        hwaccel: str | None = None,
        record: Mapping[str, Any] | None = None,
        resume: bool = False,
    ) -> None:
        if threads < 0:
            raise ValueError(f"threads must be 0 (automatic) or a positive count. Got {threads}")
        if hwaccel not in (None, "cuda"):
            raise ConfigError(f"hwaccel must be None (software) or 'cuda' (NVENC). Got {hwaccel!r}")
        self.hwaccel = hwaccel
        self.path = Path(path).expanduser()
        self.codec = codec
        nvenc_preset = hwaccel == "cuda" and preset in NVENC_PRESETS  # libx264 that becomes h264_nvenc
        if (
            preset is not None
            and codec in X264_PRESETS_FOR
            and preset not in X264_PRESETS_FOR[codec]
            and not nvenc_preset
        ):
            raise ValueError(
                f"{codec} has no preset {preset!r}; choose one of {', '.join(X264_PRESETS_FOR[codec])}"
            )
        self.crf = crf
        self.preset = preset
        self.pix_fmt = pix_fmt
        self.overwrite = overwrite
        self.copy_streams = copy_streams
        self.threads = threads
        self.record = dict(record or {})
        self.resume = resume
        self.frames_written = 0
        self.resumed_frames = 0
        self.final_path: Path | None = None
        self._partial: PartialRender | None = None
        self._options: dict[str, str] = {}
        self._state = "new"  # new → open → closed
        self._target = Path(os.path.abspath(self.path))
        self._staging: Path | None = None
        self._output: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._copier: StreamCopier | None = None
        self._time_base = Fraction(1, 30)
        self._nominal_duration = Fraction(0)
        self._colour: dict[str, object] = {}
        self._nvenc_options: dict[str, str] | None = None
        self._align = (1, 1)
        self._size: tuple[int, int] | None = None  # (height, width) of the first frame
        self._last_pts: int | None = None
        self._last_delta: int | None = None
        self._stopped_early = False

    # -- Sink ----------------------------------------------------------------------------------

    def open(self, info: SourceInfo) -> None:
        """Check the destination and encoder, then prepare the output (nothing is written yet).

        Raises:
            SinkError: the output cannot be written as asked; the message says why and what to do.
            RuntimeError: the sink was opened before.
        """
        if self._state != "new":
            raise RuntimeError("VideoFileSink.open() was called twice; make a new sink for each output")
        self._check_destination(info)
        codec = self._check_encoder()
        self._state = "open"
        try:
            self._prepare(info, codec)
        except BaseException:
            self.abort()
            raise

    def write(self, frame: Frame) -> None:
        """Encode one frame and copy the source packets that belong before its end.

        Raises:
            SinkError: the frame's size differs from the first frame's, its pts does not increase,
                or FFmpeg fails to encode or write it.
            ValueError: the image is not ``H×W×3 uint8``.
        """
        if self._state != "open" or self._stream is None or self._output is None:
            raise RuntimeError(f"VideoFileSink.write() needs an open sink; it is {self._state}")
        image = check_image(frame.image)
        self._fix_size(frame, image)
        pts = self._timestamp(frame)
        video_frame = av.VideoFrame.from_ndarray(self._pad(image), format="rgb24")
        video_frame = video_frame.reformat(format=self.pix_fmt, **self._colour)
        video_frame.pts = pts
        video_frame.time_base = self._time_base
        try:
            self._output.mux(self._stream.encode(video_frame))
        except av.FFmpegError as error:
            raise SinkError(
                f"encoding frame {frame.index} into {str(self.path)!r} failed: {error}"
            ) from error
        if self._last_pts is None:
            self._report_unused_options()
        else:
            self._last_delta = pts - self._last_pts
        self._last_pts = pts
        self.frames_written += 1
        if self._copier is not None:
            start = pts * self._time_base
            if self.frames_written == 1:
                # Continuing a file: from its last frame on, so no sound between the two parts is
                # lost (what the file already has is left out when the two are joined).
                self._copier.start(start if self._partial is None else self._partial.last_time)
            self._copier.copy_until(start + self._nominal_duration)

    def close(self) -> None:
        """Finish encoding, copy the rest of the source's streams and rename onto ``path``; idempotent.

        With no frame written nothing is created (and a warning is logged).

        Raises:
            SinkError: finishing the file or renaming it failed; the temporary file is removed.
        """
        if self._state != "open":
            self._state = "closed"
            return
        self._state = "closed"
        if self.frames_written == 0:
            if self._partial is not None:
                logger.warning("no new frame was written, so %s is left as it was", self.path)
            else:
                logger.warning("no frames were written, so %s was not created", self.path)
            self._discard()
            return
        try:
            self._finish()
        except (av.FFmpegError, OSError) as error:
            self._discard()
            if isinstance(error, SinkError):
                raise
            raise SinkError(f"finishing video {str(self.path)!r} failed: {error}") from error
        except BaseException:
            self._discard()
            raise
        self.final_path = self._target
        logger.info("wrote %d frames to %s", self.frames_written, self._target)

    def kept(self) -> list[str]:
        if self.final_path is None:
            return [f"{self.resumed_frames} frames in {self.path} (as they were)"] if self._partial else []
        total = self.frames_written + self.resumed_frames
        return [f"{total} frame{'s' * (total != 1)} in {self.path}"]

    def abort(self) -> None:
        """Discard the output: nothing is left at ``path`` nor under a temporary name; idempotent."""
        if self._state == "open":
            self._discard()
        self._state = "closed"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            # The render stopped before its source did: copy the audio only as far as the video goes.
            self._stopped_early = True
        super().__exit__(exc_type, exc, tb)

    # -- open() --------------------------------------------------------------------------------

    def _check_destination(self, info: SourceInfo) -> None:
        target, shown = self._target, str(self.path)
        check_name(target, f"video {shown!r}")
        check_writable_folder(target.parent, f"video {shown!r}")
        if info.path is not None and same_file(target, Path(info.path)):
            raise SinkError(
                f"cannot write video {shown!r}: it is the input file, which would be destroyed; "
                "choose another output name"
            )
        if target.is_dir():
            raise SinkError(f"cannot write video {shown!r}: a folder of that name exists; choose a file name")
        if self.resume and target.is_symlink():
            raise SinkError(
                f"cannot continue {shown}: it is a symbolic link; give the file it points to as the output"
            )
        if self.resume and target.is_file():
            self._partial = self._partial or read_partial(target)
        elif (target.exists() or target.is_symlink()) and not self.overwrite:
            more = ""
            if self.record and target.suffix.lower() in {".mp4", ".mov", ".m4v"}:
                more = ", or --resume to continue it if a render was interrupted"
            raise SinkError(f"{shown} exists; pass --overwrite or choose another name{more}")

    def _check_encoder(self) -> av.Codec:
        if self.hwaccel == "cuda" and self.codec in NVENC_FOR:
            nvenc = NVENC_FOR[self.codec]
            reason = nvenc_unavailable_reason(nvenc)
            if reason is None:
                logger.info("encoding %s with %s", self.path, nvenc)
                self.codec, self._nvenc_options = nvenc, nvenc_options(self.crf, self.preset)
            else:
                logger.warning(
                    "hardware encoding unavailable: %s; encoding with %s on the CPU", reason, self.codec
                )
        elif self.codec.endswith("_nvenc"):
            reason = nvenc_unavailable_reason(self.codec)
            if reason is not None:
                raise SinkError(f"{reason}; encode with libx264 instead (the default)")
            self._nvenc_options = nvenc_options(self.crf, self.preset)
        try:
            codec = av.Codec(self.codec, "w")
        except UnknownCodecError:
            known = [name for name in _SUGGESTED_ENCODERS if name in av.codecs_available]
            raise SinkError(
                f"unknown video encoder {self.codec!r}: this FFmpeg build has no such encoder; "
                f"use one of {', '.join(known)}"
            ) from None
        if codec.type != "video":
            raise SinkError(f"encoder {self.codec!r} encodes {codec.type}, not video; choose a video encoder")
        try:
            av.VideoFormat(self.pix_fmt)
        except ValueError:
            raise SinkError(f"unknown pixel format {self.pix_fmt!r}; use e.g. 'yuv420p'") from None
        formats = [fmt.name for fmt in codec.video_formats or ()]
        if formats and self.pix_fmt not in formats:
            raise SinkError(
                f"encoder {self.codec!r} cannot encode pixel format {self.pix_fmt!r}; "
                f"it takes {', '.join(formats)}"
            )
        return codec

    def _prepare(self, info: SourceInfo, codec: av.Codec) -> None:
        shown = str(self.path)
        self._staging = staging_path(self._target)
        try:
            output = av.open(str(self._staging), "w")
        except ValueError as error:
            raise SinkError(
                f"cannot write video {shown!r}: FFmpeg knows no container for the extension "
                f"{self._target.suffix!r} ({error}); use .mp4, .mkv, .mov or .webm"
            ) from error
        self._output = output
        if output.format.name in _MOV_MUXERS and info.time_base is not None:
            # Edit lists (a start offset, B-frame delay, audio priming) are counted in the movie time
            # scale, 1/1000 s by default; the video's own scale keeps a shifted start exact.
            output.options["movie_timescale"] = str(Fraction(info.time_base).denominator)
        if output.format.name in _IMAGE_MUXERS:
            raise SinkError(
                f"cannot write video {shown!r}: {self._target.suffix!r} is an image format; write images "
                "with a pattern such as 'out/%06d.png' or a folder ending in '/'"
            )

        fps = info.fps
        if info.time_base is None and fps is None:
            logger.warning(
                "the source reports no frame rate or time base; writing %s at %s fps", shown, FALLBACK_FPS
            )
            fps = FALLBACK_FPS
        self._time_base = Fraction(info.time_base) if info.time_base is not None else 1 / Fraction(fps)
        # Frames without a pts are placed at their index at this rate (a time base alone has no rate).
        self._nominal_duration = 1 / Fraction(fps or FALLBACK_FPS)

        try:
            stream = output.add_stream(codec.name, rate=Fraction(fps) if fps else None)
        except ValueError as error:
            raise SinkError(
                f"cannot write video {shown!r}: the {output.format.name} container cannot hold "
                f"{codec.name} video ({error}); choose another extension or codec"
            ) from error
        self._stream = stream
        fmt = av.VideoFormat(self.pix_fmt)
        # Chroma subsampling needs sizes that are multiples of the chroma block (2 for 4:2:0).
        self._align = (64 // fmt.chroma_height(64), 64 // fmt.chroma_width(64))
        stream.pix_fmt = self.pix_fmt
        stream.width, stream.height = self._padded_size(info.height, info.width)[::-1]
        context = stream.codec_context
        context.time_base = self._time_base
        stream.time_base = self._time_base
        context.thread_count = self.threads
        options = {}
        if self.crf is not None:
            options["crf"] = str(self.crf)
        if self.preset is not None:
            options["preset"] = self.preset
        context.options = self._nvenc_options if self._nvenc_options is not None else options
        if not fmt.is_rgb and not fmt.name.startswith("gray"):
            # RGB → YUV with the BT.709 matrix, tagged as such, so players do not guess (and shift colours).
            self._colour = {
                "dst_colorspace": "itu709",
                "dst_color_range": "MPEG",
                "dst_color_primaries": 1,
                "dst_color_trc": 1,
            }
            context.colorspace = context.color_primaries = context.color_trc = 1  # BT.709
            context.color_range = 1  # limited ("MPEG") range

        if self.copy_streams and info.path is not None and not info.live and Path(info.path).is_file():
            self._copier = StreamCopier(Path(info.path), output, offset=info.time_offset)
            if output.format.name in _MOV_MUXERS and info.time_base is not None:
                # MOV stores a stream's late start (delayed sound, a continued render's new part)
                # as an edit in the movie's time scale: one that counts every stream's ticks keeps
                # those starts exact, so the file reads back with the times it was given.
                denominators = [t.denominator for t in [self._time_base, *self._copier.time_bases]]
                if (scale := math.lcm(*denominators)) < 2**31:
                    output.options["movie_timescale"] = str(scale)
        self._write_record(output, info)

    def job(self, size: tuple[int, int] | None = None) -> dict[str, Any]:
        """The record of this render that the file keeps: :attr:`record` and how the video is encoded
        at ``size`` (``(width, height)``; left out when ``None``)."""
        video = {
            "codec": self.codec,
            "crf": self.crf,
            "preset": self.preset,
            "pix_fmt": self.pix_fmt,
            # The encoder build: another one may write other parameter sets, and the two parts of
            # a continued file must decode as one stream.
            "pyav": av.__version__,
            "ffmpeg": av.ffmpeg_version_info,
        }
        if size is not None:
            video["size"] = list(size)
        return {**self.record, "video": video}

    def check_continues(self, partial: PartialRender, size: tuple[int, int] | None = None) -> None:
        """Refuse to continue ``partial`` unless this sink renders the same job (at ``size``, when
        given) that wrote it.

        Raises:
            SinkError: naming the settings that differ.
        """
        check_same_job(partial, self.job(size), compare_size=size is not None)

    def continue_from(self, partial: PartialRender) -> None:
        """Continue ``partial`` (read by the caller) when the sink opens, as ``resume=True`` does,
        after checking that it is this render's (its size is checked on open).

        Raises:
            SinkError: naming the settings that differ.
        """
        self.check_continues(partial)
        self.resume, self._partial = True, partial

    def _write_record(self, output: av.container.OutputContainer, info: SourceInfo) -> None:
        """Put the render's record into the file; when continuing one, check it is the same render."""
        job = self.job((info.width, info.height))
        record = {"format": RECORD_FORMAT, "job": job, "time_offset": str(Fraction(info.time_offset))}
        if output.format.name in _MOV_MUXERS:
            output.options["movflags"] = "use_metadata_tags"  # else MP4 keeps only standard keys
        self._options = dict(output.options)
        output.metadata[RECORD_KEY] = json.dumps(record, sort_keys=True)
        partial = self._partial
        if partial is None:
            return
        shown = str(self.path)
        self.check_continues(partial, (info.width, info.height))
        if Fraction(partial.record["time_offset"]) != Fraction(info.time_offset):
            raise SinkError(
                f"cannot continue {shown}: the source was not opened to go on after its last frame "
                f"(time offset {info.time_offset}, the file's {partial.record['time_offset']})"
            )
        self.resumed_frames = partial.frames
        if self._copier is not None:  # demux from near the new part's start, not the top of the file
            self._copier.seek(info.time_offset + partial.last_time)
        logger.info(
            "continuing %s after its %d frames (%.3f s)", shown, partial.frames, float(partial.last_time)
        )

    # -- write() -------------------------------------------------------------------------------

    def _padded_size(self, height: int, width: int) -> tuple[int, int]:
        align_h, align_w = self._align
        return -(-height // align_h) * align_h, -(-width // align_w) * align_w

    def _fix_size(self, frame: Frame, image: np.ndarray) -> None:
        size = (image.shape[0], image.shape[1])
        if self._size is None:
            self._size = size
            assert self._stream is not None
            height, width = self._padded_size(*size)
            if (width, height) != (self._stream.width, self._stream.height):
                self._stream.width, self._stream.height = width, height
            if (height, width) != size:
                logger.info(
                    "padding %dx%d frames to %dx%d for %s (%s needs even sizes)",
                    size[1],
                    size[0],
                    width,
                    height,
                    self.pix_fmt,
                    self.codec,
                )
            return
        if size != self._size:
            raise SinkError(
                f"frame {frame.index} is {size[1]}x{size[0]} but {str(self.path)!r} is "
                f"{self._size[1]}x{self._size[0]} (set by the first frame); give every frame one size"
            )

    def _pad(self, image: np.ndarray) -> np.ndarray:
        assert self._size is not None
        height, width = self._padded_size(*self._size)
        extra_h, extra_w = height - image.shape[0], width - image.shape[1]
        if not extra_h and not extra_w:
            return image
        # Repeat the edge rather than add black: the border stays invisible once chroma is averaged.
        return np.pad(image, ((0, extra_h), (0, extra_w), (0, 0)), mode="edge")

    def _timestamp(self, frame: Frame) -> int:
        """The frame's pts in the stream's time base: its own pts, else its index at the nominal rate."""
        if frame.pts is not None:
            if frame.time_base is None or Fraction(frame.time_base) == self._time_base:
                pts = int(frame.pts)
            else:
                pts = round(frame.pts * Fraction(frame.time_base) / self._time_base)
        else:
            pts = round(frame.index * self._nominal_duration / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            raise SinkError(
                f"frame {frame.index} has pts {pts}, not after the previous frame's {self._last_pts} "
                f"(time base {self._time_base}); timestamps must increase, so drop or retime repeated frames"
            )
        return pts

    def _report_unused_options(self) -> None:
        """Warn about options the encoder left unconsumed once it is open (e.g. ``crf`` for mpeg4)."""
        assert self._stream is not None
        unused = dict(self._stream.codec_context.options)
        if unused:
            logger.warning(
                "encoder %s does not use %s; they have no effect on it (--crf and --preset are for x264-like encoders)",
                self.codec,
                ", ".join(f"{key}={value}" for key, value in unused.items()),
            )

    # -- close() / abort() ---------------------------------------------------------------------

    def _finish(self) -> None:
        assert self._output is not None and self._stream is not None and self._staging is not None
        assert self._last_pts is not None
        self._output.mux(self._stream.encode(None))
        if self._copier is not None:
            last = self._last_pts * self._time_base
            # The last frame lasts as long as the one before it (VFR), else one nominal frame.
            duration = self._last_delta * self._time_base if self._last_delta else self._nominal_duration
            self._copier.finish(
                last_frame_time=last, video_end=last + duration, stopped_early=self._stopped_early
            )
            self._copier.close()
        self._output.close()
        if self._partial is not None:
            joined = staging_path(self._target)
            try:
                join(self._partial, self._staging, joined, self._options)
            except BaseException:
                remove_quietly(joined)
                raise
            remove_quietly(self._staging)
            self._staging = joined
        os.replace(self._staging, self._target)

    def _discard(self) -> None:
        """Release everything and delete the temporary file; raises nothing."""
        if self._copier is not None:
            try:
                self._copier.close()
            except Exception as error:
                logger.warning("closing the source of %s failed: %s", self.path, error)
        if self._output is not None:
            try:
                self._output.close()
            except Exception as error:
                logger.debug("closing the discarded output %s failed: %s", self._staging, error)
        if self._staging is not None:
            remove_quietly(self._staging)

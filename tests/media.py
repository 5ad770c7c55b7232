"""Small media files for the sink tests and readers of what a written file holds (imported by the tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vstyle.capture.base import SourceInfo
from vstyle.frames import Frame

AUDIO_RATE = 48000


def pattern(index: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A frame that differs from its neighbours: a gradient shifted by ``index``."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = (x * 4 + index * 7) % 256
    image[..., 1] = (y * 5 + index * 3) % 256
    image[..., 2] = (x + y + index * 11) % 256
    return image


def make_clip(
    path: Path,
    *,
    frames: int = 20,
    size: tuple[int, int] = (64, 48),
    fps: int = 25,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    audio: str | None = "aac",
    audio_seconds: float | None = None,
    keyint: int | None = None,
) -> Path:
    """Write a small H.264 clip, with a sine-wave audio track unless ``audio`` is ``None``.

    Args:
        path: where to write (the extension picks the container).
        frames: number of video frames.
        size: ``(width, height)``.
        fps: nominal rate.
        pts: explicit video timestamps in ``time_base`` (variable frame rate); default one per frame.
        time_base: video time base; default ``1/fps``.
        audio: audio encoder (``"aac"``, ``"libopus"``) or ``None`` for a silent clip.
        audio_seconds: audio length; default the video's length.
        keyint: frames between key frames (x264's default, 250, when ``None``).
    """
    width, height = size
    time_base = time_base or Fraction(1, fps)
    stamps = list(pts) if pts is not None else list(range(frames))
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = time_base
        video.codec_context.options = {"preset": "ultrafast", **({"g": str(keyint)} if keyint else {})}
        sound = None
        if audio is not None:
            sound = container.add_stream(audio, rate=AUDIO_RATE, layout="mono")
        for index, stamp in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(pattern(index, height, width), format="rgb24")
            frame.pts, frame.time_base = stamp, time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            seconds = audio_seconds if audio_seconds is not None else float((stamps[-1] + 1) * time_base)
            samples = int(seconds * AUDIO_RATE)
            chunk = 960 if audio == "libopus" else 1024
            t = np.arange(samples) / AUDIO_RATE
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            fmt = "flt" if audio == "libopus" else "fltp"
            for start in range(0, samples, chunk):
                piece = wave[start : start + chunk]
                frame = av.AudioFrame.from_ndarray(piece[None, :], format=fmt, layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return path


def decode(path: Path, limit: int | None = None) -> tuple[SourceInfo, list[Frame]]:
    """Decode a file's video the way a file source does: RGB frames keeping their pts and time base."""
    frames: list[Frame] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        info = SourceInfo(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=Fraction(stream.average_rate) if stream.average_rate else None,
            frame_count=stream.frames or None,
            time_base=time_base,
            path=path,
        )
        for index, video_frame in enumerate(container.decode(stream)):
            if limit is not None and index >= limit:
                break
            frames.append(Frame(video_frame.to_ndarray(format="rgb24"), index, video_frame.pts, time_base))
    return info, frames


@dataclass
class StreamReport:
    """What one stream of a file holds, read by demuxing (payloads) and decoding (video frames)."""

    kind: str
    codec: str
    time_base: Fraction
    payloads: list[bytes]
    times: list[Fraction]  # presentation time of each packet (audio) or decoded frame (video), seconds
    end: Fraction  # end of the last packet or frame, seconds


def read_streams(path: Path, *, decode_video: bool = True) -> list[StreamReport]:
    """Demux every stream of ``path`` and decode its video, proving the file plays to the end."""
    reports: list[StreamReport] = []
    with av.open(str(path)) as container:
        for stream in container.streams:
            codec = stream.codec_context.name if stream.codec_context is not None else "none"
            reports.append(StreamReport(stream.type, codec, Fraction(stream.time_base), [], [], Fraction(0)))
        for packet in container.demux():
            if packet.size == 0:
                continue
            report = reports[packet.stream.index]
            if report.kind == "video":
                if not decode_video:
                    continue
                for frame in packet.decode():
                    report.times.append(frame.pts * report.time_base)
                continue
            report.payloads.append(bytes(packet))
            start = packet.pts * report.time_base
            report.times.append(start)
            report.end = max(report.end, start + packet.duration * report.time_base)
        for index, stream in enumerate(container.streams):
            if stream.type == "video" and decode_video:
                report = reports[index]
                for frame in stream.codec_context.decode(None):
                    report.times.append(frame.pts * report.time_base)
                report.times.sort()
    return reports


def only(reports: list[StreamReport], kind: str) -> StreamReport:
    matching = [report for report in reports if report.kind == kind]
    assert len(matching) == 1, f"expected one {kind} stream, found {len(matching)}"
    return matching[0]

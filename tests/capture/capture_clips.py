"""Test videos: encode frames of the synthetic scene with PyAV (imported by the capture tests)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vstyle.capture.synthetic import SyntheticScene


@dataclass(frozen=True)
class Clip:
    """A video written by a test, with the RGB frames that went into it."""

    path: Path
    frames: list[np.ndarray]
    pts: list[int] | None
    time_base: Fraction | None

    @property
    def width(self) -> int:
        return int(self.frames[0].shape[1])

    @property
    def height(self) -> int:
        return int(self.frames[0].shape[0])


def scene_frames(count: int, width: int = 96, height: int = 64, seed: int = 1) -> list[np.ndarray]:
    """``count`` RGB frames of the synthetic scene: textured, moving, with sharp edges."""
    scene = SyntheticScene(width, height, seed)
    return [scene.render(k) for k in range(count)]


def write_video(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rate: int = 30,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int | None = None,
    hflip: bool = False,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Clip:
    """Encode RGB ``frames`` with PyAV; ``pts`` in ``time_base`` units make a variable-rate clip.

    ``rotation`` (degrees counter-clockwise, as FFmpeg reports it) is written as the stream's
    display matrix with PyAV's ``VideoStream.set_display_rotation``.
    """
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=rate, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if time_base is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None or hflip:
            stream.set_display_rotation(rotation or 0, hflip=hflip)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Clip(
        path=path, frames=list(frames), pts=list(pts) if pts is not None else None, time_base=time_base
    )


MakeVideo = Callable[..., Clip]

"""A sink that only counts what reaches it, for benchmarks that must not pay for encoding."""

from __future__ import annotations

from vstyle.capture.base import SourceInfo
from vstyle.frames import Frame, check_image
from vstyle.sinks.base import Sink


class NullSink(Sink):
    """Counts frames and bytes and keeps no pixels.

    Attributes:
        frames: frames written since :meth:`open`.
        bytes: total size of their images, in bytes.
        info: what :meth:`open` was told, or ``None`` before.
    """

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.info: SourceInfo | None = None

    def open(self, info: SourceInfo) -> None:
        """Remember ``info`` and reset the counters."""
        self.info = info
        self.frames = 0
        self.bytes = 0

    def write(self, frame: Frame) -> None:
        """Count the frame (its image is checked, then dropped)."""
        self.bytes += check_image(frame.image).nbytes
        self.frames += 1

    def close(self) -> None:
        """Nothing to release; idempotent."""

"""What every frame source provides."""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType

from vstyle.frames import Frame


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source once it is open.

    Attributes:
        width, height: size of the frames it yields (after rotation), in pixels.
        fps: nominal frame rate, or ``None`` when unknown.
        frame_count: number of frames if known up front (files), else ``None`` (cameras).
        time_base: unit of the frames' ``pts``; ``None`` when frames carry no pts.
        live: ``True`` for sources that produce frames in real time whether or not they are
            consumed (cameras, the synthetic source in real-time mode).
        path: the file this came from, when it did; sinks use it to copy audio.
        time_offset: seconds of the file's timeline subtracted from the frames' timestamps (a cut
            that starts later shifts its first frame to 0); sinks copying the file's other streams
            shift them by the same amount.
        files: the image files the frames come from (image sources); sinks refuse to write over them.
    """

    width: int
    height: int
    fps: Fraction | None = None
    frame_count: int | None = None
    time_base: Fraction | None = None
    live: bool = False
    path: Path | None = None
    description: str = field(default="", compare=False)
    time_offset: Fraction = Fraction(0)
    files: tuple[Path, ...] = field(default=(), compare=False, repr=False)


class Source(abc.ABC):
    """A context manager that yields :class:`~vstyle.frames.Frame` objects.

    Resources (files, cameras, threads) are acquired in :meth:`open` (called by ``__enter__``) and
    released in :meth:`close`, which is safe to call twice. Iterating yields frames until the end of
    the stream; :meth:`stop` may be called from another thread to end iteration early.

    Subclasses call ``super().__init__()``, set ``self._info`` in :meth:`open` and clear it in
    :meth:`close`, and check ``self._stop`` while producing frames.
    """

    def __init__(self) -> None:
        self._info: SourceInfo | None = None
        self._stop = threading.Event()

    @property
    def info(self) -> SourceInfo:
        """Facts about the open source; raises ``RuntimeError`` before :meth:`open`."""
        if self._info is None:
            raise RuntimeError(f"{type(self).__name__} is not open; use it in a `with` block or call open()")
        return self._info

    @abc.abstractmethod
    def open(self) -> None:
        """Acquire the underlying resource; raise :class:`~vstyle.errors.SourceError` on failure."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything; idempotent."""

    @abc.abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield frames in presentation order until the end of the stream or :meth:`stop`."""

    def stop(self) -> None:
        """Ask a running :meth:`frames` iterator to finish soon (thread-safe)."""
        self._stop.set()

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""What every frame sink provides."""

from __future__ import annotations

import abc
from types import TracebackType

from vstyle.capture.base import SourceInfo
from vstyle.frames import Frame


class Sink(abc.ABC):
    """A context manager that consumes stylized :class:`~vstyle.frames.Frame` objects.

    ``open(info)`` is told about the source (size, rate, time base, file path for stream copy) before
    the first frame. ``__exit__`` decides the fate of the output: a clean exit commits it
    (:meth:`close`), an exception aborts it (:meth:`abort`) except ``KeyboardInterrupt``, which
    commits what was written so far so that an interrupted render leaves a playable file.
    """

    @abc.abstractmethod
    def open(self, info: SourceInfo) -> None:
        """Prepare to receive frames like those ``info`` describes."""

    @abc.abstractmethod
    def write(self, frame: Frame) -> None:
        """Consume one frame (its image is ``H×W×3 uint8`` RGB)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish and commit the output; idempotent."""

    def abort(self) -> None:
        """Discard the output (remove temporary files); idempotent. Defaults to :meth:`close`."""
        self.close()

    def kept(self) -> list[str] | None:
        """What the closed sink left for the user, one phrase per file (``"120 frames in out.mp4"``,
        empty when nothing was written), or ``None`` for a sink that writes no file (a window, a
        virtual camera, ``null``). Read after an interrupted run, to say what survived it."""
        return None

    @property
    def wants_stop(self) -> bool:
        """``True`` when the sink asks the pipeline to stop (a window closed by the user)."""
        return False

    def __enter__(self) -> Sink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()
        else:
            self.abort()

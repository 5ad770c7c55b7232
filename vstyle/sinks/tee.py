"""One stream to several outputs at once: a window and a recording, say."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

from vstyle.capture.base import SourceInfo
from vstyle.frames import Frame
from vstyle.sinks.base import Sink


class TeeSink(Sink):
    """Writes every frame to each of ``sinks``, in order.

    Each sink keeps its own fate: on leaving the ``with`` block every one gets the same exit as if it
    had been used alone (committed on success or Ctrl-C, discarded on an error), all of them even when
    one fails, the first failure raised afterwards. :attr:`wants_stop` is any sink's (the window's).
    A frame's image is shared, not copied: sinks do not write into it (a window draws its overlay on
    a copy).

    Args:
        sinks: the outputs, at least one.
    """

    def __init__(self, sinks: Sequence[Sink]) -> None:
        if not sinks:
            raise ValueError("a tee needs at least one sink")
        self.sinks = list(sinks)

    def open(self, info: SourceInfo) -> None:
        for sink in self.sinks:
            sink.open(info)

    def write(self, frame: Frame) -> None:
        for sink in self.sinks:
            sink.write(frame)

    def close(self) -> None:
        self._each(lambda sink: sink.close())

    def abort(self) -> None:
        self._each(lambda sink: sink.abort())

    def kept(self) -> list[str] | None:
        parts = [sink.kept() for sink in self.sinks]
        if all(part is None for part in parts):
            return None
        return [phrase for part in parts if part for phrase in part]

    @property
    def wants_stop(self) -> bool:
        return any(sink.wants_stop for sink in self.sinks)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Each sink's own __exit__: a video file, for one, copies audio only as far as its video on Ctrl-C.
        self._each(lambda sink: sink.__exit__(exc_type, exc, tb))

    def _each(self, step: Callable[[Sink], None]) -> None:
        first: BaseException | None = None
        for sink in self.sinks:
            try:
                step(sink)
            except Exception as error:  # the others must still be closed or cleaned up
                first = first or error
        if first is not None:
            raise first

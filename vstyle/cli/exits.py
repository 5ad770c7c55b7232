"""How a command ends: exit statuses, and SIGTERM/SIGHUP handled as Ctrl-C is."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM (SIGHUP: 129)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``docker stop``, a service manager) or SIGHUP: stop as Ctrl-C does.

    A subclass of ``KeyboardInterrupt`` so every place that finishes cleanly on Ctrl-C (sinks keep a
    playable file, training saves a checkpoint) does the same here instead of dying mid-write.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


#: Signals that end a command as Ctrl-C does: SIGTERM (``kill``, ``docker stop``) and SIGHUP (the
#: terminal or ssh session closed), where the platform has them.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while a command runs (main thread only; a
    signal the parent chose to ignore, as ``nohup`` does SIGHUP, stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, _raise_terminated)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def interrupted(error: KeyboardInterrupt) -> int:
    """The exit status for a stop: 128 + the signal's number, as a shell reports it."""
    if isinstance(error, Terminated):
        signum = error.args[0] if error.args and isinstance(error.args[0], int) else signal.SIGTERM
        return 128 + int(signum)
    return EXIT_INTERRUPTED

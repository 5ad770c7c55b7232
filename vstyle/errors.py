"""Errors raised by vstyle.

Every error derives from :class:`VStyleError` and also from the builtin that best describes it, so
callers can catch either (``except OSError`` catches a missing source, ``except ValueError`` a bad
configuration). Messages say what was expected, what was found and what to do; the CLI prints them
as one line and exits non-zero.
"""

from __future__ import annotations


class VStyleError(Exception):
    """Base class of every error vstyle raises on purpose."""


class ConfigError(VStyleError, ValueError):
    """A setting is out of range or inconsistent with another."""


class SourceError(VStyleError, OSError):
    """An input (file, camera, image folder) cannot be opened or read."""


class EndReached(SourceError):
    """A source asked to continue after a moment has no frame after it: the render it continues
    had already reached the end."""


class SinkError(VStyleError, OSError):
    """An output (file, folder, window) cannot be created or written."""


class ModelError(VStyleError, ValueError):
    """A model file or checkpoint is missing, malformed or of the wrong kind."""


class BackendUnavailableError(VStyleError, RuntimeError):
    """An inference backend was asked for but is not installed or has no device."""


class StageError(VStyleError, RuntimeError):
    """A pipeline stage failed; ``stage`` names it and ``__cause__`` holds the original error."""

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error
        detail = str(error) or type(error).__name__
        super().__init__(f"{stage} stage failed: {detail}")


class DataError(VStyleError, ValueError):
    """A data file (an optical-flow ``.flo`` file, …) is malformed or not of the expected format."""

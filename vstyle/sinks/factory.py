"""Choosing a sink from what the user typed: a video path, an image pattern or folder, or a keyword."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from vstyle.errors import ConfigError
from vstyle.sinks.base import Sink
from vstyle.sinks.display import DisplaySink
from vstyle.sinks.images import IMAGE_SUFFIXES, ImageFileSink, ImageSequenceSink
from vstyle.sinks.null import NullSink
from vstyle.sinks.video import VideoFileSink
from vstyle.sinks.virtualcam import VirtualCameraSink

#: Outputs named by a keyword rather than a path.
KEYWORDS: dict[str, type[Sink]] = {"null": NullSink, "window": DisplaySink, "virtualcam": VirtualCameraSink}


def open_sink(spec: str | os.PathLike[str], **options: Any) -> Sink:
    """Build the sink that ``spec`` names; nothing is opened until ``sink.open(info)``.

    ``spec`` is one of:

    * ``"null"``, ``"window"``, ``"virtualcam"``: :class:`NullSink`, :class:`DisplaySink`,
      :class:`VirtualCameraSink`;
    * a folder (ending in ``/`` or existing) or a pattern with a frame number and an image extension
      (``"out/%06d.png"``): :class:`ImageSequenceSink`;
    * an image file without a frame number (``"still.png"``): :class:`ImageFileSink`, for an input
      of one frame (a photo, or one frame of a video);
    * any other path: :class:`VideoFileSink` (its extension picks the container).

    Args:
        spec: what to write to.
        **options: keyword arguments of the chosen sink's constructor (e.g. ``overwrite=True``).

    Raises:
        ConfigError: an option the chosen sink does not take.
    """
    text = os.fspath(spec)
    kind: type[Sink]
    if not isinstance(spec, os.PathLike) and text.strip().lower() in KEYWORDS:
        kind = KEYWORDS[text.strip().lower()]
        args: tuple[Any, ...] = ()
    elif text.endswith(("/", os.sep)) or _is_dir(Path(text).expanduser()):
        kind, args = ImageSequenceSink, (text,)
    elif Path(text).suffix.lower() in IMAGE_SUFFIXES:
        kind, args = (ImageSequenceSink if "%" in Path(text).name else ImageFileSink), (text,)
    else:
        kind, args = VideoFileSink, (text,)
    _check_options(kind, args, options)
    try:
        return kind(*args, **options)
    except ValueError as error:  # a malformed pattern or option value: the user's to fix
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(str(error)) from error


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long to look up: not a folder (the sink says what is wrong with it)
        return False


def _check_options(kind: type[Sink], args: tuple[Any, ...], options: dict[str, Any]) -> None:
    signature = inspect.signature(kind)
    try:
        signature.bind(*args, **options)
    except TypeError:
        accepted = list(signature.parameters)[len(args) :]
        unknown = sorted(set(options) - set(accepted))
        raise ConfigError(
            f"{kind.__name__} does not take option(s) {', '.join(unknown) or '(positional)'}; "
            f"it takes {', '.join(accepted) or 'none'}"
        ) from None

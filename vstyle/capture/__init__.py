"""Frame sources: video files, cameras, image folders and a synthetic scene.

:func:`open_source` turns an ``--input`` value into the right :class:`Source`:

========================================  ====================================================
spec                                      source
========================================  ====================================================
``"synthetic"``                           :class:`SyntheticSource` (options as given)
``"synthetic:1280x720"``                  … of that size
``"synthetic:1280x720@60"``               … of that size and rate
``0``, ``"0"``, ``"camera:0"``            :class:`CameraSource` for camera index 0
``"/dev/video0"``, any ``"scheme://…"``   :class:`CameraSource` (a device or network stream)
a folder, or a glob like ``"d/*.png"``    :class:`ImageSequenceSource`
a single ``.png``/``.jpg``/… file         :class:`ImageSequenceSource` of one frame
anything else                             :class:`FileSource` (a video file)
========================================  ====================================================
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path
from typing import Any

from vstyle.capture.base import Source, SourceInfo
from vstyle.capture.camera import CameraSource
from vstyle.capture.file import FileSource
from vstyle.capture.images import IMAGE_SUFFIXES, ImageSequenceSource, is_glob
from vstyle.capture.synthetic import SyntheticScene, SyntheticSource
from vstyle.errors import ConfigError

__all__ = [
    "CameraSource",
    "FileSource",
    "ImageSequenceSource",
    "Source",
    "SourceInfo",
    "SyntheticScene",
    "SyntheticSource",
    "open_source",
]

_SYNTHETIC = re.compile(r"^synthetic(?::(?P<w>\d+)x(?P<h>\d+)(?:@(?P<fps>\d+(?:\.\d+)?))?)?$", re.IGNORECASE)
_CAMERA = re.compile(r"^(?:camera:)?(?P<index>\d+)$", re.IGNORECASE)


def open_source(spec: str | int | os.PathLike[str], **options: Any) -> Source:
    """The :class:`Source` an input spec names (see the module docstring), not yet opened.

    Use the result as a context manager; nothing is acquired until then::

        with open_source("clip.mp4") as source:
            for frame in source: ...

    Args:
        spec: what to read (see the table above). A string of digits is a camera index unless a
            file of that name exists.
        **options: keyword arguments of the chosen source's constructor, e.g. ``fps=`` for an image
            sequence or ``width=``/``height=`` for a camera.

    Raises:
        ConfigError: an option the chosen source does not take, a malformed ``synthetic:`` or
            ``camera:`` spec, or a size/rate given both in the spec and as an option.
    """
    if isinstance(spec, bool) or not isinstance(spec, (str, int, os.PathLike)):
        raise ConfigError(f"input must be a path, a camera index or 'synthetic'. Got {spec!r}")
    if isinstance(spec, int):
        return _build(CameraSource, options, device=spec)
    text = os.fspath(spec)
    lowered = text.lower()

    if lowered.startswith("synthetic"):
        match = _SYNTHETIC.match(text)
        if match is None:
            raise ConfigError(
                "expected 'synthetic', 'synthetic:WxH' or 'synthetic:WxH@FPS' (e.g. synthetic:640x360@30). "
                f"Got {text!r}"
            )
        parsed: dict[str, Any] = {}
        if match["w"]:
            parsed.update(width=int(match["w"]), height=int(match["h"]))
        if match["fps"]:
            fps = float(match["fps"])
            parsed["fps"] = int(fps) if fps.is_integer() else fps
        return _build(SyntheticSource, options, **parsed)

    camera = _CAMERA.match(text)
    if camera is not None and (lowered.startswith("camera:") or not Path(text).exists()):
        return _build(CameraSource, options, device=int(camera["index"]))
    if lowered.startswith("camera:"):
        raise ConfigError(f"expected 'camera:N' with N a camera index (e.g. camera:0). Got {text!r}")
    if text.startswith("/dev/") or "://" in text:  # network streams are read newest-frame-only, like a camera
        return _build(CameraSource, options, device=text)

    path = Path(text)
    if path.is_dir() or is_glob(text) or (path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()):
        return _build(ImageSequenceSource, options, pattern_or_folder=path if not is_glob(text) else text)
    return _build(FileSource, options, path=path)


def _build(cls: type[Source], options: dict[str, Any], **from_spec: Any) -> Source:
    clash = sorted(set(options) & set(from_spec))
    if clash:
        raise ConfigError(f"{', '.join(clash)} given both in the input spec and as an option; give it once")
    accepted = [name for name in inspect.signature(cls).parameters if name not in from_spec]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            f"{cls.__name__} does not take option(s) {', '.join(unknown)}; it takes "
            f"{', '.join(accepted) or 'no options'}"
        )
    return cls(**from_spec, **options)

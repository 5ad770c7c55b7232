"""Frames from a folder (or glob) of still images, played at a fixed rate."""

from __future__ import annotations

import glob
import logging
import os
import re
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vstyle.capture.base import Source, SourceInfo
from vstyle.errors import ConfigError, SourceError
from vstyle.frames import Frame

logger = logging.getLogger(__name__)

__all__ = ["IMAGE_SUFFIXES", "ImageSequenceSource", "is_glob", "natural_key"]

#: File suffixes a folder is scanned for (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str | os.PathLike[str]) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders numbers by value, so ``frame2`` comes before ``frame10``."""
    parts = _DIGITS.split(os.fspath(path))
    return tuple((0, int(part)) if i % 2 else (1, part.lower()) for i, part in enumerate(parts))


def is_glob(pattern: str | os.PathLike[str]) -> bool:
    """``True`` when ``pattern`` contains glob wildcards (``*``, ``?``, ``[``)."""
    return glob.has_magic(os.fspath(pattern))


class ImageSequenceSource(Source):
    """Still images read in natural order as the frames of a video.

    Every image is decoded by OpenCV to ``uint8`` RGB (gray, 16-bit and alpha images included) and
    must have the size of the first. ``pts`` is the frame index and ``time_base`` is ``1/fps``.

    Args:
        pattern_or_folder: a folder (its ``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.tif``, ``.webp``
            files, not recursive) or a glob pattern such as ``"shots/frame_*.png"``.
        fps: the rate the images are played at.

    Raises:
        SourceError: (from :meth:`open` or while iterating) when nothing matches, an image cannot be
            decoded, or an image's size differs from the first; the message names the file.
    """

    def __init__(self, pattern_or_folder: str | os.PathLike[str], fps: float | Fraction = 30) -> None:
        super().__init__()
        if not fps > 0:
            raise ConfigError(f"image sequence fps must be positive. Got {fps!r}")
        self.pattern = Path(pattern_or_folder)
        self.fps = Fraction(fps).limit_denominator(1001)
        self._files: list[Path] | None = None
        self._first: np.ndarray | None = None

    def open(self) -> None:
        if self._files is not None:
            return
        files = self._list_files()
        first = read_rgb(files[0])
        height, width = first.shape[:2]
        self._files, self._first = files, first
        self._stop.clear()
        self._info = SourceInfo(
            width=width,
            height=height,
            fps=self.fps,
            frame_count=len(files),
            time_base=1 / self.fps,
            live=False,
            path=None,
            description=f"{len(files)} images {self.pattern} ({width}×{height})",
            files=tuple(files),
        )

    def _list_files(self) -> list[Path]:
        pattern = self.pattern
        if pattern.is_dir():
            files = [p for p in pattern.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
            where = f"folder {pattern} (looked for {', '.join(IMAGE_SUFFIXES)})"
        elif is_glob(pattern):
            files = [Path(p) for p in glob.glob(os.fspath(pattern)) if os.path.isfile(p)]
            where = f"glob {str(pattern)!r}"
        elif pattern.exists():
            files = [pattern]  # a single still image: a one-frame sequence
            where = str(pattern)
        else:
            raise SourceError(
                f"image folder or pattern {pattern} not found; pass a folder of images or a glob"
            )
        if not files:
            raise SourceError(f"no images found in {where}; add images or point at another folder")
        return sorted(files, key=natural_key)

    def close(self) -> None:
        self._stop.set()
        self._files = self._first = self._info = None

    @property
    def files(self) -> list[Path]:
        """The images in playing order (after :meth:`open`)."""
        if self._files is None:
            raise RuntimeError("ImageSequenceSource is not open")
        return list(self._files)

    def frames(self) -> Iterator[Frame]:
        info = self.info
        assert self._files is not None
        return self._frames(info, list(self._files), self._first)

    def _frames(self, info: SourceInfo, files: list[Path], first: np.ndarray | None) -> Iterator[Frame]:
        for index, path in enumerate(files):
            if self._stop.is_set():
                return
            image = first if index == 0 and first is not None else read_rgb(path)
            if image.shape[:2] != (info.height, info.width):
                raise SourceError(
                    f"{path} is {image.shape[1]}×{image.shape[0]} but the sequence is "
                    f"{info.width}×{info.height} (set by {files[0].name}); the frames of a sequence share one "
                    "size - resize or remove it, or stylize photos one by one as separate inputs "
                    "(vstyle render photos/*.jpg -o 'out/{stem}.jpg')"
                )
            yield Frame(
                image=image, index=index, pts=index, time_base=info.time_base, captured_at=time.monotonic()
            )


def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file to ``H×W×3 uint8`` RGB (``np.fromfile`` so any file name works)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise SourceError(f"cannot read image {path}: {error.strerror or error}") from error
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(
            f"cannot decode image {path}: not an image OpenCV reads (expected {', '.join(IMAGE_SUFFIXES)}); "
            "remove or replace it"
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

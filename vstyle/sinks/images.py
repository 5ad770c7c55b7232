"""Writing frames as image files: numbered (PNG by default, JPEG and others by extension), or one still."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import cv2
import numpy as np

from vstyle.capture.base import SourceInfo
from vstyle.errors import SinkError
from vstyle.frames import Frame, check_image
from vstyle.sinks.base import Sink
from vstyle.sinks.staging import check_name, check_writable_folder, remove_quietly, same_file, staging_path

logger = logging.getLogger(__name__)

#: File name used in a folder given without a pattern.
DEFAULT_NAME = "%06d.png"
#: Extensions an image sequence may use (what OpenCV's codecs write).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_FIELD = re.compile(r"%(0?)(\d*)d")


class ImageSequenceSink(Sink):
    """Writes one image per frame, named by the frame's index.

    Each image is encoded in memory, written under a temporary name and renamed, so no truncated image
    ever carries a real name. A folder that already holds images matching the pattern is refused unless
    ``overwrite``; with ``overwrite`` the images of an earlier run that this run did not replace are
    removed when the sink commits (:meth:`close`), so the folder holds one sequence. :meth:`abort`
    removes the images this run wrote (and the folder, if this run created it and it is empty).

    Args:
        pattern_or_folder: a pattern with one printf-style number, ``"out/%06d.png"``, or a folder
            (``"out/"``), which means ``"out/%06d.png"``. A missing folder is created.
        overwrite: allow writing into a folder that already holds a matching sequence.
        jpeg_quality: JPEG quality, 0 to 100.

    Attributes:
        paths: the images written so far, in order.
    """

    def __init__(
        self, pattern_or_folder: str | os.PathLike[str], *, overwrite: bool = False, jpeg_quality: int = 95
    ) -> None:
        text = os.fspath(pattern_or_folder)
        if text.endswith(("/", os.sep)) or (Path(text).is_dir() and "%" not in text):
            text = os.path.join(text, DEFAULT_NAME)
        pattern = Path(text).expanduser()
        if "%" in str(pattern.parent):
            raise ValueError(f"the frame number must be in the file name, not the folder. Got {text!r}")
        fields = _FIELD.findall(pattern.name.replace("%%", ""))
        if len(fields) != 1 or pattern.name.replace("%%", "").count("%") != 1:
            raise ValueError(
                "an image pattern needs exactly one frame-number field such as %06d, e.g. 'out/%06d.png'. "
                f"Got {text!r}"
            )
        if pattern.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(
                f"image pattern must end in one of {', '.join(IMAGE_SUFFIXES)}. "
                f"Got {pattern.suffix or 'no extension'!r}"
            )
        if not 0 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be between 0 and 100. Got {jpeg_quality}")
        self.pattern = pattern
        self.folder = pattern.parent
        self.overwrite = overwrite
        self.jpeg_quality = jpeg_quality
        self.paths: list[Path] = []
        self._suffix = pattern.suffix.lower()
        self._matcher = _name_matcher(pattern.name)
        self._created: list[Path] = []
        self._written: set[str] = set()
        self._state = "new"

    @property
    def frames_written(self) -> int:
        return len(self.paths)

    def open(self, info: SourceInfo) -> None:
        """Create the folder if needed and refuse one that already holds this sequence.

        Raises:
            SinkError: the folder cannot be created or written, or holds matching images without
                ``overwrite``.
        """
        if self._state != "new":
            raise RuntimeError("ImageSequenceSink.open() was called twice; make a new sink for each output")
        what = f"images {str(self.pattern)!r}"
        check_name(self.folder / (self.pattern.name % 0), what)
        if self.folder.resolve() in {path.parent.resolve() for path in info.files}:
            raise SinkError(
                f"cannot write {what}: {self.folder} holds the input images, and a sequence written "
                "among them would mix with them; choose another folder"
            )
        self._make_folder(what)
        check_writable_folder(self.folder, what)
        existing = self._existing()
        if existing and not self.overwrite:
            raise SinkError(
                f"{self.folder} already holds {len(existing)} image(s) named like {self.pattern.name!r} "
                f"(e.g. {existing[0]}); pass --overwrite or choose another folder"
            )
        self._state = "open"

    def write(self, frame: Frame) -> None:
        """Write the frame's image as ``pattern % frame.index``.

        Raises:
            SinkError: two frames share an index, or the image cannot be encoded or written.
        """
        if self._state != "open":
            raise RuntimeError(f"ImageSequenceSink.write() needs an open sink; it is {self._state}")
        image = check_image(frame.image)
        name = self.pattern.name % frame.index
        if name in self._written:
            raise SinkError(f"frame index {frame.index} came twice; {name} would be overwritten")
        encoded = encode_image(image, self._suffix, self.jpeg_quality, f"frame {frame.index}")
        target = self.folder / name
        staging = staging_path(target)
        try:
            staging.write_bytes(encoded)
            os.replace(staging, target)
        except OSError as error:
            remove_quietly(staging)
            raise SinkError(f"writing {target} failed: {error}") from error
        self._written.add(name)
        self.paths.append(target)

    def close(self) -> None:
        """Commit: every image is already in place; with ``overwrite``, stale ones are removed; idempotent."""
        if self._state == "open" and self.overwrite and self._written:
            stale = [path for path in self._existing() if path.name not in self._written]
            for path in stale:
                remove_quietly(path)
            if stale:
                logger.info("removed %d image(s) of an earlier sequence from %s", len(stale), self.folder)
        self._state = "closed"

    def kept(self) -> list[str]:
        count = len(self.paths)
        return [f"{count} image{'s' * (count != 1)} in {self.folder}"] if count else []

    def abort(self) -> None:
        """Remove the images this run wrote, and the folders it created if they are empty; idempotent."""
        if self._state == "open":
            for path in self.paths:
                remove_quietly(path)
            self.paths.clear()
            self._written.clear()
            for folder in reversed(self._created):
                try:
                    folder.rmdir()
                except OSError:  # not empty: something else was put there
                    break
        self._state = "closed"

    # -- internals -----------------------------------------------------------------------------

    def _make_folder(self, what: str) -> None:
        missing = []
        folder = self.folder
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SinkError(
                f"cannot write {what}: creating folder {str(self.folder)!r} failed: {error}"
            ) from error
        self._created = list(reversed(missing))

    def _existing(self) -> list[Path]:
        return sorted(path for path in self.folder.iterdir() if self._matcher.fullmatch(path.name))


class ImageFileSink(Sink):
    """Writes the one frame of a still (a photo, or a single frame picked from a video) as an image.

    The image is encoded in memory and staged under a temporary name; :meth:`close` renames it onto
    ``path``, so an error, or a second frame, leaves nothing behind. An existing file is refused
    unless ``overwrite``, and so is writing over the input image, even with ``overwrite``.

    Args:
        path: the image to write; its extension (one of :data:`IMAGE_SUFFIXES`) picks the format.
        overwrite: replace an existing file.
        jpeg_quality: JPEG quality, 0 to 100.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, overwrite: bool = False, jpeg_quality: int = 95
    ) -> None:
        self.path = Path(path).expanduser()
        if self.path.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(
                f"image file must end in one of {', '.join(IMAGE_SUFFIXES)}. Got {self.path.suffix or 'no extension'!r}"
            )
        if not 0 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be between 0 and 100. Got {jpeg_quality}")
        self.overwrite = overwrite
        self.jpeg_quality = jpeg_quality
        self._staging: Path | None = None
        self._state = "new"

    @property
    def frames_written(self) -> int:
        return int(self._staging is not None or self._state == "committed")

    def open(self, info: SourceInfo) -> None:
        """Check the destination, and that the input is a single frame where its length is known.

        Raises:
            SinkError: the input has more than one frame, the folder is missing or not writable, the
                path is the input image or a folder, or the file exists without ``overwrite``.
        """
        if self._state != "new":
            raise RuntimeError("ImageFileSink.open() was called twice; make a new sink for each output")
        shown = str(self.path)
        if info.frame_count is not None and info.frame_count > 1:
            raise SinkError(self._many_frames(f"the input has {info.frame_count} frames"))
        check_name(self.path, f"image {shown!r}")
        check_writable_folder(self.path.parent, f"image {shown!r}")
        if any(same_file(self.path, source) for source in info.files):
            raise SinkError(
                f"cannot write image {shown!r}: it is the input image; choose another output name"
            )
        if self.path.is_dir():
            raise SinkError(f"cannot write image {shown!r}: a folder of that name exists; choose a file name")
        if (self.path.exists() or self.path.is_symlink()) and not self.overwrite:
            raise SinkError(f"{shown} exists; pass --overwrite or choose another name")
        self._state = "open"

    def write(self, frame: Frame) -> None:
        """Encode the frame and stage it.

        Raises:
            SinkError: a second frame came (the input was longer than its header said or unknown).
        """
        if self._state != "open":
            raise RuntimeError(f"ImageFileSink.write() needs an open sink; it is {self._state}")
        if self._staging is not None:
            raise SinkError(self._many_frames("the input has more than one frame"))
        encoded = encode_image(
            check_image(frame.image), self.path.suffix.lower(), self.jpeg_quality, "the frame"
        )
        staging = staging_path(self.path)
        try:
            staging.write_bytes(encoded)
        except OSError as error:
            remove_quietly(staging)
            raise SinkError(f"writing {self.path} failed: {error}") from error
        self._staging = staging

    def close(self) -> None:
        """Commit: rename the staged image onto ``path`` (nothing is written when no frame came)."""
        if self._state == "open" and self._staging is not None:
            try:
                os.replace(self._staging, self.path)
            except OSError as error:
                self.abort()
                raise SinkError(f"writing {self.path} failed: {error}") from error
            self._staging = None
            self._state = "committed"
            return
        if self._state != "committed":
            self._state = "closed"

    def kept(self) -> list[str]:
        return [str(self.path)] if self._state == "committed" else []

    def abort(self) -> None:
        """Remove the staged image; idempotent."""
        if self._staging is not None:
            remove_quietly(self._staging)
            self._staging = None
        if self._state != "committed":
            self._state = "closed"

    def _many_frames(self, what: str) -> str:
        pattern = self.path.with_name(f"{self.path.stem}-%06d{self.path.suffix}")
        return (
            f"{str(self.path)!r} names a single image, but {what}; write them all to a pattern such as "
            f"{str(pattern)!r} or a folder ending in '/', or pick one frame with --max-frames 1 "
            "(after --start SECONDS)"
        )


def encode_image(image: np.ndarray, suffix: str, jpeg_quality: int, what: str) -> bytes:
    """``H×W×3 uint8`` RGB encoded by OpenCV in the format ``suffix`` names.

    Raises:
        SinkError: OpenCV cannot encode it.
    """
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if suffix in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(image[..., ::-1]), params)
    if not ok:
        raise SinkError(f"OpenCV could not encode {what} as {suffix}")
    return encoded.tobytes()


def _name_matcher(name: str) -> re.Pattern[str]:
    """A regex matching the names ``name % index`` produces for any index."""
    parts = []
    for piece in re.split(r"(%%|%0?\d*d)", name):
        if piece == "%%":
            parts.append("%")
        elif field := _FIELD.fullmatch(piece):
            zero, width = field.groups()
            # %06d writes at least six digits: a five-digit name belongs to another sequence.
            parts.append(rf"\d{{{width},}}" if zero and width else r" *-?\d+")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))

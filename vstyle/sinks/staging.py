"""Staging outputs under a temporary name so that nothing half-written ever sits at the real path.

A sink writes to ``.<name>.partial-<random><suffix>`` in the destination folder and renames it onto
the destination only when the output is complete (``os.replace`` is atomic within one file system,
which the same folder guarantees). The suffix is kept so that tools which pick a format by extension
(FFmpeg's muxer guess, OpenCV's encoder choice) see the real one.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from vstyle.errors import SinkError

logger = logging.getLogger(__name__)

#: Marker in the names of staged files (a crashed run leaves them behind; they are safe to delete).
PARTIAL_MARKER = ".partial-"
#: The longest file name (bytes) Linux, macOS and Windows file systems all accept.
_NAME_MAX = 255


def staging_path(target: Path) -> Path:
    """A fresh hidden name beside ``target`` that keeps its suffix.

    Example:
        ``out/clip.mp4`` → ``out/.clip.mp4.partial-3f9a0c1d.mp4``
    """
    name = f".{target.name}{PARTIAL_MARKER}{secrets.token_hex(4)}{target.suffix}"
    if len(name.encode()) > _NAME_MAX:  # a long (legal) name: keep the marker and suffix, not the name
        name = f".vstyle{PARTIAL_MARKER}{secrets.token_hex(8)}{target.suffix}"
    return target.with_name(name)


def check_name(target: Path, what: str) -> None:
    """Raise :class:`SinkError` when ``target``'s file name is longer than file systems allow."""
    if len(target.name.encode()) > _NAME_MAX:
        raise SinkError(
            f"cannot write {what}: its file name is {len(target.name.encode())} bytes, more than the "
            f"{_NAME_MAX} a file system allows; choose a shorter name"
        )


def check_writable_folder(folder: Path, what: str) -> None:
    """Raise :class:`SinkError` unless ``folder`` is an existing folder this process may write into.

    Args:
        folder: the folder that will receive the output.
        what: the output being written, for the message (``"video 'out/a.mp4'"``).
    """
    if not folder.exists():
        raise SinkError(f"cannot write {what}: folder {str(folder)!r} does not exist; create it first")
    if not folder.is_dir():
        raise SinkError(f"cannot write {what}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SinkError(
            f"cannot write {what}: folder {str(folder)!r} is not writable by this user; "
            "choose another output folder or fix its permissions"
        )
    # Permission bits do not tell the whole story (root passes os.access on a read-only file
    # system or /proc), so prove it by creating a file, before any work is done.
    try:
        fd, probe = tempfile.mkstemp(prefix=".vstyle-probe-", dir=folder)
    except OSError as error:
        raise SinkError(
            f"cannot write {what}: folder {str(folder)!r} is not writable ({error.strerror or error}); "
            "choose another output folder"
        ) from error
    os.close(fd)
    remove_quietly(Path(probe))


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same file (hard links and symlinks included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return a.resolve() == b.resolve()


def remove_quietly(path: Path) -> None:
    """Delete ``path`` if it exists; used on abort paths that must not raise a second error."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:  # already cleaning up after a failure: report, do not raise
        logger.warning("could not remove %s: %s", path, error)

"""The photo collection used for training and evaluation, with a fixed held-out split.

The split depends only on each photo's path relative to the photo root (a hash), never on the
order files are listed in or on a random seed, so every machine and every run agrees on which
photos are held out. About one photo in ten is held out; :func:`split_photos` returns both lists
sorted. No torch is needed here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from vstyle.data import shared_data_dir
from vstyle.errors import DataError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: One photo in ``HELDOUT_EVERY`` (by hash) is held out for evaluation.
HELDOUT_EVERY = 10


def photos_root() -> Path:
    """``<shared data>/photos``.

    Raises:
        DataError: no shared data folder, or it has no ``photos`` folder.
    """
    root = shared_data_dir()
    if root is None or not (root / "photos").is_dir():
        raise DataError(
            "no photo folder found (../shared/data/photos); set VSTYLE_SHARED_DATA to the shared data "
            "folder or pass --photos DIR"
        )
    return root / "photos"


def list_photos(root: Path | None = None) -> list[Path]:
    """Every image file under ``root`` (default :func:`photos_root`), sorted.

    Raises:
        DataError: the folder does not exist or holds no image.
    """
    root = photos_root() if root is None else Path(root)
    if not root.is_dir():
        raise DataError(f"photo folder {root} does not exist; pass a folder of .jpg/.png photos")
    photos = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not photos:
        raise DataError(f"photo folder {root} holds no .jpg/.png image; pass a folder of photos")
    return photos


def is_heldout(relative: str) -> bool:
    """Whether the photo at ``relative`` (POSIX path under the photo root) is held out."""
    digest = hashlib.sha1(relative.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % HELDOUT_EVERY == 0


def split_photos(root: Path | None = None) -> tuple[list[Path], list[Path]]:
    """``(train, heldout)`` photo lists under ``root``; see the module docstring."""
    root = photos_root() if root is None else Path(root)
    train: list[Path] = []
    heldout: list[Path] = []
    for path in list_photos(root):
        (heldout if is_heldout(path.relative_to(root).as_posix()) else train).append(path)
    if not train or not heldout:
        raise DataError(
            f"photo folder {root} has {len(train)} training and {len(heldout)} held-out photos; "
            "both need at least one (add more photos)"
        )
    return train, heldout

"""What the arguments of an evaluation name: models, a style image, photos, and photo sizes.

Models are what :func:`vstyle.styles.resolve_model` accepts (an ``.onnx`` file, a ``.pt``
checkpoint, a teacher folder) or a style name (a bundled style or a teacher in the shared data);
style images and photos default to the shared data folder and fail with a clear message where it
is absent.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vstyle.data import shared_data_dir
from vstyle.errors import SourceError
from vstyle.styles import default_style, resolve_model

log = logging.getLogger(__name__)

#: What ``model`` and ``teacher`` accept: a path (.onnx, .pt, teacher folder), a style name, or None.
ModelSpec = str | os.PathLike[str] | None


def _is_path(spec: str | os.PathLike[str]) -> bool:
    text = os.fspath(spec)
    looks_like_file = Path(text).suffix.lower() in (".onnx", ".pt", ".pth")
    return (
        isinstance(spec, os.PathLike)
        or Path(text).exists()
        or looks_like_file
        or "/" in text
        or os.sep in text
    )


def model_label(spec: ModelSpec) -> str:
    """A short name for a model argument: the file or folder stem, or the style name."""
    if spec is None:
        return default_style()
    return Path(os.fspath(spec)).stem if _is_path(spec) else os.fspath(spec)


def model_path(spec: ModelSpec) -> Path:
    """The ONNX file for a model argument (see :func:`vstyle.styles.resolve_model`).

    Raises:
        ModelError: no such file or style.
    """
    if spec is None:
        return resolve_model(None, None)
    if _is_path(spec):
        return resolve_model(Path(os.fspath(spec)), None)
    return resolve_model(None, os.fspath(spec))


def teacher_path(spec: str | os.PathLike[str]) -> Path:
    """The ONNX file for a ``--teacher`` argument: a path as :func:`model_path` takes, or a name,
    which means the teacher network in the shared ``teachers/`` folder (as ``vstyle train
    --teacher`` does), not the bundled student of that name.

    Raises:
        ModelError: no such file, teacher or style.
    """
    if not _is_path(spec):
        root = shared_data_dir()
        folder = root / "teachers" / os.fspath(spec) if root is not None else None
        if folder is not None and folder.is_dir():
            return resolve_model(folder, None)
        log.warning(
            "teacher %r is not in the shared data's teachers/; comparing against the bundled style of that name",
            os.fspath(spec),
        )
    return model_path(spec)


def default_out_dir(model: ModelSpec) -> Path:
    """``eval/<model stem>`` (relative to the working folder)."""
    return Path("eval") / model_label(model)


def resolve_style_image(spec: str | os.PathLike[str]) -> Path:
    """A style image argument: an image path, or a painting's name in the shared ``styles/`` folder.

    Raises:
        SourceError: neither (the message lists the shared paintings).
    """
    path = Path(os.fspath(spec))
    if path.is_file():
        return path
    root = shared_data_dir()
    folder = root / "styles" if root is not None else None
    known = {p.stem: p for p in sorted(folder.glob("*.jpg"))} if folder and folder.is_dir() else {}
    if path.stem in known and path.parent == Path("."):
        return known[path.stem]
    names = ", ".join(known) or "none: no shared styles/ folder"
    raise SourceError(
        f"style image {os.fspath(spec)!r} not found: not an image file and not a painting in the shared "
        f"styles/ folder (names: {names}); pass an image path or one of those names"
    )


def heldout_photos(count: int) -> list[Path]:
    """``count`` of the held-out photos (:func:`vstyle.train.photos.split_photos`), evenly spaced.

    Raises:
        DataError: no shared photo folder.
    """
    from vstyle.train.photos import split_photos

    heldout = split_photos()[1]
    picks = np.unique(np.linspace(0, len(heldout) - 1, min(count, len(heldout))).round().astype(int))
    return [heldout[i] for i in picks]


def photo_input(image: np.ndarray, short_side: int, multiple: int) -> np.ndarray:
    """Scale a photo so its short side is ``short_side`` rounded to ``multiple`` (both sides multiples).

    A model then needs no padding, so student and teacher see the very same pixels.

    Shape:
        - image: :math:`(H, W, 3)` uint8.
        - output: :math:`(H', W', 3)` uint8, ``H'`` and ``W'`` multiples of ``multiple``.
    """
    height, width = image.shape[:2]
    short = max(multiple, round(short_side / multiple) * multiple)
    scale = short / min(height, width)
    size = tuple(max(multiple, round(side * scale / multiple) * multiple) for side in (width, height))
    if size == (width, height):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def model_card(path: Path, spec: ModelSpec) -> dict[str, Any]:
    """What ``eval.json`` records about a model: name, path, sha256 (sidecar-verified), architecture, source.

    Raises:
        ModelError: the file is not a vstyle ONNX model or its sidecar does not match it.
    """
    from vstyle.models.metadata import file_sha256, read_model_metadata

    info = read_model_metadata(path)
    return {
        "name": model_label(spec),
        "path": str(path),
        "sha256": info.sha256 or file_sha256(path),
        "sha256_from": "sidecar" if info.sha256 else "file",
        "architecture": info.architecture,
        "source": info.source,
    }

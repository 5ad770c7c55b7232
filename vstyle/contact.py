"""Contact sheets: rows of frames side by side, saved as PNG, to look at results."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vstyle.atomic import publish


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray]], *, cell_height: int = 180, gap: int = 4
) -> np.ndarray:
    """Tile images into a grid: one row per entry of ``rows``, each scaled to ``cell_height``.

    Shape:
        - rows: each image ``(H, W, 3)`` uint8 RGB; sizes may differ.
        - returns: ``(R·(cell_height+gap)-gap, max row width, 3)`` uint8 RGB on a white background.
    """
    if not rows or not all(rows):
        raise ValueError("a contact sheet needs at least one row of images")
    scaled = [
        [
            cv2.resize(
                img,
                (max(1, round(img.shape[1] * cell_height / img.shape[0])), cell_height),
                interpolation=cv2.INTER_AREA,
            )
            for img in row
        ]
        for row in rows
    ]
    widths = [sum(i.shape[1] for i in row) + gap * (len(row) - 1) for row in scaled]
    sheet = np.full((len(rows) * (cell_height + gap) - gap, max(widths), 3), 255, np.uint8)
    for r, row in enumerate(scaled):
        x, y = 0, r * (cell_height + gap)
        for img in row:
            sheet[y : y + cell_height, x : x + img.shape[1]] = img
            x += img.shape[1] + gap
    return sheet


def save_png(path: Path, image: np.ndarray) -> Path:
    """Write an RGB image as PNG via a temporary name; returns ``path``."""
    path = Path(path)
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {path.name} as PNG")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.tobytes())
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

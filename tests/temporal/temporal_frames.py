"""Helpers for the temporal tests: textured synthetic frames and reading PNGs as RGB."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture (blurred noise): well-defined flow everywhere."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(noise.astype(np.float32), (0, 0), 1.5)
    img = (img - img.min()) / (img.max() - img.min()) * 255.0
    return np.round(img).astype(np.uint8)


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"could not read {path}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

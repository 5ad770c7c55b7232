"""Write teacher folders in the ml5 per-variable format (synthetic weights, no shared data needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_teacher(folder: Path, seed: int = 0) -> Path:
    """A teacher folder in the ml5 format with random weights (no shared data needed)."""
    from vstyle.models.teacher import expected_shapes

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, shape in expected_shapes().items():
        scale = 0.05 if len(shape) == 4 else 1.0
        rng.normal(0, scale, shape).astype("<f4").tofile(folder / name)
        manifest[name] = {"filename": name, "shape": list(shape)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder

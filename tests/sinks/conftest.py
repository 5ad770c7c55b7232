"""Fixtures of the sink tests: small clips written in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest
from media import make_clip


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 20-frame 64×48 H.264 + AAC clip at 25 fps (0.8 s)."""
    return make_clip(tmp_path / "source.mp4")

"""Fixtures for the temporal tests: the Middlebury flow data, skipped where absent."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def middlebury(shared_data: Path) -> list[tuple[str, Path, Path, Path]]:
    """``(sequence, frame10, frame11, flow10.flo)`` for every sequence with ground truth."""
    root = shared_data / "flow" / "middlebury"
    if not (root / "other-gt-flow").is_dir():
        pytest.skip(f"{root / 'other-gt-flow'} is absent; Middlebury tests skipped")
    found = []
    for flo in sorted((root / "other-gt-flow").glob("*/flow10.flo")):
        seq = flo.parent.name
        data = root / "other-data" / seq
        found.append((seq, data / "frame10.png", data / "frame11.png", flo))
    if not found:
        pytest.skip(f"no flow10.flo under {root / 'other-gt-flow'}")
    return found

"""Shared fixtures: the real data beside the checkout, skipped with a reason where it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from vstyle.data import shared_data_dir


def _require(sub: str) -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("shared data folder not found (../shared/data or $VSTYLE_SHARED_DATA); real-data test skipped")
    path = root / sub
    if not path.exists():
        pytest.skip(f"{path} is absent; real-data test skipped")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of ``../shared/data``."""
    return _require("")


@pytest.fixture(scope="session")
def teachers_dir() -> Path:
    return _require("teachers")


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    return _require("video")


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    return _require("photos")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep derived artifacts of each test session out of the user's ~/.cache."""
    monkeypatch.setenv("VSTYLE_CACHE", str(tmp_path_factory.getbasetemp() / "vstyle-cache"))

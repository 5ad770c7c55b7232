"""teacher_onnx: the shared-data teachers exported once into the cache, reused while unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from vstyle.errors import ModelError
from vstyle.models.metadata import read_model_metadata
from vstyle.models.zoo import available_styles, teacher_onnx


def test_teacher_onnx_is_cached_and_reused(scream_onnx, isolated_cache: Path, monkeypatch) -> None:
    _, path = scream_onnx
    assert path == isolated_cache / "teachers" / "scream.onnx"
    info = read_model_metadata(path)
    assert info.architecture == "engstrom" and info.size_multiple == 4
    assert info.source.startswith("teacher:scream sha256=")
    mtime = path.stat().st_mtime_ns
    monkeypatch.setenv("VSTYLE_CACHE", str(isolated_cache))
    assert teacher_onnx("scream") == path
    assert path.stat().st_mtime_ns == mtime  # not exported again


def test_available_styles_lists_the_shared_teachers(teachers_dir: Path) -> None:
    assert "scream" in available_styles()


def test_unknown_style_raises_model_error_listing_available(teachers_dir: Path) -> None:
    with pytest.raises(ModelError, match="no teacher style 'picasso'.*available:.*scream"):
        teacher_onnx("picasso")


def test_absent_shared_data_raises_model_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VSTYLE_SHARED_DATA", str(tmp_path / "absent"))
    with pytest.raises(ModelError, match="shared data folder.*VSTYLE_SHARED_DATA"):
        teacher_onnx("scream")
    assert available_styles() == []

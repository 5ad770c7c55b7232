"""Shared fixtures: the real data beside the checkout, skipped with a reason where it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from vstyle.data import shared_data_dir


def _require(sub: str) -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip(
            "shared data folder not found (../shared/data or $VSTYLE_SHARED_DATA); real-data test skipped"
        )
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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``tiny`` architecture with seeded random weights, exported to ONNX (needs PyTorch)."""
    torch = pytest.importorskip("torch", reason="PyTorch (the test extra) is needed to export a model")
    from vstyle.models.export import export_onnx
    from vstyle.models.spec import get_arch
    from vstyle.models.stylenet import StyleNet

    torch.manual_seed(0)
    spec = get_arch("tiny")
    out = tmp_path_factory.mktemp("models") / "tiny.onnx"
    return export_onnx(StyleNet(spec).eval(), spec, out, source="random initialisation (tests)")


@pytest.fixture(scope="session")
def teacher_model(teachers_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real ``scream`` teacher network imported and exported to ONNX (needs PyTorch)."""
    pytest.importorskip("torch", reason="PyTorch (the test extra) is needed to import a teacher")
    from vstyle.models.export import export_onnx
    from vstyle.models.spec import ENGSTROM
    from vstyle.models.teacher import load_teacher
    from vstyle.models.zoo import teacher_source

    out = tmp_path_factory.mktemp("teachers") / "scream.onnx"
    folder = teachers_dir / "scream"
    return export_onnx(load_teacher(folder), ENGSTROM, out, source=teacher_source(folder))

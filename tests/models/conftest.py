"""Fixtures for the model tests: models exported once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """A session cache folder; session fixtures run before the per-test cache is set."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("session-cache")
        mp.setenv("VSTYLE_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """``name -> (model, onnx path)`` for quality/fast/tiny with random weights, exported on demand."""
    from vstyle.models.export import export_onnx
    from vstyle.models.spec import get_arch
    from vstyle.models.stylenet import StyleNet

    folder = tmp_path_factory.mktemp("exported")
    cache: dict[str, tuple[object, Path]] = {}

    def get(name: str):
        if name not in cache:
            import torch

            torch.manual_seed(0)
            model = StyleNet(get_arch(name)).eval()
            _randomize_norms(model)
            cache[name] = (
                model,
                export_onnx(model, model.spec, folder / f"{name}.onnx", source=f"random:{name}"),
            )
        return cache[name]

    return get


@pytest.fixture(scope="session")
def scream_onnx(teachers_dir: Path, isolated_cache: Path) -> tuple[object, Path]:
    """The real scream teacher: (PyTorch import, ONNX exported through the zoo cache)."""
    from vstyle.models.teacher import load_teacher
    from vstyle.models.zoo import teacher_onnx

    return load_teacher(teachers_dir / "scream"), teacher_onnx("scream")


def _randomize_norms(model) -> None:
    """Untrained instance norms are identity; random ones make parity tests see every parameter."""
    import torch

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)

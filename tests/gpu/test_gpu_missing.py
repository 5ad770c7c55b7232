"""Where TensorRT or CUDA is missing, asking for them fails cleanly with what to install.

These prove the behaviour of a machine without them; where they are present, the marked GPU tests
cover the other side and these are skipped.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from vstyle.backends import availability, choose_backend, open_backend
from vstyle.cli import main
from vstyle.errors import BackendUnavailableError
from vstyle.gpu import cuda_unavailable_reason

HINT = "pip install tensorrt-cu12"
no_tensorrt = pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is here")
no_cuda = pytest.mark.skipif(cuda_unavailable_reason() is None, reason="CUDA is usable here")


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("vstyle: error: "), err
    assert "Traceback" not in err
    return err


@no_tensorrt
def test_vstyle_build_says_how_to_install_tensorrt(tiny_model: Path, tmp_path: Path, capsys) -> None:
    code = main(["build", "--model", str(tiny_model), "--engine-dir", str(tmp_path / "e")])
    assert code == 1
    err = one_line_error(capsys)
    assert "TensorRT is not installed" in err and HINT in err and "pypi.nvidia.com" in err
    assert not (tmp_path / "e").exists(), "nothing is converted or written before the check"


@no_tensorrt
def test_render_with_backend_tensorrt_says_how_to_install_it(
    tiny_model: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out.mp4"
    code = main(
        ["render", "synthetic:64x48@5", "-o", str(out), "--model", str(tiny_model), "--backend", "tensorrt"]
    )
    assert code == 1
    err = one_line_error(capsys)
    assert "backend 'tensorrt' is unavailable" in err and HINT in err
    assert not out.exists()


def test_bad_profile_size_is_one_line(tiny_model: Path, capsys) -> None:
    assert main(["build", "--model", str(tiny_model), "--max", "1080"]) == 1
    assert "HEIGHTxWIDTH" in one_line_error(capsys)


@no_tensorrt
def test_tensorrt_backend_and_import_refuse_with_the_hint(tiny_model: Path) -> None:
    from vstyle.trt.runtime import import_tensorrt

    assert HINT in (availability()["tensorrt"] or "")
    with pytest.raises(BackendUnavailableError, match="pip install tensorrt-cu12"):
        choose_backend("tensorrt")
    with pytest.raises(BackendUnavailableError, match="pip install tensorrt-cu12"):
        with open_backend(tiny_model, "tensorrt"):
            pass
    with pytest.raises(BackendUnavailableError, match="TensorRT is unavailable"):
        import_tensorrt()


@no_cuda
def test_without_cuda_auto_keeps_onnxruntime_and_torch_runs_on_the_cpu(tiny_model: Path) -> None:
    from vstyle.backends.torch_backend import TorchBackend

    assert choose_backend("auto").name == "onnxruntime"
    assert TorchBackend.priority < choose_backend("onnxruntime").priority
    assert TorchBackend.device_kind == "cpu"
    with pytest.raises(BackendUnavailableError, match="cannot use cuda"):
        with TorchBackend(tiny_model, device="cuda"):
            pass
    with TorchBackend(tiny_model) as backend:
        assert backend.device == "cpu"
        assert backend.infer(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 3, 32, 32)


@no_tensorrt
def test_vstyle_info_lists_the_gpu_backends_with_reasons(capsys) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "tensorrt: unavailable — TensorRT is not installed" in out
    assert "torch: available" in out

"""GPU-path fixtures, and the collection-time skip of tests marked ``gpu`` / ``tensorrt``.

Tests marked ``gpu`` need PyTorch with a usable CUDA GPU, tests marked ``tensorrt`` need TensorRT as
well; where those are missing they are skipped while collecting (with the reason and the install
hint), so a CPU machine runs only the CPU tests of this folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from vstyle.gpu import cuda_unavailable_reason
    from vstyle.trt.runtime import tensorrt_unavailable_reason

    cuda = cuda_unavailable_reason()
    trt = tensorrt_unavailable_reason()
    for item in items:
        if cuda is not None and item.get_closest_marker("gpu") is not None:
            item.add_marker(pytest.mark.skip(reason=f"needs a CUDA GPU: {cuda}"))
        elif trt is not None and item.get_closest_marker("tensorrt") is not None:
            item.add_marker(pytest.mark.skip(reason=f"needs TensorRT: {trt}"))


@pytest.fixture(scope="session")
def tf_same_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small teacher-layout network (TF "SAME" padding, transposed convs, instance norm after the
    last conv), random weights and random instance-norm parameters, exported to ONNX."""
    torch = pytest.importorskip("torch")
    from vstyle.models.export import export_onnx
    from vstyle.models.spec import ArchSpec
    from vstyle.models.stylenet import StyleNet

    spec = ArchSpec(
        name="tfsame-small", stem_channels=8, down_channels=(16,), up_channels=(8,), res_blocks=1,
        upsample="deconv", out_norm=True, padding="tf_same", norm_eps=1e-3,
    )  # fmt: skip
    torch.manual_seed(1)
    net = StyleNet(spec).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    out = tmp_path_factory.mktemp("gpu-models") / "tfsame.onnx"
    return export_onnx(net, spec, out, source="random initialisation (gpu tests)")


@pytest.fixture(scope="session")
def tiny_fp16(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vstyle.models.precision import to_fp16

    return to_fp16(tiny_model, tmp_path_factory.mktemp("gpu-fp16") / "tiny.fp16.onnx")


@pytest.fixture(scope="session")
def tiny_int8(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vstyle.models.quantize import quantize_qdq

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (64, 96, 3), dtype=np.uint8) for _ in range(2)]
    return quantize_qdq(tiny_model, tmp_path_factory.mktemp("gpu-int8") / "tiny.int8.onnx", frames)

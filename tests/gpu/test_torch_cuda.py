"""The PyTorch backend on a CUDA GPU: FP16 parity with ONNX Runtime, CUDA graphs equal eager runs.

Marked ``gpu``: skipped at collection without a usable CUDA GPU (see conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gpu_helpers import ort_run, psnr, smooth_batch

pytestmark = pytest.mark.gpu


def test_auto_prefers_torch_cuda_over_onnxruntime() -> None:
    from vstyle.backends.torch_backend import TorchBackend

    assert TorchBackend.priority == 30 and TorchBackend.device_kind == "gpu"


@pytest.mark.parametrize("model", ["tiny_model", "tf_same_model"])
def test_fp16_on_cuda_matches_onnxruntime(model: str, request) -> None:
    from vstyle.backends.torch_backend import TorchBackend

    path = request.getfixturevalue(model)
    batch = smooth_batch(2, 192, 256)
    with TorchBackend(path) as backend:
        assert "sm" in backend.device
        out = backend.infer(batch)
    score = psnr(out, ort_run(path, batch))
    print(f"torch CUDA FP16 vs ONNX Runtime FP32 ({path.name}): {score:.1f} dB")
    assert np.all(np.isfinite(out)) and score >= 35.0


def test_float32_on_cuda_matches_onnxruntime_closely(tiny_model: Path) -> None:
    """cuDNN may use TF32 for float32 convolutions on Ampere and later, hence 40 dB, not exact."""
    from vstyle.backends.torch_backend import TorchBackend

    batch = smooth_batch(1, 64, 96)
    with TorchBackend(tiny_model, half=False, cuda_graphs=False) as backend:
        out = backend.infer(batch)
    assert psnr(out, ort_run(tiny_model, batch)) >= 40.0


def test_cuda_graph_replay_equals_eager(tiny_model: Path) -> None:
    import torch

    from vstyle.backends.torch_backend import TorchBackend

    batch = smooth_batch(1, 96, 128, seed=3)
    with TorchBackend(tiny_model, cuda_graphs=True) as backend:
        x = torch.from_numpy(batch).cuda()
        with torch.inference_mode():
            eager = backend.forward(x, graphs=False).float().clone()
            first = backend.forward(x).float().clone()  # captures
            other = backend.forward(x * 0.5).float().clone()  # replays with other data
            again = backend.forward(x).float().clone()
        torch.cuda.synchronize()
        via_numpy = backend.infer(batch)
    torch.testing.assert_close(first, eager, rtol=0, atol=0.25)  # ≤ 2 FP16 steps near 255
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    assert not torch.equal(other, first)
    np.testing.assert_allclose(via_numpy, first.cpu().numpy(), atol=1e-2)


def test_uint8_frames_route_on_cuda_matches_the_float_route(tiny_model: Path) -> None:
    from vstyle.backends.base import round_to_frames
    from vstyle.backends.torch_backend import TorchBackend

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    with TorchBackend(tiny_model) as backend:
        assert backend.takes_frames, "on CUDA the stylizer hands the torch backend uint8 frames"
        ours = backend.infer_frames(frames)
        floats = round_to_frames(backend.infer(frames.transpose(0, 3, 1, 2).astype(np.float32)))
    assert ours.shape == frames.shape and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - floats.astype(int)).max() <= 1


def test_device_helpers_on_cuda() -> None:
    import torch

    from vstyle.gpu import HostStaging, batch_to_frames, frames_to_batch

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    on_gpu = frames_to_batch(torch.from_numpy(frames).cuda(), torch.float16, channels_last=True)
    np.testing.assert_array_equal(batch_to_frames(on_gpu).cpu().numpy(), frames)
    staging = HostStaging(pin=True)
    up = staging.upload(frames.astype(np.float32), "cuda")
    down = staging.download(up)
    torch.cuda.synchronize()
    np.testing.assert_array_equal(down, frames.astype(np.float32))

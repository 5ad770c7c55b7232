"""Frame layout conversions and host staging of the GPU path, checked on the CPU against the Stylizer's
NumPy pre/post-processing (the same torch ops run on CUDA tensors in the GPU tests)."""

from __future__ import annotations

import numpy as np
import pytest

from vstyle.gpu import DevicePriority, HostStaging, cuda_available
from vstyle.stylizer import Stylizer

torch = pytest.importorskip("torch")

from vstyle.gpu import batch_to_frames, frames_to_batch  # noqa: E402


def test_frames_to_batch_is_the_stylizers_layout() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    batch = frames_to_batch(torch.from_numpy(frames))
    expected = np.stack([f.transpose(2, 0, 1) for f in frames]).astype(np.float32)
    assert batch.shape == (2, 3, 16, 24) and batch.dtype == torch.float32
    np.testing.assert_array_equal(batch.numpy(), expected)
    half = frames_to_batch(torch.from_numpy(frames[0]), torch.float16, channels_last=True)
    assert half.shape == (1, 3, 16, 24) and half.is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_array_equal(half.float().numpy(), expected[:1])


def test_batch_to_frames_rounds_like_the_stylizer() -> None:
    rng = np.random.default_rng(1)
    result = rng.uniform(-5, 260, (2, 3, 8, 10)).astype(np.float32)
    result[0, 0, 0, :4] = [0.49, 0.5, 254.5, 254.49]
    mine = batch_to_frames(torch.from_numpy(result)).numpy()
    theirs = Stylizer.postprocess(np.clip(result, 0, 255), 2, 10, 8)
    assert mine.dtype == np.uint8 and mine.shape == (2, 8, 10, 3)
    np.testing.assert_array_equal(mine, np.stack(theirs))


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\) uint8"):
        frames_to_batch(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        batch_to_frames(torch.zeros(2, 8, 8, 3))


def test_host_staging_round_trip_reuses_its_buffers() -> None:
    staging = HostStaging(pin=False)
    a = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    up = staging.upload(a, "cpu")
    np.testing.assert_array_equal(up.numpy(), a)
    down = staging.download(up * 2)
    np.testing.assert_array_equal(down, a * 2)
    assert staging.download(up).ctypes.data == down.ctypes.data, "same shape → same host buffer"


def test_device_priority_follows_cuda() -> None:
    class Probe:
        value = DevicePriority(gpu="gpu", cpu="cpu")

    assert Probe.value == ("gpu" if cuda_available() else "cpu")

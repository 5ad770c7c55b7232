"""Backward warping: exact on whole-pixel shifts (NumPy and PyTorch), and right on real flow."""

from __future__ import annotations

import numpy as np
import pytest
from temporal_frames import read_rgb, textured

from vstyle.temporal.flo import read_flo
from vstyle.temporal.warp import backward_warp, backward_warp_torch, in_frame_mask, in_frame_mask_torch

DX, DY = 3, -2  # frame_b(x + DX, y + DY) = frame_a(x, y)


def _shifted(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = textured(height, width)
    b = np.roll(a, (DY, DX), axis=(0, 1))
    flow = np.zeros((height, width, 2), np.float32)
    flow[..., 0], flow[..., 1] = DX, DY
    return a, b, flow


def _expected_inside(height: int, width: int) -> np.ndarray:
    """Rows/columns whose sample ``x + DX, y + DY`` stays inside the frame."""
    mask = np.zeros((height, width), np.float32)
    mask[max(0, -DY) : height - max(0, DY), max(0, -DX) : width - max(0, DX)] = 1
    return mask


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_whole_pixel_shift_warps_back_exactly(dtype: type) -> None:
    a, b, flow = _shifted(48, 64)
    warped = backward_warp(b.astype(dtype), flow)
    inside = _expected_inside(48, 64).astype(bool)
    assert warped.dtype == dtype and warped.shape == a.shape
    np.testing.assert_array_equal(warped[inside], a.astype(dtype)[inside])


def test_in_frame_mask_is_exactly_the_border_strip() -> None:
    _, _, flow = _shifted(48, 64)
    np.testing.assert_array_equal(in_frame_mask(flow), _expected_inside(48, 64))


def test_warp_keeps_single_channel_shape() -> None:
    a, b, flow = _shifted(20, 30)
    assert backward_warp(b[..., :1], flow).shape == (20, 30, 1)
    assert backward_warp(b[..., 0], flow).shape == (20, 30)


def test_warp_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="Got"):
        backward_warp(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 11, 2), np.float32))


def test_torch_warp_exact_when_normalisation_is_exact() -> None:
    torch = pytest.importorskip("torch")
    # W − 1 and H − 1 are powers of two, so grid_sample's [-1, 1] normalisation round-trips exactly.
    a, b, flow = _shifted(33, 65)
    img = torch.from_numpy(b).permute(2, 0, 1)[None].float()
    fl = torch.from_numpy(flow).permute(2, 0, 1)[None]
    warped = backward_warp_torch(img, fl)[0].permute(1, 2, 0).numpy()
    inside = _expected_inside(33, 65).astype(bool)
    np.testing.assert_array_equal(warped[inside], a.astype(np.float32)[inside])
    np.testing.assert_array_equal(in_frame_mask_torch(fl)[0, 0].numpy(), _expected_inside(33, 65))


def test_torch_warp_matches_numpy_on_any_size() -> None:
    torch = pytest.importorskip("torch")
    a, b, flow = _shifted(48, 64)
    rng = np.random.default_rng(1)
    flow = flow + rng.uniform(-1.5, 1.5, flow.shape).astype(np.float32)  # sub-pixel, varying
    ref = backward_warp(b.astype(np.float32), flow)
    img = torch.from_numpy(b).permute(2, 0, 1)[None].float()
    fl = torch.from_numpy(flow).permute(2, 0, 1)[None]
    got = backward_warp_torch(img, fl)[0].permute(1, 2, 0).numpy()
    inside = in_frame_mask(flow).astype(bool)
    # OpenCV quantises bilinear weights to 1/32; interior agreement is within that.
    assert np.abs(got - ref)[inside].max() < 255 / 32
    np.testing.assert_array_equal(in_frame_mask_torch(fl)[0, 0].numpy(), in_frame_mask(flow))


def test_torch_warp_is_differentiable() -> None:
    torch = pytest.importorskip("torch")
    img = torch.rand(1, 3, 8, 9, dtype=torch.float64, requires_grad=True)
    flow = (torch.rand(1, 2, 8, 9, dtype=torch.float64) - 0.5).requires_grad_()
    backward_warp_torch(img, flow).sum().backward()
    assert img.grad is not None and flow.grad is not None


def test_ground_truth_flow_aligns_middlebury_frames(middlebury) -> None:
    for seq, f10, f11, flo in middlebury:
        a, b = read_rgb(f10).astype(np.float32), read_rgb(f11).astype(np.float32)
        flow, valid = read_flo(flo)
        keep = (valid * in_frame_mask(flow)).astype(bool)
        before = np.abs(b - a)[keep].mean()
        after = np.abs(backward_warp(b, flow) - a)[keep].mean()
        assert after < 0.5 * before, f"{seq}: warped error {after:.2f} vs unwarped {before:.2f}"

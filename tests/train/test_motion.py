"""Synthetic motion: the flow is exact, the mask marks what entered the frame, runs are seeded."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from vstyle.errors import ConfigError  # noqa: E402
from vstyle.temporal.warp import backward_warp_torch  # noqa: E402
from vstyle.train.motion import MotionConfig, random_flow, synthetic_pairs  # noqa: E402

STILL = MotionConfig(noise=0.0, brightness=0.0)


def _scene(n: int = 2, size: int = 64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(3)
    coarse = torch.rand(n, 3, 8, 8, generator=gen) * 255
    return torch.nn.functional.interpolate(
        coarse, size=(size, size), mode="bicubic", align_corners=True
    ).clamp(0, 255)


def test_pairs_warp_back_exactly_inside_the_mask() -> None:
    frames = _scene()
    a, b, flow, mask, _ = synthetic_pairs(frames, STILL, torch.Generator().manual_seed(0), margin=10)
    assert (
        a.shape == b.shape == (2, 3, 44, 44) and flow.shape == (2, 2, 44, 44) and mask.shape == (2, 1, 44, 44)
    )
    # b is the centre of the picture; a is the picture moved by the flow, then cropped the same way.
    assert torch.equal(b, frames[:, :, 10:54, 10:54])
    err = (backward_warp_torch(b, flow) - a).abs() * mask
    assert err.max() < 1e-3
    assert 0.5 < mask.mean() <= 1.0


def test_mask_marks_content_that_entered_the_frame() -> None:
    config = MotionConfig(max_shift=8.0, max_rotate=0.0, max_zoom=0.0, local=0.0, noise=0.0, brightness=0.0)
    flow = random_flow(1, 32, 32, config, torch.Generator().manual_seed(1))
    dx, dy = float(flow[0, 0, 0, 0]), float(flow[0, 1, 0, 0])
    assert torch.allclose(flow[0, 0], torch.full((32, 32), dx)) and torch.allclose(
        flow[0, 1], torch.full((32, 32), dy)
    )
    _, _, _, mask, _ = synthetic_pairs(_scene(1, 32), config, torch.Generator().manual_seed(1))
    # A pure shift by (dx, dy): the columns/rows whose source lies outside the frame are masked out.
    cols_out = sum(1 for x in range(32) if not 0 <= x + dx <= 31)
    rows_out = sum(1 for y in range(32) if not 0 <= y + dy <= 31)
    assert int((mask[0, 0] == 0).sum()) == 32 * 32 - (32 - cols_out) * (32 - rows_out)


def test_extra_images_move_with_the_frames_without_noise() -> None:
    frames = _scene()
    noisy = MotionConfig(noise=5.0, brightness=0.1)
    a, b, flow, mask, moved = synthetic_pairs(
        frames, noisy, torch.Generator().manual_seed(2), margin=8, extra=frames
    )
    extra_a, extra_b = moved
    assert torch.equal(extra_b, b)
    assert ((backward_warp_torch(b, flow) - extra_a).abs() * mask).max() < 1e-3
    assert ((a - extra_a).abs() * mask).mean() > 1.0  # the frame itself carries noise and brightness


def test_seeded_and_validated() -> None:
    one = random_flow(2, 16, 16, MotionConfig(), torch.Generator().manual_seed(5))
    two = random_flow(2, 16, 16, MotionConfig(), torch.Generator().manual_seed(5))
    assert torch.equal(one, two)
    with pytest.raises(ConfigError, match="max_shift"):
        MotionConfig(max_shift=-1)
    with pytest.raises(ValueError, match="margin"):
        synthetic_pairs(_scene(1, 16), STILL, torch.Generator(), margin=8)

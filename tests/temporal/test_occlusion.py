"""Ruder et al.'s occlusion mask: a shifted frame's uncovered strip, a moving square's boundary."""

from __future__ import annotations

import numpy as np
import pytest
from temporal_frames import textured

from vstyle.temporal.flow import estimate_flow
from vstyle.temporal.occlusion import consistency_mask, motion_boundary_mask, occlusion_mask

H, W = 64, 80


def _constant(dx: float, dy: float) -> np.ndarray:
    flow = np.empty((H, W, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def test_constant_shift_interior_valid_uncovered_strip_invalid() -> None:
    dx, dy = 4, -3
    mask = occlusion_mask(_constant(dx, dy), _constant(-dx, -dy))
    expected = np.zeros((H, W), np.float32)
    expected[3:, : W - 4] = 1  # rows y with y - 3 ≥ 0, columns x with x + 4 ≤ W − 1
    np.testing.assert_array_equal(mask, expected)
    assert mask.dtype == np.float32


def test_constant_shift_from_estimated_flow() -> None:
    a = textured(H, W)
    b = np.roll(a, (2, 3), axis=(0, 1))
    mask = occlusion_mask(estimate_flow(a, b), estimate_flow(b, a))
    assert mask[12:-12, 12:-12].mean() > 0.95
    assert mask[:, -3:].mean() < 0.05  # samples to the right of the frame


def test_inconsistent_flows_are_invalid() -> None:
    mask = consistency_mask(_constant(2, 0), _constant(2, 0))  # both claim motion to the right
    assert mask.sum() == 0


def _moving_square(d: int = 4, top: int = 20, left: int = 24, size: int = 20):
    """Flows of a square moving right by ``d`` px over a static background."""
    forward = np.zeros((H, W, 2), np.float32)  # on frame a: the square at its old place moves
    forward[top : top + size, left : left + size, 0] = d
    backward = np.zeros((H, W, 2), np.float32)  # on frame b: the square at its new place moves back
    backward[top : top + size, left + d : left + d + size, 0] = -d
    return forward, backward, (top, left, size, d)


def test_moving_square_boundary_is_marked() -> None:
    forward, backward, (top, left, size, d) = _moving_square()
    boundary = motion_boundary_mask(forward)
    mask = occlusion_mask(forward, backward)
    for x in (left - 1, left, left + size - 1, left + size):  # both sides of the left and right edges
        assert boundary[top + size // 2, x] == 0
        assert mask[top + size // 2, x] == 0
    for y in (top - 1, top, top + size - 1, top + size):  # top and bottom edges
        assert boundary[y, left + size // 2] == 0
    assert mask[top + 3 : top + size - 3, left + 3 : left + size - 3].min() == 1  # the square's inside
    assert mask[:10].min() == 1 and mask[-10:].min() == 1  # far background


def test_moving_square_covered_background_is_invalid() -> None:
    forward, backward, (top, left, size, d) = _moving_square()
    mask = consistency_mask(forward, backward)
    # Background just right of the square in frame a is hidden under the square in frame b.
    assert mask[top + 2 : top + size - 2, left + size : left + size + d].max() == 0
    assert mask[top + 2 : top + size - 2, left + 2 : left + size - 2].min() == 1


def test_rejects_mismatched_flows() -> None:
    with pytest.raises(ValueError, match="same shape"):
        occlusion_mask(_constant(0, 0), np.zeros((H, W + 1, 2), np.float32))

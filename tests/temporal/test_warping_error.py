"""Lai et al.'s warping error: zero for a static video, large for flicker, reported against input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from temporal_frames import textured

from vstyle.temporal.warping_error import WarpingError, warping_error

H, W, T = 72, 96, 5


def _panning_video(seed: int = 0) -> list[np.ndarray]:
    """A textured scene panning one pixel right per frame (cropped from a wider texture)."""
    scene = textured(H, W + T, seed)
    return [np.ascontiguousarray(scene[:, T - t : T - t + W]) for t in range(T)]


def _stylize(frame: np.ndarray) -> np.ndarray:
    """A fixed per-pixel 'style' (colour inversion and channel swap): stable frame to frame."""
    return np.ascontiguousarray(255 - frame[..., ::-1])


def _flicker(frames: list[np.ndarray], seed: int = 1, amplitude: int = 25) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    offsets = rng.integers(-amplitude, amplitude + 1, len(frames))
    return [np.clip(f.astype(np.int16) + o, 0, 255).astype(np.uint8) for f, o in zip(frames, offsets)]


def test_static_video_has_zero_error() -> None:
    frames = [textured(H, W)] * T
    result = warping_error(frames, [_stylize(f) for f in frames])
    assert len(result.output_per_pair) == T - 1
    assert result.output == pytest.approx(0.0, abs=1e-9) and result.input == pytest.approx(0.0, abs=1e-9)
    assert min(result.valid_fraction) > 0.95


def test_flicker_costs_much_more_than_a_stable_output() -> None:
    inputs = _panning_video()
    stable = [_stylize(f) for f in inputs]
    steady = warping_error(inputs, stable)
    flickery = warping_error(inputs, _flicker(stable))
    assert flickery.output > 10 * steady.output
    assert flickery.ratio > 10 * steady.ratio
    assert flickery.input == steady.input  # same flow, same masks: the input's floor is unchanged


def test_stable_output_matches_the_input_floor() -> None:
    inputs = _panning_video()
    result = warping_error(inputs, [_stylize(f) for f in inputs])
    # Inversion keeps per-pixel squared differences, so the output's error equals the input's.
    assert result.ratio == pytest.approx(1.0, rel=1e-3)


def test_result_is_frozen_and_ratio_handles_zero() -> None:
    result = WarpingError((0.0,), (0.0,), (1.0,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.output_per_pair = (1.0,)  # type: ignore[misc]
    assert np.isnan(result.ratio)
    assert WarpingError((1.0,), (0.0,), (1.0,)).ratio == float("inf")
    assert WarpingError((0.3, 0.1), (0.1, 0.1), (1.0, 1.0)).ratio == pytest.approx(2.0)


def test_rejects_bad_inputs() -> None:
    frames = _panning_video()
    with pytest.raises(ValueError, match="one output frame per input"):
        warping_error(frames, frames[:-1])
    with pytest.raises(ValueError, match="at least two"):
        warping_error(frames[:1], frames[:1])
    with pytest.raises(ValueError, match="all frames must be"):
        warping_error(frames[:2], [frames[0], frames[1][:, :-1]])

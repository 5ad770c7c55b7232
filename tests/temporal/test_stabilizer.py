"""The inference-time stabilizer: steadier where the flow holds, untouched where it does not."""

from __future__ import annotations

import numpy as np
import pytest
from temporal_frames import textured

from vstyle.errors import ConfigError
from vstyle.temporal.stabilizer import Stabilizer
from vstyle.temporal.warping_error import warping_error


def _shifted(image: np.ndarray, dx: int) -> np.ndarray:
    """``image`` moved right by ``dx`` whole pixels (the entering strip repeats the edge column)."""
    out = np.roll(image, dx, axis=1)
    out[:, :dx] = image[:, :1]
    return out


def _flickering(pattern: np.ndarray, rng: np.random.Generator, amplitude: float = 25.0) -> np.ndarray:
    """A "stylized" frame: the pattern plus independent per-frame noise (flicker)."""
    noise = rng.normal(0.0, amplitude, pattern.shape)
    return np.clip(pattern.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def test_static_scene_flicker_is_damped() -> None:
    rng = np.random.default_rng(0)
    scene = textured(72, 96, seed=1)
    styled = [_flickering(scene, rng) for _ in range(12)]
    stabilizer = Stabilizer(0.7)
    out = [stabilizer(scene, s) for s in styled]
    assert np.array_equal(out[0], styled[0])  # the first frame has nothing to blend with
    assert stabilizer.last_weight > 0.6  # a static scene: nearly every pixel blends fully
    raw = np.mean([np.abs(a.astype(float) - b).mean() for a, b in zip(styled[1:], styled[:-1])])
    steady = np.mean([np.abs(a.astype(float) - b).mean() for a, b in zip(out[5:], out[4:-1])])
    assert steady < 0.5 * raw


def test_moving_scene_follows_the_motion_without_ghosts() -> None:
    """The output warps with the input: less flicker, and it stays on the moving pattern."""
    rng = np.random.default_rng(2)
    base = textured(80, 120, seed=3)
    inputs = [_shifted(base, 2 * t) if t else base for t in range(10)]
    styled = [_flickering(frame, rng) for frame in inputs]
    stabilizer = Stabilizer(0.7)
    out = [stabilizer(i, s) for i, s in zip(inputs, styled)]
    raw_error = warping_error(inputs, styled).ratio
    steady_error = warping_error(inputs, out).ratio
    assert steady_error < 0.6 * raw_error
    inner = (slice(8, -8), slice(24, -8))  # away from the entering strip and the borders
    ghost = np.abs(out[-1][inner].astype(float) - inputs[-1][inner]).mean()
    noise = np.abs(styled[-1][inner].astype(float) - inputs[-1][inner]).mean()
    assert ghost < noise  # closer to the true (moved) pattern than the raw noisy frame


def test_a_scene_cut_shows_the_new_frame() -> None:
    rng = np.random.default_rng(4)
    first, second = textured(64, 64, seed=5), textured(64, 64, seed=6)
    stabilizer = Stabilizer(0.8)
    for _ in range(3):
        stabilizer(first, _flickering(first, rng))
    fresh = _flickering(second, rng)
    out = stabilizer(second, fresh)
    # The photometric check rejects the old picture almost everywhere.
    assert stabilizer.last_weight < 0.15
    assert np.abs(out.astype(float) - fresh).mean() < 0.25 * np.abs(fresh.astype(float) - first).mean()


def test_off_size_change_and_sizes() -> None:
    rng = np.random.default_rng(7)
    scene = textured(48, 64, seed=8)
    styled = _flickering(scene, rng)
    off = Stabilizer(0.0)
    assert all(np.array_equal(off(scene, styled), styled) for _ in range(3))
    stabilizer = Stabilizer(0.5, flow_height=24)
    stabilizer(scene, styled)
    # A smaller stylized frame than the input (the network ran at --height): same size out.
    small = stabilizer(scene, styled[::2, ::2].copy())
    assert small.shape == (24, 32, 3) and stabilizer.last_weight == 0.0  # a new size starts afresh
    again = stabilizer(scene, styled[::2, ::2].copy())
    assert again.shape == (24, 32, 3) and stabilizer.last_weight > 0.3
    stabilizer.reset()
    assert np.array_equal(stabilizer(scene, styled), styled)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"strength": 1.0}, "strength"),
        ({"strength": -0.1}, "strength"),
        ({"sigma": 0.0}, "sigma"),
        ({"flow_height": 8}, "flow height"),
        ({"preset": "slow"}, "preset"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Stabilizer(**kwargs)

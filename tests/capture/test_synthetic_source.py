"""SyntheticSource: reproducible, moving, the requested size and count, paced in real time."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from vstyle.capture import SyntheticScene, SyntheticSource
from vstyle.errors import ConfigError


def take(source: SyntheticSource, count: int) -> list[np.ndarray]:
    images = []
    for frame in source:
        images.append(frame.image)
        if len(images) == count:
            break
    return images


def test_frames_are_deterministic_per_seed_and_index() -> None:
    with SyntheticSource(seed=3, num_frames=6) as a, SyntheticSource(seed=3, num_frames=6) as b:
        first, second = [f.image for f in a], [f.image for f in b]
    assert all(np.array_equal(x, y) for x, y in zip(first, second, strict=True))
    # frame k depends on k alone, not on the frames rendered before it
    assert np.array_equal(SyntheticScene(640, 360, seed=3).render(5), first[5])
    with SyntheticSource(seed=4, num_frames=1) as other:
        assert not np.array_equal(next(iter(other)).image, first[0])


def test_consecutive_frames_move_and_have_structure() -> None:
    with SyntheticSource(160, 90, num_frames=3) as source:
        images = [f.image.astype(np.int16) for f in source]
    assert np.abs(images[1] - images[0]).mean() > 2  # something moves every frame
    gradient = np.abs(np.diff(images[0], axis=1)).mean()
    assert gradient > 3  # texture and edges, not a flat field
    assert len(np.unique(images[0].reshape(-1, 3), axis=0)) > 1000  # many colours


@pytest.mark.parametrize(("width", "height"), [(640, 360), (161, 97), (16, 16), (1280, 720)])
def test_size_count_and_timestamps(width: int, height: int) -> None:
    with SyntheticSource(width, height, fps=24, num_frames=4) as source:
        info = source.info
        frames = list(source)
    assert (info.width, info.height, info.frame_count, info.fps) == (width, height, 4, 24)
    assert not info.live and info.time_base == Fraction(1, 24)
    assert len(frames) == 4
    for k, frame in enumerate(frames):
        assert frame.image.shape == (height, width, 3) and frame.image.dtype == np.uint8
        assert frame.image.flags.c_contiguous
        assert (frame.index, frame.pts, frame.time_base) == (k, k, Fraction(1, 24))


def test_realtime_paces_frames_at_fps_and_is_live() -> None:
    start = time.monotonic()
    with SyntheticSource(64, 36, fps=50, num_frames=10, realtime=True) as source:
        assert source.info.live
        frames = list(source)
    elapsed = time.monotonic() - start
    assert len(frames) == 10
    assert elapsed >= 0.15  # frame 9 is due 0.18 s after frame 0; never early
    assert frames[-1].captured_at - frames[0].captured_at >= 0.17


def test_endless_stream_ends_on_stop_from_another_thread() -> None:
    with SyntheticSource(32, 32, fps=1000, realtime=True) as source:
        assert source.info.frame_count is None
        timer = threading.Timer(0.05, source.stop)
        timer.start()
        count = sum(1 for _ in source)
        timer.join()
    assert count > 0


def test_zero_frames_yields_nothing() -> None:
    with SyntheticSource(32, 32, num_frames=0) as source:
        assert list(source) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"width": 8}, {"height": 0}, {"width": 64.5}, {"fps": 0}, {"num_frames": -1}, {"fps": "30"}],
)
def test_bad_settings_are_config_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        SyntheticSource(**kwargs)


def test_info_needs_open() -> None:
    source = SyntheticSource()
    with pytest.raises(RuntimeError, match="not open"):
        _ = source.info
    source.close()
    source.close()

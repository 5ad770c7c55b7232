"""The pipeline clock of ``vstyle bench``: rates from whole bursts of frames only."""

from __future__ import annotations

import pytest

from vstyle.bench.measure import _Clock
from vstyle.metrics import Metrics


def _metrics(workers: int) -> Metrics:
    metrics = Metrics(mode="offline")
    metrics.extra["workers"] = workers
    return metrics


def _clock(warmup: int, times: list[float]) -> _Clock:
    clock = _Clock(warmup, batch=1)
    clock.start = 0.0
    clock.written = list(times)
    return clock


def test_two_workers_write_in_pairs_and_the_rate_is_per_frame() -> None:
    # Pairs finish every 0.2 s: 10 frames per second.
    times = [0.2, 0.2, 0.4, 0.4, 0.6, 0.6, 0.8, 0.8]
    row = _clock(2, times).result(0.85, _metrics(2))
    assert row["frames"] == 6 and row["fps"] == pytest.approx(10.0)


def test_a_trailing_partial_burst_does_not_inflate_the_rate() -> None:
    # Three frames, two workers, warm-up 1: the third frame finishes with the second.
    times = [0.5, 1.0, 1.001]
    row = _clock(1, times).result(1.01, _metrics(2))
    assert row["fps"] is not None and row["fps"] < 3.0
    times = [0.2, 0.2, 0.4, 0.4, 0.6, 0.6, 0.6001]
    row = _clock(2, times).result(0.61, _metrics(2))
    assert row["frames"] == 4 and row["fps"] == pytest.approx(10.0)

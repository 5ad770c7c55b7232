"""The threaded pipeline: queue policies, ordering, error surfacing and interruption."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np
import pytest

from vstyle.capture.base import Source, SourceInfo
from vstyle.config import PipelineConfig
from vstyle.errors import StageError
from vstyle.frames import Frame
from vstyle.pipeline import Pipeline
from vstyle.sinks.base import Sink


class CountingSource(Source):
    """Yields ``n`` small frames as fast as asked; can fail at a chosen frame."""

    def __init__(self, n: int, fail_at: int | None = None, live: bool = False) -> None:
        self.n, self.fail_at, self.live = n, fail_at, live
        self._stop = threading.Event()
        self.opened = self.closed = False

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(8, 6, Fraction(30), self.n, Fraction(1, 30), live=self.live)

    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True

    def stop(self) -> None:
        self._stop.set()

    def frames(self) -> Iterator[Frame]:
        for i in range(self.n):
            if self._stop.is_set():
                return
            if i == self.fail_at:
                raise OSError(f"read error at frame {i}")
            yield Frame(np.full((6, 8, 3), i % 256, np.uint8), i, i, Fraction(1, 30), time.monotonic())


class ListSink(Sink):
    def __init__(
        self, fail_at: int | None = None, interrupt_at: int | None = None, stop_at: int | None = None
    ) -> None:
        self.frames: list[Frame] = []
        self.fail_at, self.interrupt_at, self.stop_at = fail_at, interrupt_at, stop_at

    def open(self, info: SourceInfo) -> None:
        pass

    def write(self, frame: Frame) -> None:
        if len(self.frames) == self.fail_at:
            raise OSError("disk full")
        if len(self.frames) == self.interrupt_at:
            raise KeyboardInterrupt
        self.frames.append(frame)

    def close(self) -> None:
        pass

    @property
    def wants_stop(self) -> bool:
        return self.stop_at is not None and len(self.frames) >= self.stop_at


def invert(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [255 - img for img in images]


def slow_invert(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    time.sleep(0.01 * len(images))
    return invert(images)


def no_pipeline_threads_left() -> bool:
    return not any(t.name.startswith("vstyle-") for t in threading.enumerate())


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_offline_keeps_every_frame_in_order(batch_size: int) -> None:
    sink = ListSink()
    metrics = Pipeline(
        CountingSource(40), invert, sink, PipelineConfig(mode="offline", queue_size=2), batch_size=batch_size
    ).run()
    assert [f.index for f in sink.frames] == list(range(40))
    assert [f.pts for f in sink.frames] == list(range(40))
    assert all(int(f.image[0, 0, 0]) == 255 - f.index for f in sink.frames)
    assert metrics.frames_in == metrics.frames_out == 40
    assert metrics.dropped == 0
    assert len(metrics.latencies_s) == 40
    assert metrics.stages["stylize"].items == 40


def test_offline_blocks_a_fast_source_instead_of_dropping() -> None:
    sink = ListSink()
    metrics = Pipeline(
        CountingSource(30), slow_invert, sink, PipelineConfig(mode="offline", queue_size=1)
    ).run()
    assert len(sink.frames) == 30 and metrics.dropped == 0


def test_live_drops_oldest_and_counts_drops() -> None:
    sink = ListSink()
    source = CountingSource(60, live=True)
    metrics = Pipeline(source, slow_invert, sink, PipelineConfig(mode="live", queue_size=1)).run()
    indices = [f.index for f in sink.frames]
    assert metrics.dropped > 0, "a source faster than the network must lose frames in live mode"
    assert metrics.frames_out + metrics.dropped == metrics.frames_in == 60
    assert indices == sorted(indices), "newest-frame-wins must never reorder"
    assert indices[-1] >= 55, "the newest frames survive, not the oldest"


def test_live_mode_ignores_batching() -> None:
    pipe = Pipeline(CountingSource(5), invert, ListSink(), PipelineConfig(mode="live"), batch_size=8)
    assert pipe.batch_size == 1


@pytest.mark.parametrize(
    ("stage", "source", "process", "sink"),
    [
        ("capture", CountingSource(50, fail_at=7), invert, ListSink()),
        ("stylize", CountingSource(50), None, ListSink()),
        ("write", CountingSource(50), invert, ListSink(fail_at=4)),
    ],
)
def test_first_failing_stage_stops_the_rest_and_is_named(stage, source, process, sink) -> None:
    calls = {"n": 0}

    def failing(images: Sequence[np.ndarray]) -> list[np.ndarray]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("network exploded")
        return invert(images)

    with pytest.raises(StageError) as info:
        Pipeline(source, process or failing, sink, PipelineConfig(mode="offline", queue_size=2)).run()
    assert info.value.stage == stage
    assert str(info.value).startswith(f"{stage} stage failed: ")
    assert info.value.__cause__ is info.value.error
    assert no_pipeline_threads_left()


def test_stage_error_is_raised_once_even_when_others_fail_after() -> None:
    # The sink fails; the stylize stage then finds the stop flag and must not add a second error.
    with pytest.raises(StageError) as info:
        Pipeline(CountingSource(100), slow_invert, ListSink(fail_at=0), PipelineConfig(queue_size=1)).run()
    assert info.value.stage == "write"
    assert isinstance(info.value.error, OSError)


def test_keyboard_interrupt_stops_every_stage_and_marks_metrics() -> None:
    sink = ListSink(interrupt_at=5)
    pipe = Pipeline(CountingSource(1000), invert, sink, PipelineConfig(queue_size=2))
    with pytest.raises(KeyboardInterrupt):
        pipe.run()
    assert pipe.metrics.interrupted
    assert len(sink.frames) == 5
    assert no_pipeline_threads_left()


def test_a_stop_cancels_the_inference_in_flight_and_its_error_is_not_reported() -> None:
    """Ctrl-C while a worker is inside a frame that would take long: ``cancel`` ends it (it raises,
    as ONNX Runtime's terminated run does) and the run ends as interrupted, not as a stage error."""
    cancelled = threading.Event()
    started = threading.Event()

    def endless(images: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(started_frames) == 3:  # the fourth frame "takes forever" until cancelled
            started.set()
            if not cancelled.wait(30):
                raise AssertionError("the stop never cancelled the inference")
            raise RuntimeError("Exiting due to terminate flag being set to true")
        started_frames.append(images[0])
        return invert(images)

    started_frames: list[np.ndarray] = []

    class InterruptingSink(ListSink):
        def write(self, frame: Frame) -> None:
            super().write(frame)
            if len(self.frames) == 3:
                assert started.wait(30)
                raise KeyboardInterrupt

    sink = InterruptingSink()
    pipe = Pipeline(
        CountingSource(100), endless, sink, PipelineConfig(queue_size=2), workers=2, cancel=cancelled.set
    )
    with pytest.raises(KeyboardInterrupt):
        pipe.run()
    assert cancelled.is_set() and pipe.metrics.interrupted and pipe._error is None
    assert no_pipeline_threads_left()


def test_onnxruntime_cancel_ends_a_run_in_flight(tiny_model) -> None:
    from vstyle.backends.onnxrt import OnnxRuntimeBackend

    outcome: list[object] = []
    batch = np.zeros((1, 3, 1088, 1920), np.float32)  # seconds of work for one thread
    with OnnxRuntimeBackend(tiny_model, threads=1) as backend:

        def run() -> None:
            try:
                outcome.append(backend.infer(batch))
            except Exception as error:  # the terminated run
                outcome.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 30
        while not backend._running and time.monotonic() < deadline:
            time.sleep(0.001)
        backend.cancel()
        worker.join(60)
        assert len(outcome) == 1 and isinstance(outcome[0], Exception), "the run must end with an error"
        assert "terminate" in str(outcome[0]).lower()
        assert backend.infer(np.zeros((1, 3, 64, 64), np.float32)).shape == (1, 3, 64, 64), "later runs work"


def test_sink_that_wants_to_stop_ends_the_run_cleanly() -> None:
    sink = ListSink(stop_at=3)
    metrics = Pipeline(CountingSource(10_000), invert, sink, PipelineConfig(queue_size=2)).run()
    assert metrics.frames_out == 3
    assert no_pipeline_threads_left()


def test_max_frames_limits_capture() -> None:
    sink = ListSink()
    metrics = Pipeline(CountingSource(100), invert, sink, PipelineConfig(max_frames=12)).run()
    assert metrics.frames_in == 12 and len(sink.frames) == 12


def test_metrics_summary_and_json(tmp_path) -> None:
    metrics = Pipeline(CountingSource(20), invert, ListSink(), PipelineConfig()).run()
    d = metrics.as_dict()
    assert d["frames_out"] == 20 and d["fps"] > 0
    assert set(d["latency_ms"]) == {"p50", "p95", "p99"}
    assert d["latency_ms"]["p50"] <= d["latency_ms"]["p95"] <= d["latency_ms"]["p99"]
    assert set(d["stages_ms_per_frame"]) == {"capture", "stylize", "write"}
    assert "20 frames" in metrics.summary()
    path = tmp_path / "m.json"
    metrics.write_json(path)
    import json

    assert json.loads(path.read_text())["frames_out"] == 20


def jittery_invert(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Takes a random time per call, so concurrent workers finish out of order."""
    time.sleep(float(np.random.default_rng().uniform(0, 0.01)))
    return invert(images)


@pytest.mark.parametrize(("workers", "batch_size"), [(2, 1), (3, 2), (4, 5)])
def test_offline_workers_keep_every_frame_in_order(workers: int, batch_size: int) -> None:
    sink = ListSink()
    pipe = Pipeline(
        CountingSource(60),
        jittery_invert,
        sink,
        PipelineConfig(queue_size=2),
        batch_size=batch_size,
        workers=workers,
    )
    metrics = pipe.run()
    assert [f.index for f in sink.frames] == list(range(60))
    assert all(int(f.image[0, 0, 0]) == 255 - f.index for f in sink.frames)
    assert metrics.frames_out == 60 and metrics.dropped == 0
    assert no_pipeline_threads_left()


def test_live_workers_never_go_back_in_time() -> None:
    sink = ListSink()
    metrics = Pipeline(
        CountingSource(80, live=True), jittery_invert, sink, PipelineConfig(mode="live"), workers=3
    ).run()
    indices = [f.index for f in sink.frames]
    assert indices == sorted(set(indices)), "an overtaken frame is dropped, never shown late"
    assert metrics.frames_out + metrics.dropped == metrics.frames_in == 80


def test_a_failing_worker_stops_the_other_workers() -> None:
    calls = {"n": 0}

    def fail_once(images: Sequence[np.ndarray]) -> list[np.ndarray]:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("boom")
        return slow_invert(images)

    with pytest.raises(StageError, match="stylize stage failed: boom"):
        Pipeline(CountingSource(500), fail_once, ListSink(), PipelineConfig(queue_size=2), workers=3).run()
    assert no_pipeline_threads_left()


@pytest.mark.parametrize("workers", [1, 3])
def test_post_sees_each_input_with_its_output_in_order(workers: int) -> None:
    """The stateful post stage (the stabilizer) runs once per written frame, in output order."""
    seen: list[tuple[int, int]] = []

    def post(source: np.ndarray, styled: np.ndarray) -> np.ndarray:
        seen.append((int(source[0, 0, 0]), int(styled[0, 0, 0])))
        return styled // 2

    sink = ListSink()
    metrics = Pipeline(
        CountingSource(30), jittery_invert, sink, PipelineConfig(queue_size=2), workers=workers, post=post
    ).run()
    assert seen == [(i, 255 - i) for i in range(30)]
    assert [int(f.image[0, 0, 0]) for f in sink.frames] == [(255 - i) // 2 for i in range(30)]
    assert metrics.stages["post"].items == 30 and "post" in metrics.as_dict()["stages_ms_per_frame"]


def test_without_post_there_is_no_post_stage() -> None:
    metrics = Pipeline(CountingSource(3), invert, ListSink()).run()
    assert "post" not in metrics.stages

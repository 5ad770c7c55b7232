"""The three measurements of one benchmark cell: the backend alone, the pipeline, and file to file.

Every function opens what it measures (a :class:`~vstyle.stylizer.Stylizer` and its backend, a
source, a sink), warms it up, times it, releases it, and returns a dict of the row fields of
:mod:`vstyle.bench.results` that it knows (``frames``, ``fps``, ``timing_ms``, ``latency_ms``,
``dropped``, ``frames_in``, ``stages_ms``, ``workers``).

* :func:`backend_only` — ``backend.infer`` on frames preprocessed up front: the network and the
  backend's own copies, nothing else. ``workers`` calls are in flight at once, each with
  cores / workers threads, as the stylizer would run them; ``fps`` is frames / wall time of the
  timed calls, ``timing_ms`` the spread of single calls.
* :func:`pipeline_run` — :func:`vstyle.render.run` from the synthetic scene into the null sink:
  capture, pre/postprocessing, queues and threads, no decoding or encoding. ``offline`` takes
  frames as fast as they come and loses none; ``live`` releases them at ``live_fps`` in real time,
  newest frame wins, and reports capture→output latency percentiles and dropped frames.
* :func:`file_run` — :func:`vstyle.render.render` of a real clip into an H.264 file in a temporary
  folder: decode, scale to the cell's height, stylize, encode and mux, audio copied.

``fps`` of the pipeline and file runs counts the frames written after the first ``warmup`` ones
(rounded up to whole bursts of batch × workers frames, which are written together), over the time
from the last warm-up frame written to the end of the run (encoder flush and file close included);
``timing_ms`` is the spread of the interval between bursts, per frame. ``stages_ms`` are busy
milliseconds per frame of each stage over the whole run: capture (decoding and RGB conversion in
file mode; in live mode it includes waiting for the paced source), preprocess, infer, postprocess,
and write (encoding and muxing in file mode). In live mode ``fps`` is frames written over the whole
run and latency covers every frame written.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vstyle.capture import SyntheticScene, SyntheticSource
from vstyle.config import PipelineConfig, StylizeConfig
from vstyle.metrics import Metrics
from vstyle.render import render, run
from vstyle.sinks import NullSink
from vstyle.stylizer import Stylizer


def spread_ms(seconds: Sequence[float], of: str) -> dict[str, Any] | None:
    """``{"of", "p5", "median", "p95"}`` of durations in seconds, as milliseconds; ``None`` if empty."""
    if len(seconds) == 0:
        return None
    ms = 1e3 * np.asarray(seconds, dtype=np.float64)
    p5, median, p95 = np.percentile(ms, [5, 50, 95])
    return {
        "of": of,
        "p5": round(float(p5), 3),
        "median": round(float(median), 3),
        "p95": round(float(p95), 3),
    }


def synthetic_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """``count`` distinct frames of the synthetic scene (content does not change the network's work)."""
    scene = SyntheticScene(width, height)
    return [scene.render(k) for k in range(count)]


def backend_only(
    model: Path,
    backend: str,
    width: int,
    height: int,
    *,
    batch: int,
    workers: int | None,
    warmup: int,
    runs: int,
) -> dict[str, Any]:
    """Time ``runs`` calls of ``backend.infer`` on ``batch`` frames of ``width×height`` (module docstring)."""
    config = StylizeConfig(model=model, backend=backend, batch_size=batch, workers=workers)
    with Stylizer(config) as stylizer:
        n = max(1, stylizer.workers)
        images = synthetic_frames(width, height, min(8, batch * 2))
        # Preprocessed outside the timed region (the buffer is reused, so each batch is copied).
        batches = [
            stylizer.preprocess([images[(i * batch + j) % len(images)] for j in range(batch)]).copy()
            for i in range(2)
        ]
        infer = stylizer.backend.infer
        times: list[float] = []
        lock = threading.Lock()
        errors: list[BaseException] = []

        def work(calls: int, record: bool) -> None:
            try:
                for i in range(calls):
                    t0 = time.perf_counter()
                    infer(batches[i % len(batches)])
                    if record:
                        with lock:
                            times.append(time.perf_counter() - t0)
            except BaseException as exc:  # surfaced on the calling thread below
                errors.append(exc)

        def in_flight(total: int, record: bool) -> float:
            shares = [total // n + (1 if i < total % n else 0) for i in range(n)]
            threads = [
                threading.Thread(target=work, args=(s, record), name=f"vstyle-bench-{i}")
                for i, s in enumerate(shares)
                if s
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
            return time.perf_counter() - t0

        if warmup:
            in_flight(max(warmup, n), record=False)  # every worker's thread pool and arena warmed
        wall = in_flight(runs, record=True)
        frames = len(times) * batch
        median = float(np.median(times))
        return {
            "frames": frames,
            "fps": round(frames / wall, 3),
            "workers": n,
            "timing_ms": spread_ms(times, "backend call"),
            "latency_ms": None,
            "dropped": None,
            "frames_in": None,
            "stages_ms": {"infer": round(1e3 * median / batch, 3)},
        }


class _Clock:
    """Times of frames written, from the writer thread; the reference is the last warm-up frame."""

    def __init__(self, warmup: int, batch: int) -> None:
        self.warmup, self.batch = warmup, batch
        self.start: float | None = None
        self.written: list[float] = []

    def on_start(self, _source: object) -> None:
        self.start = time.perf_counter()  # after the model loaded and warmed up

    def on_frame(self, _frame: object) -> None:
        self.written.append(time.perf_counter())

    def result(self, end: float, metrics: Metrics) -> dict[str, Any]:
        written = self.written
        d = metrics.as_dict()
        # Frames of a batch, and of workers finishing together, are written in bursts of
        # batch × workers frames: the warm-up ends at a burst boundary (else the timed window would
        # start with a frame that was nearly done), and intervals are per burst, shared among its frames.
        group = self.batch * max(1, int(d.get("workers") or 1))
        skip = -(-self.warmup // group) * group
        if skip and len(written) >= skip + group:
            reference, timed = written[skip - 1], written[skip:]
        else:  # too few frames for a whole burst after the warm-up: time them all from the start
            reference, timed = (self.start if self.start is not None else end), written
        # Only whole bursts count, up to the last frame of the last one: a trailing partial burst
        # finishes together with the burst before it and would inflate the rate.
        whole = len(timed) // group * group
        if whole:
            timed = timed[:whole]
            end = timed[-1]
        marks = [reference, *timed][::group]
        intervals = [(b - a) / group for a, b in zip(marks, marks[1:])]
        stylizer = d.get("stylizer", {})
        stages = {
            "capture": d["stages_ms_per_frame"]["capture"],
            "preprocess": stylizer.get("preprocess_ms_per_frame", 0.0),
            "infer": stylizer.get("infer_ms_per_frame", 0.0),
            "postprocess": stylizer.get("postprocess_ms_per_frame", 0.0),
            "write": d["stages_ms_per_frame"]["write"],
        }
        return {
            "frames": len(timed),
            "fps": round(len(timed) / (end - reference), 3) if timed and end > reference else None,
            "workers": d.get("workers"),
            "timing_ms": spread_ms(intervals, "frame interval"),
            "stages_ms": {k: round(float(v), 3) for k, v in stages.items()},
            "width": d.get("output_size", [None, None])[0],
            "height": d.get("output_size", [None, None])[1],
        }


def pipeline_run(
    model: Path,
    backend: str,
    width: int,
    height: int,
    *,
    policy: str,
    batch: int,
    workers: int | None,
    warmup: int,
    runs: int,
    live_seconds: float,
    live_fps: float,
) -> dict[str, Any]:
    """The pipeline from the synthetic scene into the null sink (see module docstring)."""
    live = policy == "live"
    frames = max(1, round(live_seconds * live_fps)) if live else warmup + runs
    source = SyntheticSource(width, height, fps=live_fps, num_frames=frames, realtime=live)
    stylize = StylizeConfig(model=model, backend=backend, batch_size=1 if live else batch, workers=workers)
    pipeline = PipelineConfig(mode="live", queue_size=1) if live else PipelineConfig(mode="offline")
    clock = _Clock(0 if live else warmup, 1 if live else batch)
    metrics = run(source, NullSink(), stylize, pipeline, on_start=clock.on_start, on_frame=clock.on_frame)
    end = time.perf_counter()
    row = clock.result(end, metrics)
    if live:
        d = metrics.as_dict()
        lat = d["latency_ms"]
        row.update(
            fps=d["fps"],
            latency_ms=None if lat["p50"] is None else {k: lat[k] for k in ("p50", "p95", "p99")},
            dropped=d["dropped"],
            frames_in=d["frames_in"],
        )
    else:
        row.update(latency_ms=None, dropped=metrics.dropped, frames_in=metrics.frames_in)
    return row


def file_run(
    model: Path,
    backend: str,
    clip: Path,
    height: int,
    *,
    batch: int,
    workers: int | None,
    warmup: int,
    runs: int,
    folder: Path | None = None,
) -> dict[str, Any]:
    """Render ``warmup + runs`` frames of ``clip`` at ``height`` into a temporary H.264 file.

    On a GPU backend the file is decoded on NVDEC and encoded on NVENC where the GPU has them (as
    ``vstyle render --hwaccel auto``); the row's ``decoder`` and ``encoder`` say what ran.
    """
    from vstyle.hwvideo import (
        NVENC_FOR,
        device_frames_for_backend,
        hwaccel_for_backend,
        nvenc_unavailable_reason,
    )

    hwaccel = hwaccel_for_backend("auto", backend)
    decoder: list[str] = []

    def on_start(source: Any) -> None:
        decoder.append(getattr(source, "decoder", None) or "software")
        clock.on_start(source)

    with tempfile.TemporaryDirectory(prefix="vstyle-bench-", dir=folder) as tmp:
        out = Path(tmp) / f"out-{os.getpid()}.mp4"
        stylize = StylizeConfig(
            model=model, backend=backend, height=height, batch_size=batch, workers=workers
        )
        clock = _Clock(warmup, batch)
        metrics = render(
            clip,
            out,
            stylize=stylize,
            max_frames=warmup + runs,
            source_options=(
                {"hwaccel": hwaccel, "device_frames": device_frames_for_backend(backend)} if hwaccel else None
            ),
            sink_options={"overwrite": True, **({"hwaccel": hwaccel} if hwaccel else {})},
            on_start=on_start,
            on_frame=clock.on_frame,
        )
        end = time.perf_counter()
    row = clock.result(end, metrics)
    nvenc = hwaccel is not None and nvenc_unavailable_reason(NVENC_FOR["libx264"]) is None
    row.update(
        latency_ms=None, dropped=metrics.dropped, frames_in=metrics.frames_in,
        decoder=decoder[0] if decoder else "software", encoder="h264_nvenc" if nvenc else "libx264",
    )  # fmt: skip
    return row

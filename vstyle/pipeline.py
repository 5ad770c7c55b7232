"""Capture → stylize → write, each on its own thread, joined by bounded queues.

Two policies:

* **live** — newest frame wins. Each queue holds one frame (or ``queue_size``); putting into a
  full queue discards the oldest frame and counts it as dropped, so latency stays bounded by one
  frame per queue no matter how slow the network is.
* **offline** — block, lose nothing. A full queue makes the producer wait; every frame arrives.

The writer runs on the calling thread (windows must live on the main thread on some platforms,
and Ctrl-C lands there). An explicit end-of-stream sentinel closes each stage. The first stage
that fails sets a stop event that ends the others, and its error is raised once from
:meth:`Pipeline.run` as a :class:`~vstyle.errors.StageError` naming the stage.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vstyle.capture.base import Source
from vstyle.config import PipelineConfig
from vstyle.errors import StageError
from vstyle.frames import Frame
from vstyle.metrics import Metrics, StageStats
from vstyle.sinks.base import Sink

log = logging.getLogger(__name__)

#: Marks the end of the stream in a queue.
EOS: Any = object()
_POLL_S = 0.05

Process = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


class _Stopped(Exception):
    """Raised inside a stage when another stage asked everyone to stop."""


class Pipeline:
    """Runs one source through a processing function into one sink.

    Args:
        source: an open :class:`~vstyle.capture.base.Source`.
        process: images → images, e.g. :meth:`vstyle.stylizer.Stylizer.stylize_batch`.
        sink: an opened :class:`~vstyle.sinks.base.Sink`; the caller commits or aborts it.
        config: live/offline policy, queue size, frame limit.
        batch_size: frames per ``process`` call in offline mode (live mode uses 1).
        workers: stylize threads calling ``process`` concurrently (it must be thread-safe). On a
            few cores, several single-threaded inferences in flight lose less to the decoder and
            encoder preempting them than one multi-threaded inference does. Frames still reach the
            sink in order (offline) or newest-first with overtaken frames dropped (live).
        on_frame: called on the writer thread after each frame is written (progress bars).
        cancel: ends the ``process`` calls in flight (:meth:`vstyle.stylizer.Stylizer.cancel`); a
            stop calls it so that Ctrl-C is not kept waiting by a frame that takes seconds.
        post: ``(input image, stylized image) → image``, called on the writer thread on each frame
            about to be written, in output order (the stateful stabilizer); timed as stage
            ``"post"``.
    """

    def __init__(
        self,
        source: Source,
        process: Process,
        sink: Sink,
        config: PipelineConfig | None = None,
        *,
        batch_size: int = 1,
        workers: int = 1,
        on_frame: Callable[[Frame], None] | None = None,
        post: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        cancel: Callable[[], None] | None = None,
    ) -> None:
        self.source = source
        self.cancel = cancel
        self._cancelled = False
        self.post = post
        self.process = process
        self.sink = sink
        self.config = config or PipelineConfig()
        self.live = self.config.mode == "live"
        self.batch_size = 1 if self.live else batch_size
        self.on_frame = on_frame
        if workers < 1:
            raise ValueError(f"workers must be at least 1. Got {workers}")
        self.workers = workers
        self._workers_left = workers
        self._workers_lock = threading.Lock()
        size = self.config.queue_size if not self.live else min(self.config.queue_size, 1)
        self._captured: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._stylized: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._error: StageError | None = None
        self._error_lock = threading.Lock()
        self.metrics = Metrics(mode=self.config.mode)
        if post is not None:
            self.metrics.stages["post"] = StageStats()

    # -- queue policy -----------------------------------------------------------------------

    def _put(self, q: queue.Queue[Any], item: Any) -> None:
        # The end-of-stream marker never displaces a frame: it waits for room, in both modes.
        if self.live and item is not EOS:
            while True:
                try:
                    q.put_nowait(item)
                    return
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        q.get_nowait()
                        self.metrics.count_drop()
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue[Any]) -> Any:
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                return q.get(timeout=_POLL_S)
            except queue.Empty:
                continue

    # -- stages -----------------------------------------------------------------------------

    def _fail(self, stage: str, error: BaseException) -> None:
        with self._error_lock:
            if self._error is None:
                self._error = StageError(stage, error)
                self._error.__cause__ = error
                log.debug("%s stage failed", stage, exc_info=error)
        self.stop()

    def stop(self) -> None:
        """Ask every stage to finish soon (thread-safe); inferences in flight are cancelled where the
        backend can (``cancel``), so a stop does not wait for a slow network's frame."""
        self._stop.set()
        with contextlib.suppress(Exception):
            self.source.stop()
        if self.cancel is not None and self._workers_left > 0:
            self._cancelled = True
            with contextlib.suppress(Exception):
                self.cancel()

    def _guarded(self, stage: str, body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            except _Stopped:
                pass
            except (KeyboardInterrupt, SystemExit):
                self.stop()
                raise
            except BaseException as error:
                if stage == "stylize" and self._cancelled:
                    return  # an inference ended by the stop's cancel: not an error of its own
                self._fail(stage, error)

        return run

    def _capture(self) -> None:
        stats = self.metrics.stages["capture"]
        limit = self.config.max_frames
        pace = self.live and self.config.realtime and not self.source.info.live
        first_time: float | None = None
        start = time.monotonic()
        frames = iter(self.source.frames())
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                stats.add(time.perf_counter() - t0)
                if pace:
                    # A file in live mode plays at its own rate, as a camera would deliver it.
                    t = (
                        frame.time
                        if frame.time is not None
                        else frame.index / float(self.source.info.fps or 30)
                    )
                    first_time = t if first_time is None else first_time
                    delay = start + (t - first_time) - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    frame = Frame(frame.image, frame.index, frame.pts, frame.time_base, time.monotonic())
                self._put(self._captured, (self.metrics.frames_in, frame))
                self.metrics.frames_in += 1
                if limit is not None and self.metrics.frames_in >= limit:
                    break
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        self._put(self._captured, EOS)

    def _stylize(self) -> None:
        stats = self.metrics.stages["stylize"]
        try:
            while True:
                item = self._get(self._captured)
                if item is EOS:
                    # Hand the marker on to the next worker; capture has finished, so there is room.
                    self._captured.put(EOS)
                    break
                batch = [item]
                ended = False
                while len(batch) < self.batch_size:
                    more = self._get(self._captured)
                    if more is EOS:
                        self._captured.put(EOS)
                        ended = True
                        break
                    batch.append(more)
                t0 = time.perf_counter()
                images = self.process([frame.image for _, frame in batch])
                stats.add(time.perf_counter() - t0, len(batch))
                for (seq, frame), image in zip(batch, images):
                    source = frame.image if self.post is not None else None
                    self._put(self._stylized, (seq, frame.with_image(image), source))
                if ended:
                    break
        finally:
            with self._workers_lock:
                self._workers_left -= 1
                last = self._workers_left == 0
        if last:
            self._put(self._stylized, EOS)

    def _write(self) -> None:
        stats = self.metrics.stages["write"]
        latencies = self.metrics.latencies_s
        # Workers finish out of order: offline mode holds frames back until their turn comes;
        # live mode writes whatever is newest and drops a frame that was overtaken.
        pending: dict[int, tuple[Frame, np.ndarray | None]] = {}
        next_seq = 0
        while True:
            item = self._get(self._stylized)
            if item is EOS:
                return
            seq, frame, source = item
            if self.live:
                if seq < next_seq:
                    self.metrics.count_drop()
                    continue
                ready = [(frame, source)]
                next_seq = seq + 1
            else:
                pending[seq] = (frame, source)
                ready = []
                while next_seq in pending:
                    ready.append(pending.pop(next_seq))
                    next_seq += 1
            for frame, source in ready:
                if self.post is not None:
                    t0 = time.perf_counter()
                    frame = frame.with_image(self.post(source, frame.image))  # type: ignore[arg-type]
                    self.metrics.stages["post"].add(time.perf_counter() - t0)
                t0 = time.perf_counter()
                self.sink.write(frame)
                done = time.monotonic()
                stats.add(time.perf_counter() - t0)
                latencies.append(done - frame.captured_at)
                self.metrics.frames_out += 1
                self.metrics.wall_s = done - self._started
                if self.on_frame is not None:
                    self.on_frame(frame)
                if self.sink.wants_stop:
                    log.info("output asked to stop (window closed)")
                    self.stop()
                    return

    # -- driver -----------------------------------------------------------------------------

    def run(self) -> Metrics:
        """Run to the end of the stream, a frame limit, a closed window or Ctrl-C.

        Returns:
            the run's :class:`~vstyle.metrics.Metrics`.

        Raises:
            StageError: the first stage that failed, with the original error as ``__cause__``.
            KeyboardInterrupt: after every stage has stopped; ``metrics.interrupted`` is set and
                the caller's sink context commits what was written.
        """
        self._started = time.monotonic()
        threads = [threading.Thread(target=self._guarded("capture", self._capture), name="vstyle-capture")]
        threads += [
            threading.Thread(target=self._guarded("stylize", self._stylize), name=f"vstyle-stylize-{i}")
            for i in range(self.workers)
        ]
        try:
            # Started inside the try: a Ctrl-C that lands between two starts must still stop and
            # join the stages already running (otherwise an endless source keeps the process alive).
            for thread in threads:
                thread.start()
            self._guarded("write", self._write)()
        except KeyboardInterrupt:
            self.metrics.interrupted = True
            raise
        finally:
            self.stop()
            for thread in threads:
                if thread.ident is not None:  # started
                    thread.join()
            source_drops = getattr(self.source, "dropped", 0)
            if isinstance(source_drops, int) and source_drops:
                self.metrics.count_drop(source_drops)
        if self._error is not None:
            raise self._error
        return self.metrics

"""The two jobs users run: render a file (offline) and run a live filter."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import Any

from vstyle.capture import open_source
from vstyle.capture.base import Source
from vstyle.capture.file import FileSource
from vstyle.config import PipelineConfig, StylizeConfig
from vstyle.errors import ConfigError, EndReached
from vstyle.frames import Frame
from vstyle.metrics import Metrics
from vstyle.pipeline import Pipeline
from vstyle.sinks import open_sink
from vstyle.sinks.base import Sink
from vstyle.sinks.display import DisplaySink
from vstyle.sinks.resume import read_partial
from vstyle.sinks.tee import TeeSink
from vstyle.sinks.video import VideoFileSink
from vstyle.styles import resolve_model, style_choices
from vstyle.stylizer import Stylizer, scaled_size
from vstyle.switcher import StyleSwitcher

log = logging.getLogger(__name__)

#: The rate a fitted height aims at when the source does not say its own.
FIT_FALLBACK_FPS = 30
#: The smallest side of a frame the networks take: their reflection padding needs a few pixels
#: even after two stride-2 convolutions (a 1-pixel side fails inside ONNX Runtime).
MIN_FRAME_SIDE = 16


#: The attribute :func:`run` sets on a ``KeyboardInterrupt`` it lets through: what the sink kept
#: (see :meth:`Sink.kept <vstyle.sinks.base.Sink.kept>`), so that the caller can say what survived.
KEPT = "vstyle_kept"


def run(
    source: Source,
    sink: Sink,
    stylize: StylizeConfig,
    pipeline: PipelineConfig,
    *,
    on_start: Callable[[Source], None] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    switch_styles: Sequence[str] = (),
    fit_height: bool = False,
) -> Metrics:
    """Open ``source``, ``sink`` and a stylizer, run the pipeline, and release all of them.

    Resources are released in reverse order even after a half-finished setup. The sink commits its
    output on success or Ctrl-C and discards it on any error, so no half-written file is left.

    ``switch_styles`` names more styles a window's keys switch to while it runs
    (:class:`~vstyle.switcher.StyleSwitcher`); each is checked before the stream starts and opened
    when first chosen. ``fit_height`` replaces ``stylize.height`` by the largest height at which the
    network keeps up with the source's frame rate on this machine (:meth:`Stylizer.fit_height`).

    A ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM turned into one) is raised again after everything
    is closed, carrying the sink's :meth:`~vstyle.sinks.base.Sink.kept` as attribute :data:`KEPT`.
    """
    try:
        return _run(source, sink, stylize, pipeline, on_start, on_frame, switch_styles, fit_height)
    except KeyboardInterrupt as error:
        setattr(error, KEPT, sink.kept())  # the sink has closed: its output is committed or gone
        raise


def _run(
    source: Source,
    sink: Sink,
    stylize: StylizeConfig,
    pipeline: PipelineConfig,
    on_start: Callable[[Source], None] | None,
    on_frame: Callable[[Frame], None] | None,
    switch_styles: Sequence[str],
    fit_height: bool,
) -> Metrics:
    if stylize.stabilize > 0 and getattr(source, "device_frames", False):
        raise ConfigError(
            "the stabilizer reads the input frames on the host: decode without device_frames "
            "(vstyle render --stabilize does so by itself)"
        )
    with ExitStack() as stack:
        stack.enter_context(source)
        info = source.info
        stylizer = stack.enter_context(Stylizer(stylize))
        if fit_height:
            _interruptible(
                stylizer.cancel,
                stylizer.fit_height,
                info.width,
                info.height,
                float(info.fps or FIT_FALLBACK_FPS),
            )
        stylize = stylizer.config
        width, height = scaled_size(info.width, info.height, stylize.height)
        if min(width, height) < MIN_FRAME_SIDE:
            raise ConfigError(
                f"frames of {width}×{height} pixels{' after scaling' if stylize.height else ''} are too small: "
                f"a style network needs at least {MIN_FRAME_SIDE} a side; use a larger input or --height"
            )
        stack.enter_context(sink)
        count = info.frame_count
        if count is not None and pipeline.max_frames is not None:
            count = min(count, pipeline.max_frames)  # what the sink will get
        sink.open(dataclasses.replace(info, width=width, height=height, frame_count=count))
        _interruptible(stylizer.cancel, stylizer.warmup, info.width, info.height)
        stylize_batch = stylizer.stylize_batch
        switcher = None
        if switch_styles:
            fit = (info.width, info.height, float(info.fps or FIT_FALLBACK_FPS)) if fit_height else None
            switcher = stack.enter_context(_switcher(stylizer, stylize, switch_styles, fit))
            stylize_batch = switcher.stylize_batch
            for part in sink.sinks if isinstance(sink, TeeSink) else [sink]:
                if isinstance(part, DisplaySink):
                    part.on_key, part.caption = switcher.on_key, switcher.caption
        if on_start is not None:
            on_start(source)
        post = None
        if stylize.stabilize > 0:
            from vstyle.temporal.stabilizer import Stabilizer

            post = Stabilizer(stylize.stabilize)
        job = Pipeline(
            source, stylize_batch, sink, pipeline,
            batch_size=stylize.batch_size, workers=stylizer.workers, on_frame=on_frame, post=post,
            cancel=(switcher or stylizer).cancel,
        )  # fmt: skip
        try:
            metrics = job.run()
        finally:
            backend = stylizer.backend
            job.metrics.extra.update(
                {
                    "backend": backend.name,
                    "device": backend.device,
                    "model": str(stylizer.model_path),
                    "input_size": [info.width, info.height],
                    "output_size": [width, height],
                    "batch_size": job.batch_size,
                    "workers": job.workers,
                    "stabilize": stylize.stabilize,
                    "stylizer": stylizer.times.as_dict(),
                }
            )
            if switcher is not None:
                job.metrics.extra.update({"styles": switcher.names, "style_switches": switcher.switches})
        return metrics


def _interruptible(cancel: Callable[[], None], fn: Callable[..., Any], *args: Any) -> None:
    """``fn(*args)`` on a helper thread, so that Ctrl-C reaches this thread at once (a signal waits
    for the C call it lands in, a network's first frame at 4K takes seconds) and cancels it."""
    failure: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        try:
            fn(*args)
        except BaseException as error:  # handed to the caller below
            failure.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=target, name="vstyle-warmup", daemon=True)
    thread.start()
    try:
        # An Event, not Thread.join(timeout): a Ctrl-C that interrupts join() leaves CPython
        # (before 3.13) believing the thread has ended, and a later join() returns at once.
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel()
        while True:  # a second Ctrl-C still waits: the thread must not outlive the interpreter
            try:
                done.wait()
                break
            except KeyboardInterrupt:
                cancel()
        raise
    finally:
        if done.is_set():
            thread.join()
    if failure:
        raise failure[0]


def _switcher(
    first: Stylizer, config: StylizeConfig, styles: Sequence[str], fit: tuple[int, int, float] | None
) -> StyleSwitcher:
    """A switcher from the open first style to ``styles`` (style names, .onnx files or ``all``);
    ``fit`` fits each style's height to the source as it opens (see :class:`StyleSwitcher`)."""
    assert first.model_path is not None
    names, configs = [first.model_path.stem], []
    for choice in style_choices(styles):  # an unknown name fails now, not mid-stream
        if choice.name in names:
            continue
        names.append(choice.name)
        configs.append(dataclasses.replace(config, model=choice.model, style=choice.style))
    return StyleSwitcher(first, names, configs, fit=fit)


def render(
    input: str | Path,
    output: str | Path,
    *,
    stylize: StylizeConfig | None = None,
    max_frames: int | None = None,
    source_options: dict[str, Any] | None = None,
    sink_options: dict[str, Any] | None = None,
    on_start: Callable[[Source], None] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    resume: bool = False,
) -> Metrics:
    """Stylize a video file (or image sequence, or ``"synthetic"``) into ``output``, losing no frame.

    Args:
        input: a video file, an image folder or glob, a single image, or a synthetic source spec.
        output: a video file (audio and other streams of the input are copied), an image pattern
            or folder, a single image (for an input of one frame, e.g. a photo or
            ``max_frames=1``), or ``"null"``.
        stylize: model, backend, height, batch size.
        max_frames: stop after this many frames.
        source_options: passed to the source (e.g. ``num_frames`` for ``"synthetic"``, ``start``/``end``
            in seconds to render a cut of a video file).
        sink_options: passed to the sink (``crf``, ``preset``, ``codec``, ``overwrite``).
        resume: when ``output`` (an MP4 or MOV file) exists, continue it: it must be what an
            interrupted render of the same input with the same settings left (every video file
            carries a record of its render), and only the frames after its last one are rendered
            and joined to it; its own frames are copied, not encoded again. Where ``output`` does
            not exist, the render starts from the beginning.

    Returns:
        the run's metrics; ``extra["resumed_frames"]`` counts the frames the continued file
        already had. When it already holds every frame, nothing is rendered or written and
        ``extra["complete"]`` is ``True``.

    Raises:
        SinkError: with ``resume``, ``output`` is not an interrupted render of this input with
            these settings (the message names the settings that differ).
    """
    stylize = stylize or StylizeConfig()
    source_options = dict(source_options or {})
    sink = open_sink(output, **(sink_options or {}))
    pipeline = PipelineConfig(mode="offline", max_frames=max_frames)
    partial = None
    if isinstance(sink, VideoFileSink):
        sink.record = _job_record(input, stylize, max_frames, source_options)
        sink.resume = resume
        if resume and sink.path.is_file():
            partial = read_partial(sink.path)
            sink.continue_from(partial)  # the frame size is checked once the source is open
            if not isinstance(open_source(input, **source_options), FileSource):
                raise ConfigError(f"only a render of a video file can be continued, and {input} is not one")
            source_options.update(after=partial.after, offset=partial.time_offset)
            if max_frames is not None and max_frames > partial.frames:
                pipeline = dataclasses.replace(pipeline, max_frames=max_frames - partial.frames)
    elif resume:
        raise ConfigError(f"only a video file can be continued, not {output}; drop --resume")
    done = {"resumed_frames": partial.frames if partial else 0}
    try:
        if partial is not None and max_frames is not None and max_frames <= partial.frames:
            raise EndReached(f"{output} already holds {max_frames} frames")
        metrics = run(
            open_source(input, **source_options),
            sink,
            stylize,
            pipeline,
            on_start=on_start,
            on_frame=on_frame,
        )
    except EndReached:
        if partial is None:
            raise
        log.info("%s already holds every frame (%d); nothing to do", output, partial.frames)
        metrics = Metrics(mode="offline")
        done["complete"] = True
    metrics.extra.update(done)
    return metrics


def _job_record(
    input: str | Path, stylize: StylizeConfig, max_frames: int | None, source_options: dict[str, Any]
) -> dict[str, Any]:
    """What makes a render's picture: the record a video file keeps, so that it is only ever
    continued by the same render (:mod:`vstyle.sinks.resume`)."""
    from vstyle.models.metadata import file_sha256

    path = Path(input).expanduser()
    cut = {key: source_options.get(key) for key in ("start", "end")}
    return {
        "input": {"name": path.name, "bytes": path.stat().st_size if path.is_file() else None},
        "cut": {key: None if value is None else str(Fraction(value)) for key, value in cut.items()},
        "max_frames": max_frames,
        "model": file_sha256(resolve_model(stylize.model, stylize.style)),
        "height": stylize.height,
        "strength": stylize.strength,
        "stabilize": stylize.stabilize,
        "precision": stylize.precision,
    }


def live(
    input: str | Path | int,
    output: str | Path | Sequence[str | Path] = "window",
    *,
    stylize: StylizeConfig | None = None,
    max_frames: int | None = None,
    source_options: dict[str, Any] | None = None,
    sink_options: dict[str, Any] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    switch_styles: Sequence[str] = (),
    fit_height: bool = False,
    mirror: bool = False,
) -> Metrics:
    """Run a live filter: newest frame wins, drops are counted, latency stays bounded.

    Args:
        input: a camera index, a file (played at its own rate) or ``"synthetic"``.
        output: ``"window"``, ``"null"``, ``"virtualcam"`` or a video file to record to, or several
            of them at once (``["window", "virtualcam", "take.mp4"]``: :class:`TeeSink`).
        sink_options: passed to the video file sinks (to the one sink, when there is no file).
        fit_height: process at the largest height at which the network keeps up with the
            source's frame rate here (measured before the stream starts) instead of
            ``stylize.height``.
        switch_styles: more styles (names or .onnx files) the window's keys switch to: ``n``/``→``
            next, ``p``/``←`` previous, ``1``-``9`` by number, ``o`` the original picture.
        mirror: show the window's picture mirrored (a self-view); other outputs are unchanged.
    """
    specs = [output] if isinstance(output, (str, os.PathLike)) else list(output)
    sinks = [open_sink(spec) for spec in specs]
    for sink in sinks:
        if isinstance(sink, DisplaySink):
            sink.mirror = mirror
    options = sink_options or {}
    if options:
        files = [i for i, sink in enumerate(sinks) if isinstance(sink, VideoFileSink)]
        for i in files or range(len(sinks)):
            sinks[i] = open_sink(specs[i], **options)
    return run(
        open_source(input, **(source_options or {})),
        sinks[0] if len(sinks) == 1 else TeeSink(sinks),
        stylize or StylizeConfig(),
        PipelineConfig(mode="live", max_frames=max_frames, queue_size=1),
        on_frame=on_frame,
        switch_styles=switch_styles,
        fit_height=fit_height,
    )

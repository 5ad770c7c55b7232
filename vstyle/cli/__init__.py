"""The ``vstyle`` command line: the only place that parses arguments, prints, logs and exits."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

from vstyle import __version__
from vstyle.errors import VStyleError

log = logging.getLogger("vstyle")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``docker stop``, a service manager): stop as Ctrl-C does.

    A subclass of ``KeyboardInterrupt`` so every place that finishes cleanly on Ctrl-C (sinks keep a
    playable file, training saves a checkpoint) does the same here instead of dying mid-write.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while a command runs (main thread only; a SIGTERM
    the parent chose to ignore stays ignored)."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    ):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(error: KeyboardInterrupt) -> int:
    return EXIT_TERMINATED if isinstance(error, Terminated) else EXIT_INTERRUPTED


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _unit(text: str, *, closed: bool) -> float:
    """A number in [0, 1] (``closed``) or [0, 1)."""
    interval = "[0, 1]" if closed else "[0, 1)"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in {interval}, got {text!r}") from None
    if not (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0):
        raise argparse.ArgumentTypeError(f"must be in {interval}, got {value}")
    return value


def _strength(text: str) -> float:
    """The stabilizer's strength: [0, 1) (1 would freeze the first frame)."""
    return _unit(text, closed=False)


def _share(text: str) -> float:
    """The style's share of the picture: [0, 1]."""
    return _unit(text, closed=True)


def _height(text: str) -> int | str:
    return "auto" if text.strip().lower() == "auto" else _positive(text)


def _no_auto_height(args: argparse.Namespace) -> None:
    from vstyle.errors import ConfigError

    if args.height == "auto":
        raise ConfigError(
            f"--height auto fits the network to a live source's frame rate; vstyle {args.command} "
            "needs a number (or no --height for the input's own)"
        )


def _frame_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels such as 1280x720, got {text!r}")
    return int(width), int(height)


def _camera_options(args: argparse.Namespace, source: object) -> dict[str, object]:
    """``width``/``height``/``fps`` source options for ``--camera-size``/``--camera-fps``."""
    from vstyle.capture import CameraSource, open_source
    from vstyle.errors import ConfigError

    if args.camera_size is None and args.camera_fps is None:
        return {}
    if not isinstance(open_source(source), CameraSource):
        raise ConfigError(
            f"--camera-size/--camera-fps ask a camera for a format, and {source!r} is not one; "
            "use --height to scale what is stylized"
        )
    if args.camera_fps is not None and not args.camera_fps > 0:
        raise ConfigError(f"--camera-fps must be positive, got {args.camera_fps:g}")
    options: dict[str, object] = {}
    if args.camera_size is not None:
        options["width"], options["height"] = args.camera_size
    if args.camera_fps is not None:
        options["fps"] = args.camera_fps
    return options


def _clock(text: str) -> Fraction:
    """A time as seconds (``75``, ``75.5``) or ``[HH:]MM:SS[.fff]`` (``1:15.5``), as FFmpeg's ``-ss``."""
    parts = text.strip().split(":")
    try:
        if len(parts) > 3 or any(not part or part.startswith(("-", "+")) for part in parts):
            raise ValueError
        values = [Fraction(part) for part in parts]
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected seconds (75.5) or [HH:]MM:SS[.fff] (1:15.5), got {text!r}"
        ) from None
    if any(v >= 60 for v in values[1:]) or any(v.denominator != 1 for v in values[:-1]):
        raise argparse.ArgumentTypeError(f"minutes and seconds after a colon run 0-59, got {text!r}")
    seconds = Fraction(0)
    for value in values:
        seconds = seconds * 60 + value
    return seconds


def _cut_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--start", type=_clock, metavar="TIME", help="begin the cut here: seconds or [HH:]MM:SS[.fff]"
    )
    end = p.add_mutually_exclusive_group()
    end.add_argument("--end", type=_clock, metavar="TIME", help="end the cut before this time")
    end.add_argument("--duration", type=_clock, metavar="TIME", help="length of the cut")


def _cut_options(args: argparse.Namespace, source: object) -> dict[str, Fraction]:
    """``start``/``end`` source options for ``--start``/``--end``/``--duration`` (video files only)."""
    from vstyle.capture import open_source
    from vstyle.capture.file import FileSource
    from vstyle.errors import ConfigError

    if args.start is None and args.end is None and args.duration is None:
        return {}
    if not isinstance(open_source(source), FileSource):
        raise ConfigError(
            f"--start/--end/--duration cut a video file, and {source!r} is not one; "
            "use --max-frames to stop early"
        )
    start = args.start or Fraction(0)
    end = args.end if args.duration is None else start + args.duration
    options = {"start": start} if start else {}
    return {**options, **({"end": end} if end is not None else {})}


def _stabilize_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stabilize",
        type=_strength,
        nargs="?",
        const=0.6,
        default=0.0,
        metavar="STRENGTH",
        help="blend each frame with the flow-warped previous output where the flow is trusted "
        "(inference-time stabilizer; STRENGTH in [0, 1), default 0.6 when given, off otherwise)",
    )


def _model_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", type=Path, help="an .onnx model, a .pt checkpoint or a teacher folder")
    group.add_argument("--style", help="a style name (see `vstyle styles`); default: the bundled default")
    p.add_argument(
        "--backend", default="auto", help="auto (default), onnxruntime, onnxruntime-cuda, torch, tensorrt"
    )
    p.add_argument(
        "--height",
        type=_height,
        help="process and output at this height (aspect kept); live: 'auto' for the largest at which "
        "the network keeps up with the camera here",
    )
    p.add_argument(
        "--threads", type=_positive, help="CPU threads per network call (default: cores / workers)"
    )
    p.add_argument(
        "--workers",
        type=_positive,
        help="frames stylized at once, each on its own thread (default: 2 on a CPU)",
    )
    p.add_argument(
        "--precision",
        choices=("fp32", "fp16", "int8"),
        help="run the network at this precision (default: the model's; FP16 on TensorRT); "
        "ONNX Runtime gets a converted copy, cached in the engine folder",
    )
    p.add_argument(
        "--cuda-graphs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="capture and replay CUDA graphs (tensorrt, torch on CUDA; default: the backend's)",
    )
    p.add_argument(
        "--strength",
        type=_share,
        default=1.0,
        metavar="S",
        help="share of the style in the output, 0-1: below 1 the input shows through (default 1)",
    )
    _stabilize_arg(p)
    p.add_argument("--json", type=Path, metavar="PATH", help="write the run's metrics as JSON")
    p.add_argument("--max-frames", type=_positive, metavar="N", help="stop after N frames")


def _encode_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--crf", type=int, help="x264 quality, lower is better (default 18)")
    p.add_argument("--preset", help="x264 preset (default veryfast)")
    p.add_argument("--codec", help="video encoder (default libx264)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")


def _hwaccel_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hwaccel",
        choices=("auto", "cuda", "none"),
        default="auto",
        help="decode video files on NVDEC and encode on NVENC, falling back to the CPU with a warning "
        "where the GPU has no such engine (default auto: when the network runs on a CUDA GPU)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vstyle", description="Turn live or recorded video into moving paintings."
    )
    parser.add_argument("--version", action="version", version=f"vstyle {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "render",
        help="stylize a video file (audio kept), image sequence or synthetic clip",
        epilog="several inputs: name each output with {stem} (the input's name without extension) and "
        "optionally {style}, e.g. -o 'styled/{stem}-{style}.mp4'; a failed input is reported and the "
        "others go on",
    )
    p.add_argument(
        "input", nargs="+", help="video file, image folder or glob, photo, or synthetic[:WxH@FPS]; or several"
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="video file, image folder/pattern, image (one-frame input), or null; {stem}/{style} are filled in",
    )
    _model_args(p)
    _cut_args(p)
    _encode_args(p)
    _hwaccel_arg(p)
    p.add_argument("--batch", type=_positive, default=1, help="frames per network call (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    p = sub.add_parser(
        "live",
        help="live filter from a camera (newest frame wins)",
        epilog="window keys: q/Esc quit, n/right next style, p/left previous, 1-9 style by number, "
        "o original picture, +/- style strength, f full screen, s snapshot (PNG)",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=None, metavar="N", help="camera index (default 0)")
    src.add_argument("--input", help="a video file played at its own rate, or synthetic[:WxH@FPS]")
    p.add_argument(
        "--no-display",
        action="store_true",
        help="no window (with no other output: a null one, for benchmarks)",
    )
    p.add_argument(
        "--virtual-cam",
        action="store_true",
        help="feed a virtual camera, previewed in the window unless --no-display (needs vstyle[virtualcam])",
    )
    p.add_argument(
        "--record",
        metavar="PATH",
        help="also write the stylized stream to a video file (alone with --no-display)",
    )
    p.add_argument(
        "--camera-size", type=_frame_size, metavar="WxH", help="ask the camera for this size (e.g. 1280x720)"
    )
    p.add_argument("--camera-fps", type=float, metavar="FPS", help="ask the camera for this frame rate")
    p.add_argument(
        "--styles",
        nargs="+",
        metavar="STYLE",
        help="styles (names or .onnx files) the window's keys switch to: n/right next, p/left previous, "
        "1-9 by number, o the original picture (default: every bundled style)",
    )
    _model_args(p)
    _cut_args(p)
    _hwaccel_arg(p)

    p = sub.add_parser("demo", help="the main job on embedded defaults: a generated clip, the default style")
    p.add_argument(
        "-o", "--output", type=Path, help="output video (default: vstyle-demo.mp4, never overwritten)"
    )
    p.add_argument("--frames", type=_positive, default=90, help="length of the generated clip (default 90)")
    _model_args(p)

    p = sub.add_parser("export", help="checkpoint or teacher folder → ONNX + JSON sidecar")
    p.add_argument("checkpoint", type=Path, help="a .pt checkpoint from vstyle or a teacher folder")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17, default 17)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")

    p = sub.add_parser("train", help="train a style network: from a teacher or a painting, temporally stable")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--recipe", help="a bundled model's recipe, e.g. scream-tiny (reproduces it)")
    what.add_argument("--teacher", help="distil this teacher: a style name, teacher folder or .onnx")
    what.add_argument("--style-image", help="train from this painting with the perceptual loss")
    p.add_argument(
        "--arch",
        help="student architecture: quality, quality-aa, engstrom (the teacher's own layout), fast, fast-hr "
        "(fast with its residual blocks at 1/4 resolution), fast-hr6 (the same with six) or tiny (default fast)",
    )
    p.add_argument(
        "--teacher-grid",
        type=_positive,
        help="learn the mean of the teacher's outputs over N×N grid offsets (4 for imported teachers; "
        "default 1, the teacher's own output)",
    )
    p.add_argument(
        "--teacher-blur",
        type=float,
        help="Gaussian sigma in pixels applied to the teacher's target (default 0, none)",
    )
    p.add_argument("--steps", type=_positive, help="optimizer steps")
    p.add_argument("--batch", type=_positive, help="frame pairs per step")
    p.add_argument("--crop", type=_positive, help="training crop size, pixels")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument(
        "--ema",
        type=float,
        help="export a moving average of the weights with this decay per step, e.g. 0.98 (default 0, off)",
    )
    p.add_argument(
        "--out-blur",
        type=float,
        help="Gaussian sigma in pixels of a fixed low-pass set on the finished network (default 0, none)",
    )
    p.add_argument("--clips", nargs="+", help="real clips for temporal pairs (shared clip names or files)")
    p.add_argument("--real-fraction", type=float, help="share of steps on real clip pairs (0 for none)")
    p.add_argument("--photo-size", type=_positive, help="short side photos are resized to (default 256)")
    p.add_argument("--max-photos", type=_positive, help="use at most N training photos")
    p.add_argument("--photos", type=Path, help="photo folder (default the shared data's photos)")
    p.add_argument(
        "--out", type=Path, help="run folder (default runs/<recipe or name>); resumes if it holds one"
    )
    p.add_argument("--restart", action="store_true", help="replace a run of another recipe in --out")
    p.add_argument(
        "--bundle",
        action="store_true",
        help="with --recipe: then evaluate it and install it as a bundled style with its model card",
    )
    p.add_argument("--threads", type=_positive, help="CPU threads (default all cores)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    p = sub.add_parser("eval", help="measure a style network: flicker, fidelity to a teacher, style scores")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", type=Path, help="an .onnx model, a .pt checkpoint or a teacher folder")
    which.add_argument("--style", help="a style name (see `vstyle styles`); default: the bundled default")
    p.add_argument("--teacher", help="compare with this teacher: a style name, teacher folder or .onnx")
    p.add_argument("--style-image", help="painting for the Gram style loss: a path or a shared styles/ name")
    p.add_argument(
        "--clips", nargs="+", help="clips for the warping error: shared video/ names or files (default: 3)"
    )
    p.add_argument("--frames", type=_positive, default=24, help="consecutive frames per clip (default 24)")
    p.add_argument("--height", type=_positive, default=180, help="processing height of clips (default 180)")
    p.add_argument(
        "--photos", type=int, default=8, metavar="N", help="held-out photos, 0 for none (default 8)"
    )
    p.add_argument("--photo-size", type=_positive, default=256, help="short side of photos (default 256)")
    p.add_argument("--out", type=Path, help="folder for eval.json and PNGs (default eval/<model stem>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing eval.json in --out")
    p.add_argument("--no-middlebury", action="store_true", help="skip the ground-truth-flow pairs")
    p.add_argument("--backend", default="auto", help="auto (default), onnxruntime, onnxruntime-cuda")
    _stabilize_arg(p)

    p = sub.add_parser("build", help="ONNX → TensorRT engine in the engine cache (NVIDIA GPU + TensorRT)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", type=Path, help="an .onnx model, a .pt checkpoint or a teacher folder")
    which.add_argument("--style", help="a style name (see `vstyle styles`); default: the bundled default")
    p.add_argument(
        "--precision", choices=("fp32", "fp16", "int8"), default="fp16", help="precision (default fp16)"
    )
    p.add_argument("--min", dest="min_hw", metavar="HxW", help="smallest frame, HEIGHTxWIDTH (default small)")
    p.add_argument("--opt", dest="opt_hw", metavar="HxW", help="frame size to tune for (default 720x1280)")
    p.add_argument("--max", dest="max_hw", metavar="HxW", help="largest frame (default 1088x1920)")
    p.add_argument("--max-batch", type=_positive, default=1, metavar="N", help="largest batch (default 1)")
    p.add_argument("--workspace", type=float, default=4.0, metavar="GIB", help="workspace (default 4)")
    p.add_argument("--engine-dir", type=Path, help="engine folder (default $VSTYLE_ENGINE_DIR or engines/)")
    p.add_argument("--calib", nargs="+", type=Path, metavar="PATH", help="INT8 calibration clips/images")
    p.add_argument("--force", action="store_true", help="rebuild even when a matching engine is cached")

    _bench_parser(sub)
    sub.add_parser("info", help="versions, backends and devices")
    sub.add_parser("styles", help="list the styles --style accepts")
    return parser


def _stylize_config(args: argparse.Namespace, batch: int = 1):
    from vstyle.config import StylizeConfig

    return StylizeConfig(
        model=args.model, style=args.style, backend=args.backend,
        height=None if args.height == "auto" else args.height, threads=args.threads,
        batch_size=batch, workers=args.workers, stabilize=getattr(args, "stabilize", 0.0),
        strength=getattr(args, "strength", 1.0),
        precision=getattr(args, "precision", None), cuda_graphs=getattr(args, "cuda_graphs", None),
    )  # fmt: skip


def _finish(metrics, args: argparse.Namespace) -> None:
    print(metrics.summary(), file=sys.stderr)
    if args.json is not None:
        metrics.write_json(args.json)


def _sink_options(args: argparse.Namespace) -> dict[str, object]:
    """Only what the user gave: an option the output cannot use is then an error, not ignored."""
    options: dict[str, object] = {
        k: getattr(args, k) for k in ("crf", "preset", "codec") if getattr(args, k) is not None
    }
    if args.overwrite:
        options["overwrite"] = True
    return options


def _hw_options(
    args: argparse.Namespace, source: object, output: object, sink_options: dict[str, object]
) -> tuple[dict[str, object], dict[str, object]]:
    """Source and sink options for ``--hwaccel``: NVDEC for a video file input, NVENC for a video
    file output. ``auto`` asks for them only when the network runs on a CUDA GPU."""
    from vstyle.capture import open_source
    from vstyle.capture.file import FileSource
    from vstyle.errors import ConfigError
    from vstyle.hwvideo import device_frames_for_backend, hwaccel_for_backend
    from vstyle.sinks import open_sink
    from vstyle.sinks.video import VideoFileSink

    if args.hwaccel == "none":
        return {}, sink_options
    hwaccel = hwaccel_for_backend(args.hwaccel, args.backend)
    if hwaccel is None:
        return {}, sink_options
    decode = isinstance(open_source(source), FileSource)
    encode = isinstance(open_sink(output, **sink_options), VideoFileSink)
    if args.hwaccel == "cuda" and not (decode or encode):
        raise ConfigError(
            f"--hwaccel cuda decodes and encodes video files, but neither {source!r} nor {output!r} is one; "
            "drop --hwaccel"
        )
    source_options: dict[str, object] = {}
    if decode:
        # A GPU backend takes NVDEC's frames where they are, with no host copy; the stabilizer
        # reads the input frames on the host, so with it they come down as before.
        on_gpu = not getattr(args, "stabilize", 0.0) and device_frames_for_backend(args.backend)
        source_options = {"hwaccel": hwaccel, **({"device_frames": True} if on_gpu else {})}
    return source_options, ({**sink_options, "hwaccel": hwaccel} if encode else sink_options)


#: Fields ``-o`` and ``--json`` of ``vstyle render`` may name, filled in for each input.
TEMPLATE_FIELDS = ("stem", "style")
_FIELD = re.compile(r"\{(" + "|".join(TEMPLATE_FIELDS) + r")\}")


def _render_jobs(args: argparse.Namespace) -> list[tuple[str, str, Path | None]]:
    """``(input, output, json)`` for each input of ``vstyle render``, every name checked up front.

    Raises:
        ConfigError: several inputs but an output (or ``--json``) without ``{stem}``, two inputs
            that would write the same file, or an output that is one of the inputs.
    """
    from vstyle.errors import ConfigError
    from vstyle.sinks.staging import same_file
    from vstyle.styles import default_style

    style = args.style or (Path(args.model).stem if args.model else default_style())
    several = len(args.input) > 1
    named = [("-o", args.output)] + ([("--json", str(args.json))] if args.json is not None else [])
    for flag, template in named:
        if several and template != "null" and "{stem}" not in template:
            raise ConfigError(
                f"{len(args.input)} inputs need {flag} to name each output with {{stem}}, e.g. "
                f"'styled/{{stem}}.mp4'; got {template!r}"
            )

    def fill(template: str, source: str) -> str:
        fields = {"stem": Path(source.rstrip("/" + os.sep)).stem, "style": style}
        return _FIELD.sub(lambda match: fields[match.group(1)], template)

    jobs = [
        (source, fill(args.output, source), Path(fill(str(args.json), source)) if args.json else None)
        for source in args.input
    ]
    if several:
        seen: dict[str, str] = {}
        for source, output, _ in jobs:
            if output == "null":
                continue
            if output in seen:
                raise ConfigError(
                    f"{seen[output]!r} and {source!r} would both be written to {output!r}; "
                    "add {style} or a folder to -o, or rename one input"
                )
            seen[output] = source
            if clash := next((s for s in args.input if same_file(Path(output), Path(s))), None):
                raise ConfigError(
                    f"the output for {source!r} would be {clash!r}, an input; choose another -o"
                )
    return jobs


def _render_one(args: argparse.Namespace, source: str, output: str, report: Path | None) -> None:
    from tqdm import tqdm

    from vstyle.render import render

    bar: tqdm | None = None

    def on_start(opened) -> None:
        nonlocal bar
        total = opened.info.frame_count
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        bar = tqdm(total=total, unit="frame", disable=True if args.no_progress else None, dynamic_ncols=True)

    source_options, sink_options = _hw_options(args, source, output, _sink_options(args))
    source_options.update(_cut_options(args, source))
    try:
        metrics = render(
            source,
            output,
            stylize=_stylize_config(args, args.batch),
            max_frames=args.max_frames,
            source_options=source_options,
            sink_options=sink_options,
            on_start=on_start,
            on_frame=lambda _frame: bar.update() if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    print(metrics.summary(), file=sys.stderr)
    if report is not None:
        metrics.write_json(report)
    print(f"wrote {output}", file=sys.stderr)


def cmd_render(args: argparse.Namespace) -> int:
    _no_auto_height(args)
    jobs = _render_jobs(args)
    if len(jobs) == 1:
        _render_one(args, *jobs[0])
        return 0
    # Several inputs: one that fails (a bad file, an existing output) is reported and the rest go
    # on, as a night's batch should; Ctrl-C still stops them all.
    failed = []
    for number, (source, output, report) in enumerate(jobs, 1):
        print(f"[{number}/{len(jobs)}] {source} → {output}", file=sys.stderr)
        try:
            _render_one(args, source, output, report)
        except VStyleError as error:
            print(f"vstyle: error: {source}: {error}", file=sys.stderr)
            failed.append(source)
    if failed:
        done = "the others were written" if len(failed) < len(jobs) else "nothing was written"
        print(
            f"vstyle: error: {len(failed)} of {len(jobs)} inputs failed ({', '.join(failed)}); {done}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from vstyle.render import live
    from vstyle.styles import default_style

    if args.model is None and args.style is None:
        args.style = default_style(live=True)  # the fastest bundled network keeps up with a camera
    source = args.input if args.input is not None else (args.camera or 0)
    # A window unless --no-display (it previews a virtual camera and takes the style keys).
    outputs = [] if args.no_display else ["window"]
    outputs += ["virtualcam"] if args.virtual_cam else []
    outputs += [args.record] if args.record else []
    source_options, sink_options = _hw_options(args, source, args.record or "null", {})
    source_options.update(_cut_options(args, source))
    source_options.update(_camera_options(args, source))
    styles = args.styles
    if styles is None and "window" in outputs:  # keys only reach a window
        from vstyle.styles import available_styles

        styles = [entry.name for entry in available_styles() if entry.kind == "bundled"]
    metrics = live(
        source, outputs or ["null"], stylize=_stylize_config(args), max_frames=args.max_frames,
        source_options=source_options, sink_options=sink_options, switch_styles=styles or (),
        fit_height=args.height == "auto",
    )  # fmt: skip
    _finish(metrics, args)
    return 0


def _free_name(path: Path) -> Path:
    """``path`` or the first ``stem-N.suffix`` beside it that does not exist yet."""
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def cmd_demo(args: argparse.Namespace) -> int:
    import numpy as np

    from vstyle.capture import SyntheticSource
    from vstyle.contact import contact_sheet, save_png
    from vstyle.render import render

    _no_auto_height(args)
    output = args.output or _free_name(Path("vstyle-demo.mp4"))
    metrics = render(
        "synthetic:640x360@30",
        output,
        stylize=_stylize_config(args),
        source_options={"num_frames": args.frames},
        max_frames=args.max_frames,
    )
    _finish(metrics, args)
    # A contact sheet of input | output at a few moments, to look at the result.
    import av

    picks = np.linspace(0, metrics.frames_out - 1, 4).round().astype(int).tolist()
    with av.open(str(output)) as container:
        painted = [
            f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i in picks
        ]
    with SyntheticSource(640, 360, fps=30, num_frames=max(picks) + 1) as source:
        originals = [f.image for f in source.frames() if f.index in picks]
    sheet = save_png(output.with_suffix(".png"), contact_sheet(list(zip(originals, painted))))
    print(f"wrote {output} and {sheet}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from vstyle.models.zoo import export_path

    out = export_path(args.checkpoint, args.output, opset=args.opset, overwrite=args.overwrite)
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from tqdm import tqdm

    from vstyle.errors import ConfigError
    from vstyle.train.config import TrainConfig
    from vstyle.train.recipes import get_recipe
    from vstyle.train.trainer import Trainer

    overrides = {
        k: getattr(args, k)
        for k in (
            "arch",
            "steps",
            "batch",
            "crop",
            "photo_size",
            "lr",
            "seed",
            "max_photos",
            "clips",
            "real_fraction",
            "teacher_grid",
            "teacher_blur",
            "ema",
            "out_blur",
        )
        if getattr(args, k) is not None
    }
    if args.recipe:
        config, name = dataclasses.replace(get_recipe(args.recipe), **overrides), args.recipe
    elif args.teacher:
        config, name = (
            TrainConfig(teacher=args.teacher, **overrides),
            f"{Path(args.teacher).stem}-{overrides.get('arch', 'fast')}",
        )
    else:
        config = TrainConfig(style_image=args.style_image, **overrides)
        name = f"{Path(args.style_image).stem}-{config.arch}"
    if args.bundle and not args.recipe:
        raise ConfigError("--bundle installs a named recipe's model; pass --recipe NAME")
    out = args.out or Path("runs") / name
    bar = tqdm(total=config.steps, unit="step", disable=args.no_progress, dynamic_ncols=True)

    def progress(step: int, steps: int, losses: dict[str, float]) -> None:
        bar.n = step
        bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items() if k != "step"}, refresh=False)
        bar.refresh()

    trainer = Trainer(config, out, threads=args.threads, photos_dir=args.photos, restart=args.restart)
    try:
        result = trainer.run(progress)
    except KeyboardInterrupt as error:
        bar.close()
        print(
            f"vstyle: interrupted; checkpoint kept in {out}, run the same command to resume", file=sys.stderr
        )
        return _interrupted(error)
    bar.close()
    print(f"trained {result.steps} steps in {result.seconds / 60:.1f} min: {result.onnx}")
    if args.bundle:
        from vstyle.train.bundle import bundle

        print(f"bundled as {bundle(name, config, out)}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from vstyle.evaluate import default_out_dir, evaluate, summary

    model = args.model if args.model is not None else args.style
    out = args.out if args.out is not None else default_out_dir(model)
    report = evaluate(
        model,
        out_dir=out,
        teacher=args.teacher,
        style_image=args.style_image,
        clips=args.clips,
        frames=args.frames,
        height=args.height,
        photos=args.photos,
        photo_size=args.photo_size,
        middlebury=not args.no_middlebury,
        backend=args.backend,
        overwrite=args.overwrite,
        stabilize=args.stabilize,
    )
    print(summary(report))
    print(f"wrote {out / 'eval.json'} and its pictures", file=sys.stderr)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from vstyle.trt.build import build_model_engine, parse_hw

    sizes = {k: parse_hw(v) if (v := getattr(args, k)) else None for k in ("min_hw", "opt_hw", "max_hw")}
    result = build_model_engine(
        model=args.model, style=args.style, precision=args.precision, max_batch=args.max_batch,
        workspace_gib=args.workspace, engine_dir=args.engine_dir, force=args.force, calibration=args.calib,
        **sizes,
    )  # fmt: skip
    entry = result.entry
    how = f"built in {entry.build_seconds:.0f} s" if result.built else "already in the cache"
    print(f"{entry.engine_path} ({entry.engine_size / 1e6:.1f} MB, {entry.key.precision}, {how})")
    print(f"  {entry.key.profile.describe()}; TensorRT {entry.key.tensorrt_version} on {entry.key.gpu_name}")
    return 0


def _bench_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="fps and latency: models × backends × precisions × sizes; `bench compare` merges machines",
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=[],
        metavar="MODEL",
        help="architectures (quality, quality-aa, fast, tiny: random weights) or .onnx/.pt/teacher paths",
    )
    p.add_argument(
        "--styles",
        nargs="+",
        default=[],
        metavar="STYLE",
        help="style names (default: the default style when no --models)",
    )
    p.add_argument(
        "--backends",
        nargs="+",
        default=["auto"],
        metavar="NAME",
        help="auto (default: the best available), all, or names from `vstyle info`",
    )
    p.add_argument("--precisions", nargs="+", default=["fp32"], choices=("fp32", "fp16", "int8"))
    p.add_argument(
        "--resolutions",
        nargs="+",
        default=["360p"],
        metavar="SIZE",
        help="360p 720p 1080p 4K or WxH (default 360p)",
    )
    p.add_argument(
        "--batch", nargs="+", type=_positive, default=[1], metavar="N", help="batch sizes (default 1)"
    )
    p.add_argument(
        "--workers",
        nargs="+",
        type=_positive,
        metavar="N",
        help="stylize workers to compare (default: the stylizer's choice)",
    )
    p.add_argument(
        "--modes",
        nargs="+",
        choices=("backend", "pipeline", "file"),
        help="default: backend pipeline, plus file with --baselines",
    )
    p.add_argument(
        "--policies",
        nargs="+",
        choices=("offline", "live"),
        default=["offline", "live"],
        help="pipeline policies (default both)",
    )
    p.add_argument("--runs", type=_positive, default=10, help="timed calls or frames per cell (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls or frames first (default 2)")
    p.add_argument("--live-seconds", type=float, default=5.0, help="length of each live run (default 5)")
    p.add_argument("--clip", type=Path, help="real clip for file mode and baselines (default: a shared clip)")
    p.add_argument(
        "--baselines", action="store_true", help="also time the eager PyTorch loop and PNG workflow"
    )
    p.add_argument(
        "--out", type=Path, default=Path("vstyle-bench"), help="output folder (default vstyle-bench)"
    )
    p.add_argument("--name", default="bench", help="file name stem of the outputs (default bench)")
    p.add_argument("--no-peak", action="store_true", help="skip the matrix-multiply peak measurement")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    more = p.add_subparsers(dest="bench_command", metavar="compare")
    c = more.add_parser("compare", help="merge result files from several machines into one table and charts")
    c.add_argument(
        "results", nargs="+", type=Path, metavar="RESULT.json", help="files written by vstyle bench"
    )
    c.add_argument(
        "--out",
        type=Path,
        default=Path("vstyle-bench-compare"),
        help="folder for compare.md, compare.csv and the PNG charts (default vstyle-bench-compare)",
    )
    c.add_argument("--no-charts", action="store_true", help="tables only (no matplotlib needed)")


def cmd_bench(args: argparse.Namespace) -> int:
    import shlex

    if args.bench_command == "compare":
        from vstyle.bench.compare import compare

        report = compare(args.results, args.out, charts=not args.no_charts)
        print(report["markdown"])
        print("wrote " + ", ".join(str(p) for p in report["files"]), file=sys.stderr)
        return 0

    from tqdm import tqdm

    from vstyle.bench.matrix import BenchConfig
    from vstyle.bench.results import save_results, to_markdown
    from vstyle.bench.runner import run_bench

    modes = args.modes or ["backend", "pipeline", *(["file"] if args.baselines else [])]
    config = BenchConfig(
        models=tuple(args.models), styles=tuple(args.styles), backends=tuple(args.backends),
        precisions=tuple(args.precisions), resolutions=tuple(args.resolutions), batches=tuple(args.batch),
        workers=tuple(args.workers) if args.workers else (None,), modes=tuple(modes), policies=tuple(args.policies),
        runs=args.runs, warmup=args.warmup, live_seconds=args.live_seconds, clip=args.clip,
        baselines=args.baselines, measure_peak=not args.no_peak, command=shlex.join(["vstyle", *args.argv]),
    )  # fmt: skip
    bar = tqdm(total=1, unit="step", disable=True if args.no_progress else None, dynamic_ncols=True)

    def on_step(done: int, total: int, what: str) -> None:
        bar.total, bar.n = total, done
        bar.set_description_str(what, refresh=False)
        bar.refresh()

    try:
        result = run_bench(config, on_step=on_step)
    finally:
        bar.close()
    paths = save_results(result, args.out, args.name)
    print(to_markdown(result))
    print(f"wrote {paths['json']}, {paths['csv']} and {paths['md']}", file=sys.stderr)
    failed = [r for r in (*result["results"], *result["baselines"]) if r["status"] != "ok"]
    if failed:
        total = len(result["results"]) + len(result["baselines"])
        print(f"vstyle: error: {len(failed)} of {total} measurements failed (first: {failed[0]['error']}); "
              f"see {paths['md']}", file=sys.stderr)  # fmt: skip
        return EXIT_ERROR
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import os

    from vstyle.backends import availability
    from vstyle.bench.machine import cpu_model

    lines = [f"vstyle {__version__}", f"python {platform.python_version()} on {platform.platform()}"]
    lines.append(f"cpu: {cpu_model()} ({len(os.sched_getaffinity(0))} cores usable)")
    for name in ("numpy", "cv2", "av", "onnxruntime", "torch", "tensorrt"):
        try:
            module = __import__(name)
            version = getattr(module, "__version__", "?")
            if name == "av":
                version += (
                    f" (FFmpeg {'.'.join(map(str, getattr(module, 'ffmpeg_version_info', ()))) or '?'})"
                )
            if name == "torch":
                cuda = module.cuda.is_available()
                version += f" (CUDA: {module.cuda.get_device_name(0) if cuda else 'none'})"
        except ImportError:
            version = "not installed"
        lines.append(f"{name}: {version}")
    lines.append("backends:")
    for name, why in availability().items():
        lines.append(f"  {name}: {'available' if why is None else 'unavailable — ' + why}")
    print("\n".join(lines))
    return 0


def cmd_styles(args: argparse.Namespace) -> int:
    from vstyle.styles import available_styles, default_style

    entries = available_styles()
    if not entries:
        print("no styles found; pass --model PATH to an .onnx model")
        return 0
    try:
        default = default_style()
    except VStyleError:
        default = None
    from vstyle.models.metadata import read_sidecar

    for e in entries:
        about = e.path
        if e.kind == "bundled":
            card = (read_sidecar(e.path) or {}).get("card") or {}
            ms = (card.get("metrics") or {}).get("ms_640x360_onnxruntime_cpu")
            about = f"{card.get('architecture', '?'):<8} {card.get('what', '')}" + (
                f"; {ms:.0f} ms/frame at 640×360 on the CPU it was measured on" if ms else ""
            )
        print(f"{e.name:<22} {e.kind:<8} {about}" + ("  (default)" if e.name == default else ""))
    return 0


COMMANDS = {
    "train": cmd_train,
    "render": cmd_render,
    "live": cmd_live,
    "demo": cmd_demo,
    "export": cmd_export,
    "build": cmd_build,
    "eval": cmd_eval,
    "bench": cmd_bench,
    "info": cmd_info,
    "styles": cmd_styles,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vstyle`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the exact command, for records
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        with _sigterm_as_interrupt():
            return COMMANDS[args.command](args)
    except VStyleError as error:
        print(f"vstyle: error: {error}", file=sys.stderr)
        if args.verbose >= 2:
            raise
        return EXIT_ERROR
    except KeyboardInterrupt as error:
        print("vstyle: interrupted; what was done so far has been kept", file=sys.stderr)
        return _interrupted(error)
    except Exception as error:  # a bug, not bad input: one line, the traceback on request
        print(
            f"vstyle: internal error: {type(error).__name__}: {error} (run with -vv for the traceback)",
            file=sys.stderr,
        )
        if args.verbose >= 2:
            raise
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

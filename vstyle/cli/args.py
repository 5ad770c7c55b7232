"""Argument types, shared option groups and the helpers that turn parsed options into settings."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
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
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a height in pixels or 'auto', got {text!r}") from None


def no_auto_height(args: argparse.Namespace) -> None:
    from vstyle.errors import ConfigError

    if args.height == "auto":
        raise ConfigError(
            f"--height auto fits the network to a live source's frame rate; vstyle {args.command} "
            "needs a number (or no --height for the input's own)"
        )


def frame_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels such as 1280x720, got {text!r}")
    return int(width), int(height)


def camera_options(args: argparse.Namespace, source: object) -> dict[str, object]:
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


def cut_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--start", type=_clock, metavar="TIME", help="begin the cut here: seconds or [HH:]MM:SS[.fff]"
    )
    end = p.add_mutually_exclusive_group()
    end.add_argument("--end", type=_clock, metavar="TIME", help="end the cut before this time")
    end.add_argument("--duration", type=_clock, metavar="TIME", help="length of the cut")


def cut_options(args: argparse.Namespace, source: object) -> dict[str, Fraction]:
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


def stabilize_arg(p: argparse.ArgumentParser) -> None:
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


def model_choice(p: argparse.ArgumentParser) -> None:
    """``--model PATH`` or ``--style NAME``, one of them."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", type=Path, help="an .onnx model, a .pt checkpoint or a teacher folder")
    group.add_argument("--style", help="a style name (see `vstyle styles`); default: the bundled default")


def model_args(p: argparse.ArgumentParser) -> None:
    model_choice(p)
    p.add_argument(
        "--backend", default="auto", help="auto (default), onnxruntime, onnxruntime-cuda, torch, tensorrt"
    )
    p.add_argument(
        "--height",
        type=_height,
        help="process and output at this height (aspect kept); live: 'auto' for the largest at which "
        "the network keeps up with the camera here",
    )
    p.add_argument("--threads", type=positive, help="CPU threads per network call (default: cores / workers)")
    p.add_argument(
        "--workers",
        type=positive,
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
    stabilize_arg(p)
    p.add_argument("--json", type=Path, metavar="PATH", help="write the run's metrics as JSON")
    p.add_argument("--max-frames", type=positive, metavar="N", help="stop after N frames")


def encode_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--crf", type=int, help="x264 quality, lower is better (default 18)")
    p.add_argument("--preset", help="x264 preset (default veryfast)")
    p.add_argument("--codec", help="video encoder (default libx264)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")


def hwaccel_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hwaccel",
        choices=("auto", "cuda", "none"),
        default="auto",
        help="decode video files on NVDEC and encode on NVENC, falling back to the CPU with a warning "
        "where the GPU has no such engine (default auto: when the network runs on a CUDA GPU)",
    )


def stylize_config(args: argparse.Namespace, batch: int = 1):
    from vstyle.config import StylizeConfig

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if args.threads and args.threads > cores:
        logging.getLogger("vstyle").warning(
            "--threads %d is more than the %d core(s) this process may use: threads then wait for "
            "each other and the network runs slower, not faster",
            args.threads,
            cores,
        )

    return StylizeConfig(
        model=args.model, style=args.style, backend=args.backend,
        height=None if args.height == "auto" else args.height, threads=args.threads,
        batch_size=batch, workers=args.workers, stabilize=getattr(args, "stabilize", 0.0),
        strength=getattr(args, "strength", 1.0),
        precision=getattr(args, "precision", None), cuda_graphs=getattr(args, "cuda_graphs", None),
    )  # fmt: skip


def finish(metrics, args: argparse.Namespace) -> None:
    print(metrics.summary(), file=sys.stderr)
    if args.json is not None:
        metrics.write_json(args.json)


def check_report(
    report: Path | None, args: argparse.Namespace, inputs: Sequence[object], outputs: Sequence[object]
) -> None:
    """Refuse a ``--json`` path before any work: one that is an input or an output of the run, a
    folder, in a missing folder, or an existing file without ``--overwrite``.

    Raises:
        ConfigError: with what is wrong and what to do.
    """
    from vstyle.errors import ConfigError
    from vstyle.sinks.staging import same_file

    if report is None:
        return
    path = Path(report).expanduser()
    for role, others in (("an input", inputs), ("an output", outputs)):
        for other in others:
            if isinstance(other, (str, os.PathLike)) and same_file(path, Path(other)):
                raise ConfigError(
                    f"--json {str(path)!r} is {role} of this run; choose another name for the report"
                )
    if path.is_dir():
        raise ConfigError(f"--json {str(path)!r} is a folder; give a file name such as run.json")
    if not path.parent.is_dir():
        raise ConfigError(
            f"--json {str(path)!r}: folder {str(path.parent)!r} does not exist; create it first"
        )
    replace = getattr(args, "overwrite", False) or getattr(args, "resume", False)  # a continued render's own
    if (path.exists() or path.is_symlink()) and not replace:
        raise ConfigError(f"--json {str(path)!r} exists; pass --overwrite or choose another name")


def encode_options(args: argparse.Namespace) -> dict[str, object]:
    """Only what the user gave: an option the output cannot use is then an error, not ignored."""
    options: dict[str, object] = {
        k: getattr(args, k) for k in ("crf", "preset", "codec") if getattr(args, k) is not None
    }
    if args.overwrite:
        options["overwrite"] = True
    return options


def hw_options(
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

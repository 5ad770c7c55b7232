"""The ``vstyle`` command line: the only place that parses arguments, prints, logs and exits."""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from vstyle import __version__
from vstyle.errors import VStyleError

log = logging.getLogger("vstyle")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _model_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", type=Path, help="an .onnx model, a .pt checkpoint or a teacher folder")
    group.add_argument("--style", help="a style name (see `vstyle styles`); default: the bundled default")
    p.add_argument("--backend", default="auto", help="auto (default), onnxruntime, onnxruntime-cuda")
    p.add_argument("--height", type=_positive, help="process and output at this height (aspect kept)")
    p.add_argument(
        "--threads", type=_positive, help="CPU threads per network call (default: cores / workers)"
    )
    p.add_argument(
        "--workers",
        type=_positive,
        help="frames stylized at once, each on its own thread (default: 2 on a CPU)",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="write the run's metrics as JSON")
    p.add_argument("--max-frames", type=_positive, metavar="N", help="stop after N frames")


def _encode_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--crf", type=int, help="x264 quality, lower is better (default 18)")
    p.add_argument("--preset", help="x264 preset (default veryfast)")
    p.add_argument("--codec", help="video encoder (default libx264)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vstyle", description="Turn live or recorded video into moving paintings."
    )
    parser.add_argument("--version", action="version", version=f"vstyle {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("render", help="stylize a video file (audio kept), image sequence or synthetic clip")
    p.add_argument("input", help="video file, image folder or glob, or synthetic[:WxH@FPS]")
    p.add_argument("-o", "--output", required=True, help="video file, image folder/pattern, or null")
    _model_args(p)
    _encode_args(p)
    p.add_argument("--batch", type=_positive, default=1, help="frames per network call (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    p = sub.add_parser("live", help="live filter from a camera (newest frame wins)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=None, metavar="N", help="camera index (default 0)")
    src.add_argument("--input", help="a video file played at its own rate, or synthetic[:WxH@FPS]")
    p.add_argument(
        "--no-display", action="store_true", help="no window (null output), for tests and benchmarks"
    )
    p.add_argument(
        "--virtual-cam", action="store_true", help="feed a virtual camera (needs vstyle[virtualcam])"
    )
    p.add_argument(
        "--record", metavar="PATH", help="write the stylized stream to a video file instead of a window"
    )
    _model_args(p)

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

    sub.add_parser("info", help="versions, backends and devices")
    sub.add_parser("styles", help="list the styles --style accepts")
    return parser


def _stylize_config(args: argparse.Namespace, batch: int = 1):
    from vstyle.config import StylizeConfig

    return StylizeConfig(
        model=args.model, style=args.style, backend=args.backend, height=args.height, threads=args.threads,
        batch_size=batch, workers=args.workers,
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


def cmd_render(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vstyle.render import render

    bar: tqdm | None = None

    def on_start(source) -> None:
        nonlocal bar
        total = source.info.frame_count
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        bar = tqdm(total=total, unit="frame", disable=True if args.no_progress else None, dynamic_ncols=True)

    try:
        metrics = render(
            args.input,
            args.output,
            stylize=_stylize_config(args, args.batch),
            max_frames=args.max_frames,
            sink_options=_sink_options(args),
            on_start=on_start,
            on_frame=lambda _frame: bar.update() if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    _finish(metrics, args)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from vstyle.render import live

    source = args.input if args.input is not None else (args.camera or 0)
    output = "null" if args.no_display else "window"
    if args.virtual_cam:
        output = "virtualcam"
    if args.record:
        output = args.record
    metrics = live(source, output, stylize=_stylize_config(args), max_frames=args.max_frames)
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


def cmd_info(args: argparse.Namespace) -> int:
    import os

    from vstyle.backends import availability

    lines = [f"vstyle {__version__}", f"python {platform.python_version()} on {platform.platform()}"]
    lines.append(f"cpu: {_cpu_name()} ({len(os.sched_getaffinity(0))} cores usable)")
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


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


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
    for e in entries:
        print(f"{e.name:<20} {e.kind:<8} {e.path}" + ("  (default)" if e.name == default else ""))
    return 0


COMMANDS = {
    "render": cmd_render,
    "live": cmd_live,
    "demo": cmd_demo,
    "export": cmd_export,
    "info": cmd_info,
    "styles": cmd_styles,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vstyle`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except VStyleError as error:
        print(f"vstyle: error: {error}", file=sys.stderr)
        if args.verbose >= 2:
            raise
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("vstyle: interrupted; what was done so far has been kept", file=sys.stderr)
        return EXIT_INTERRUPTED
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

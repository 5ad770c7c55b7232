"""``vstyle render``, ``live`` and ``demo``: stylize a video, a camera or a generated clip."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from vstyle.cli.args import (
    camera_options,
    cut_args,
    cut_options,
    encode_args,
    encode_options,
    finish,
    frame_size,
    hw_options,
    hwaccel_arg,
    model_args,
    no_auto_height,
    positive,
    stylize_config,
)
from vstyle.cli.exits import EXIT_ERROR
from vstyle.errors import VStyleError

#: Fields ``-o`` and ``--json`` of ``vstyle render`` may name, filled in for each input.
TEMPLATE_FIELDS = ("stem", "style")
_FIELD = re.compile(r"\{(" + "|".join(TEMPLATE_FIELDS) + r")\}")


def add_render(sub: argparse._SubParsersAction) -> None:
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
    model_args(p)
    cut_args(p)
    encode_args(p)
    hwaccel_arg(p)
    p.add_argument("--batch", type=positive, default=1, help="frames per network call (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


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

    source_options, sink_options = hw_options(args, source, output, encode_options(args))
    source_options.update(cut_options(args, source))
    try:
        metrics = render(
            source,
            output,
            stylize=stylize_config(args, args.batch),
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

    no_auto_height(args)
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


def add_live(sub: argparse._SubParsersAction) -> None:
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
        "--camera-size", type=frame_size, metavar="WxH", help="ask the camera for this size (e.g. 1280x720)"
    )
    p.add_argument("--camera-fps", type=float, metavar="FPS", help="ask the camera for this frame rate")
    p.add_argument(
        "--styles",
        nargs="+",
        metavar="STYLE",
        help="styles (names or .onnx files) the window's keys switch to: n/right next, p/left previous, "
        "1-9 by number, o the original picture (default: every bundled style)",
    )
    model_args(p)
    cut_args(p)
    hwaccel_arg(p)


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
    source_options, sink_options = hw_options(args, source, args.record or "null", {})
    source_options.update(cut_options(args, source))
    source_options.update(camera_options(args, source))
    styles = args.styles
    if styles is None and "window" in outputs:  # keys only reach a window
        from vstyle.styles import available_styles

        styles = [entry.name for entry in available_styles() if entry.kind == "bundled"]
    metrics = live(
        source, outputs or ["null"], stylize=stylize_config(args), max_frames=args.max_frames,
        source_options=source_options, sink_options=sink_options, switch_styles=styles or (),
        fit_height=args.height == "auto",
    )  # fmt: skip
    finish(metrics, args)
    return 0


def _free_name(path: Path) -> Path:
    """``path`` or the first ``stem-N.suffix`` beside it that does not exist yet."""
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job on embedded defaults: a generated clip, the default style")
    p.add_argument(
        "-o", "--output", type=Path, help="output video (default: vstyle-demo.mp4, never overwritten)"
    )
    p.add_argument("--frames", type=positive, default=90, help="length of the generated clip (default 90)")
    model_args(p)


def cmd_demo(args: argparse.Namespace) -> int:
    import numpy as np

    from vstyle.capture import SyntheticSource
    from vstyle.contact import contact_sheet, save_png
    from vstyle.render import render

    no_auto_height(args)
    output = args.output or _free_name(Path("vstyle-demo.mp4"))
    metrics = render(
        "synthetic:640x360@30",
        output,
        stylize=stylize_config(args),
        source_options={"num_frames": args.frames},
        max_frames=args.max_frames,
    )
    finish(metrics, args)
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

"""``vstyle render``, ``live`` and ``demo``: stylize a video, a camera or a generated clip."""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vstyle.cli.args import (
    camera_options,
    check_report,
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

if TYPE_CHECKING:
    from vstyle.styles import StyleChoice

#: Fields ``-o`` and ``--json`` of ``vstyle render`` may name, filled in for each input.
TEMPLATE_FIELDS = ("stem", "style")
_FIELD = re.compile(r"\{(" + "|".join(TEMPLATE_FIELDS) + r")\}")


def add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="stylize a video file (audio kept), image sequence or synthetic clip",
        epilog="several inputs or --styles: name each output with {stem} (the input's name without "
        "extension) and {style}, e.g. -o 'styled/{stem}-{style}.mp4'; a failed render is reported and "
        "the others go on",
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
    p.add_argument(
        "--styles",
        nargs="+",
        metavar="STYLE",
        help="render each input in each of these styles (names, .onnx files, or 'all' for every bundled "
        "style), -o naming each with {style}; instead of --style/--model",
    )
    cut_args(p)
    encode_args(p)
    hwaccel_arg(p)
    p.add_argument("--batch", type=positive, default=1, help="frames per network call (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an MP4/MOV OUTPUT that an interrupted render of the same command left (its frames "
        "are kept as they are, --json is replaced); start it where it does not exist",
    )


@dataclass(frozen=True)
class _Job:
    """One render of ``vstyle render``: an input in a style, and where it goes."""

    source: str
    choice: StyleChoice
    output: str
    report: Path | None


def _styles(args: argparse.Namespace) -> list[StyleChoice]:
    """The styles to render in, checked to exist before any work."""
    from vstyle.errors import ConfigError
    from vstyle.styles import StyleChoice, default_style, style_choices

    if not args.styles:
        name = args.style or (Path(args.model).stem if args.model else default_style())
        return [StyleChoice(name, model=args.model, style=args.style)]
    if args.style or args.model:
        raise ConfigError("--styles renders in each of several styles; give it without --style or --model")
    return style_choices(args.styles)


def _render_jobs(args: argparse.Namespace) -> list[_Job]:
    """Every render ``vstyle render`` was asked for (each input in each style), names checked first.

    Raises:
        ConfigError: several inputs but an output (or ``--json``) without ``{stem}``, several
            styles without ``{style}``, two renders that would write the same file, or an output
            that is one of the inputs.
        ModelError: a style that does not exist.
    """
    from vstyle.capture.images import is_glob
    from vstyle.errors import ConfigError
    from vstyle.sinks.staging import same_file

    if args.resume and args.overwrite:
        raise ConfigError("--resume continues OUTPUT and --overwrite replaces it; give one of them")

    styles = _styles(args)
    named = [("-o", args.output)] + ([("--json", str(args.json))] if args.json is not None else [])
    for flag, template in named:
        for field in re.findall(r"\{(\w*)\}", template):
            if field not in TEMPLATE_FIELDS:
                raise ConfigError(
                    f"{flag} {template!r} names an unknown field {{{field}}}; the fields are "
                    + " and ".join(f"{{{name}}}" for name in TEMPLATE_FIELDS)
                )
    for field, count, what, example in (
        ("stem", len(args.input), "inputs", "styled/{stem}.mp4"),
        ("style", len(styles), "styles", "styled/{stem}-{style}.mp4"),
    ):
        for flag, template in named:
            if count > 1 and template != "null" and f"{{{field}}}" not in template:
                raise ConfigError(
                    f"{count} {what} need {flag} to name each output with {{{field}}}, e.g. "
                    f"{example!r}; got {template!r}"
                )

    def stem(source: str) -> str:
        if is_glob(source):
            raise ConfigError(
                f"input {source!r} is a glob, read as one image sequence, so it has no name for {{stem}}; "
                "to render each file, let the shell expand the glob (write it without quotes)"
            )
        # "." has no stem: its folder's name stands in
        name = Path(source.rstrip("/" + os.sep)).stem or Path(source).resolve().name
        if "%" in name:
            raise ConfigError(
                f"input {source!r} has '%' in its name, which output names read as a frame number; rename it"
            )
        return name

    def fill(template: str, source: str, style: str) -> str:
        if not _FIELD.search(template):
            return template
        fields = {"stem": stem(source), "style": style}
        return _FIELD.sub(lambda match: fields[match.group(1)], template)

    jobs = [
        _Job(
            source,
            choice,
            fill(args.output, source, choice.name),
            Path(fill(str(args.json), source, choice.name)) if args.json else None,
        )
        for source in args.input
        for choice in styles
    ]
    if len(jobs) > 1:
        seen: dict[str, str] = {}
        for job in jobs:
            if job.output == "null":
                continue
            if job.output in seen:
                raise ConfigError(
                    f"{seen[job.output]} and {job.source} ({job.choice.name}) would both be written to "
                    f"{job.output!r}; make -o tell them apart ({{stem}}, {{style}}, a folder), or rename "
                    "an input or model file"
                )
            seen[job.output] = f"{job.source} ({job.choice.name})"
            if clash := next((s for s in args.input if same_file(Path(job.output), Path(s))), None):
                raise ConfigError(
                    f"the output for {job.source!r} would be {clash!r}, an input; choose another -o"
                )
        _check_outputs(jobs, args.overwrite or args.resume)
    outputs = [job.output for job in jobs]
    for job in jobs:
        check_report(job.report, args, args.input, outputs)
    return jobs


def _check_outputs(jobs: list[_Job], overwrite: bool) -> None:
    """One error before a batch starts, not one when each render's turn comes, for a missing
    folder or an existing file (without ``--overwrite``)."""
    from vstyle.errors import ConfigError
    from vstyle.sinks import ImageFileSink, VideoFileSink, open_sink

    for job in jobs:
        sink = open_sink(job.output)
        if isinstance(sink, (ImageFileSink, VideoFileSink)):
            path = Path(job.output).expanduser()
            if not path.parent.is_dir():
                raise ConfigError(
                    f"folder {str(path.parent)!r} for {job.output!r} does not exist; create it first "
                    f"(mkdir -p {path.parent})"
                )
            if (path.exists() or path.is_symlink()) and not overwrite:
                raise ConfigError(
                    f"{job.output} (for {job.source}) exists; pass --overwrite or choose another -o"
                    + (", or --resume to continue it" if isinstance(sink, VideoFileSink) else "")
                )


def _render_one(args: argparse.Namespace, job: _Job) -> None:
    from tqdm import tqdm

    from vstyle.render import render

    bar: tqdm | None = None

    def on_start(opened) -> None:
        nonlocal bar
        total = opened.info.frame_count
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        bar = tqdm(total=total, unit="frame", disable=True if args.no_progress else None, dynamic_ncols=True)

    source_options, sink_options = hw_options(args, job.source, job.output, encode_options(args))
    source_options.update(cut_options(args, job.source))
    in_style = argparse.Namespace(**{**vars(args), "model": job.choice.model, "style": job.choice.style})
    try:
        metrics = render(
            job.source,
            job.output,
            stylize=stylize_config(in_style, args.batch),
            max_frames=args.max_frames,
            source_options=source_options,
            sink_options=sink_options,
            on_start=on_start,
            on_frame=lambda _frame: bar.update() if bar is not None else None,
            resume=args.resume,
        )
    finally:
        if bar is not None:
            bar.close()
    resumed = metrics.extra.get("resumed_frames", 0)
    if metrics.extra.get("complete"):
        print(f"{job.output} already holds all {resumed} frames; nothing to do", file=sys.stderr)
        return
    print(metrics.summary(), file=sys.stderr)
    if job.report is not None:
        metrics.write_json(job.report)
    if resumed:
        print(
            f"continued {job.output}: its {resumed} frames kept, {metrics.frames_out} added", file=sys.stderr
        )
    elif job.output.strip().lower() != "null":
        print(f"wrote {job.output}", file=sys.stderr)


def cmd_render(args: argparse.Namespace) -> int:
    no_auto_height(args)
    jobs = _render_jobs(args)
    if len(jobs) == 1:
        _render_one(args, jobs[0])
        return 0
    # Several renders: one that fails (a bad file, an existing output) is reported and the rest
    # go on, as a night's batch should; Ctrl-C still stops them all.
    several_styles = len({job.choice for job in jobs}) > 1
    failed, finished = [], []
    for number, job in enumerate(jobs, 1):
        what = f"{job.source} ({job.choice.name})" if several_styles else job.source
        print(f"[{number}/{len(jobs)}] {what} → {job.output}", file=sys.stderr)
        try:
            _render_one(args, job)
        except VStyleError as error:
            print(f"vstyle: error: {what}: {error}", file=sys.stderr)
            failed.append(what)
        except KeyboardInterrupt as error:  # the message names the finished outputs too
            from vstyle.render import KEPT

            setattr(error, KEPT, finished + getattr(error, KEPT, []))
            raise
        else:
            finished.append(f"{job.output} (finished)")
    if failed:
        done = "the others were written" if len(failed) < len(jobs) else "nothing was written"
        noun = "renders" if several_styles else "inputs"
        named = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        print(f"vstyle: error: {len(failed)} of {len(jobs)} {noun} failed ({named}); {done}", file=sys.stderr)
        return EXIT_ERROR
    return 0


def add_live(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "live",
        help="live filter from a camera (newest frame wins)",
        epilog="window keys: q/Esc quit, n/right next style, p/left previous, 1-9 style by number, "
        "o original picture, +/- style strength, f full screen, m mirror, s snapshot (PNG)",
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
        "--overwrite", action="store_true", help="replace the --record file or --json report if it exists"
    )
    p.add_argument(
        "--camera-size", type=frame_size, metavar="WxH", help="ask the camera for this size (e.g. 1280x720)"
    )
    p.add_argument("--camera-fps", type=float, metavar="FPS", help="ask the camera for this frame rate")
    p.add_argument(
        "--mirror",
        action="store_true",
        help="show the window's picture mirrored, as a mirror shows you (m toggles it); a virtual camera "
        "and --record get the picture as the camera sees it",
    )
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
    check_report(args.json, args, [source], [args.record] if args.record else [])
    overwrite = {"overwrite": True} if args.overwrite and args.record else {}
    source_options, sink_options = hw_options(args, source, args.record or "null", overwrite)
    source_options.update(cut_options(args, source))
    source_options.update(camera_options(args, source))
    styles = args.styles
    if styles is None and "window" in outputs:  # keys only reach a window
        from vstyle.styles import available_styles

        styles = [entry.name for entry in available_styles() if entry.kind == "bundled"]
    metrics = live(
        source, outputs or ["null"], stylize=stylize_config(args), max_frames=args.max_frames,
        source_options=source_options, sink_options=sink_options, switch_styles=styles or (),
        fit_height=args.height == "auto", mirror=args.mirror,
    )  # fmt: skip
    finish(metrics, args)
    return 0


def _free_name(path: Path) -> Path:
    """``path`` or the first ``stem-N.suffix`` beside it that does not exist yet, its contact sheet
    (``.png``) neither."""
    n = 1
    candidate = path
    while candidate.exists() or candidate.with_suffix(".png").exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job on embedded defaults: a generated clip, the default style")
    p.add_argument(
        "-o", "--output", type=Path, help="output video (default: vstyle-demo.mp4, never overwritten)"
    )
    p.add_argument("--frames", type=positive, default=90, help="length of the generated clip (default 90)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace OUTPUT and its contact sheet if they exist"
    )
    model_args(p)


def cmd_demo(args: argparse.Namespace) -> int:
    import numpy as np

    from vstyle.capture import SyntheticSource
    from vstyle.contact import contact_sheet, save_png
    from vstyle.errors import ConfigError
    from vstyle.render import render
    from vstyle.sinks import VideoFileSink, open_sink

    no_auto_height(args)
    output = args.output or _free_name(Path("vstyle-demo.mp4"))
    if not isinstance(open_sink(output), VideoFileSink):
        raise ConfigError(
            f"vstyle demo writes a video and its contact sheet; give -o a video name such as demo.mp4, not {str(output)!r}"
        )
    sheet_path = output.with_suffix(".png")
    if (sheet_path.exists() or sheet_path.is_symlink()) and not args.overwrite:
        raise ConfigError(f"{sheet_path} (the contact sheet) exists; pass --overwrite or choose another -o")
    check_report(args.json, args, [], [output, sheet_path])
    metrics = render(
        "synthetic:640x360@30",
        output,
        stylize=stylize_config(args),
        source_options={"num_frames": args.frames},
        sink_options={"overwrite": True} if args.overwrite else None,
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
    sheet = save_png(sheet_path, contact_sheet(list(zip(originals, painted))))
    print(f"wrote {output} and {sheet}", file=sys.stderr)
    return 0

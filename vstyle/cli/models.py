"""``vstyle export``, ``train``, ``eval`` and ``build``: make, measure and compile style networks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vstyle.cli.args import model_choice, positive, stabilize_arg
from vstyle.cli.exits import interrupted


def add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="checkpoint or teacher folder → ONNX + JSON sidecar")
    p.add_argument("checkpoint", type=Path, help="a .pt checkpoint from vstyle or a teacher folder")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17, default 17)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")


def cmd_export(args: argparse.Namespace) -> int:
    from vstyle.errors import ConfigError
    from vstyle.models.zoo import export_path

    folder = Path(args.output).expanduser().parent
    if not folder.is_dir():  # before the export's work, not after it
        raise ConfigError(
            f"cannot write {args.output}: {str(folder)!r} is not an existing folder; create it first"
        )
    out = export_path(args.checkpoint, args.output, opset=args.opset, overwrite=args.overwrite)
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 0


def add_train(sub: argparse._SubParsersAction) -> None:
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
        type=positive,
        help="learn the mean of the teacher's outputs over N×N grid offsets (4 for imported teachers; "
        "default 1, the teacher's own output)",
    )
    p.add_argument(
        "--teacher-blur",
        type=float,
        help="Gaussian sigma in pixels applied to the teacher's target (default 0, none)",
    )
    p.add_argument("--steps", type=positive, help="optimizer steps")
    p.add_argument("--batch", type=positive, help="frame pairs per step")
    p.add_argument("--crop", type=positive, help="training crop size, pixels")
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
    p.add_argument("--photo-size", type=positive, help="short side photos are resized to (default 256)")
    p.add_argument("--max-photos", type=positive, help="use at most N training photos")
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
    p.add_argument("--threads", type=positive, help="CPU threads (default all cores)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


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
        from vstyle.train.recipes import PERCEPTUAL

        # From a painting alone the perceptual loss is the teacher: its weights, not distillation's.
        config = TrainConfig(style_image=args.style_image, **{"weights": PERCEPTUAL, **overrides})
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
        return interrupted(error)
    bar.close()
    print(f"trained {result.steps} steps in {result.seconds / 60:.1f} min: {result.onnx}")
    if args.bundle:
        from vstyle.train.bundle import bundle

        print(f"bundled as {bundle(name, config, out)}")
    return 0


def add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure a style network: flicker, fidelity to a teacher, style scores")
    model_choice(p)
    p.add_argument("--teacher", help="compare with this teacher: a style name, teacher folder or .onnx")
    p.add_argument("--style-image", help="painting for the Gram style loss: a path or a shared styles/ name")
    p.add_argument(
        "--clips", nargs="+", help="clips for the warping error: shared video/ names or files (default: 3)"
    )
    p.add_argument("--frames", type=positive, default=24, help="consecutive frames per clip (default 24)")
    p.add_argument("--height", type=positive, default=180, help="processing height of clips (default 180)")
    p.add_argument(
        "--photos", type=int, default=8, metavar="N", help="held-out photos, 0 for none (default 8)"
    )
    p.add_argument("--photo-size", type=positive, default=256, help="short side of photos (default 256)")
    p.add_argument("--out", type=Path, help="folder for eval.json and PNGs (default eval/<model stem>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing eval.json in --out")
    p.add_argument("--no-middlebury", action="store_true", help="skip the ground-truth-flow pairs")
    p.add_argument("--backend", default="auto", help="auto (default), onnxruntime, onnxruntime-cuda")
    stabilize_arg(p)


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


def add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="ONNX → TensorRT engine in the engine cache (NVIDIA GPU + TensorRT)")
    model_choice(p)
    p.add_argument(
        "--precision", choices=("fp32", "fp16", "int8"), default="fp16", help="precision (default fp16)"
    )
    p.add_argument("--min", dest="min_hw", metavar="HxW", help="smallest frame, HEIGHTxWIDTH (default small)")
    p.add_argument("--opt", dest="opt_hw", metavar="HxW", help="frame size to tune for (default 720x1280)")
    p.add_argument("--max", dest="max_hw", metavar="HxW", help="largest frame (default 1088x1920)")
    p.add_argument("--max-batch", type=positive, default=1, metavar="N", help="largest batch (default 1)")
    p.add_argument("--workspace", type=float, default=4.0, metavar="GIB", help="workspace (default 4)")
    p.add_argument("--engine-dir", type=Path, help="engine folder (default $VSTYLE_ENGINE_DIR or engines/)")
    p.add_argument("--calib", nargs="+", type=Path, metavar="PATH", help="INT8 calibration clips/images")
    p.add_argument("--force", action="store_true", help="rebuild even when a matching engine is cached")


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

"""``vstyle bench``, ``info`` and ``styles``: measure speed, report the machine, list the styles."""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

from vstyle import __version__
from vstyle.cli.args import positive
from vstyle.cli.exits import EXIT_ERROR
from vstyle.errors import VStyleError


def add_bench(sub: argparse._SubParsersAction) -> None:
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
        "--batch", nargs="+", type=positive, default=[1], metavar="N", help="batch sizes (default 1)"
    )
    p.add_argument(
        "--workers",
        nargs="+",
        type=positive,
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
    p.add_argument("--runs", type=positive, default=10, help="timed calls or frames per cell (default 10)")
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
    p.add_argument("--overwrite", action="store_true", help="replace earlier results of the same --name")
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
    c.add_argument("--overwrite", action="store_true", help="replace an earlier comparison in --out")


def _check_results_folder(out: Path, names: list[str], overwrite: bool) -> None:
    """Refuse, before any work, an output folder that cannot be made or holds earlier results.

    Raises:
        ConfigError: ``out`` or a folder above it is a file, or one of ``names`` exists in it
            without ``overwrite``.
    """
    from vstyle.errors import ConfigError

    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConfigError(
                    f"--out {str(out)!r}: {str(folder)!r} is a file, not a folder; choose another --out"
                )
            break
    existing = [name for name in names if (out / name).exists()]
    if existing and not overwrite:
        raise ConfigError(
            f"{out} already holds {', '.join(existing)}; pass --overwrite to replace them or choose another --out"
        )


def cmd_bench(args: argparse.Namespace) -> int:
    import shlex

    from vstyle.errors import ConfigError

    if args.bench_command == "compare":
        from vstyle.bench.compare import compare

        if len({p.resolve() for p in args.results}) < len(args.results):
            raise ConfigError("a result file is given twice; give each once")
        _check_results_folder(args.out, ["compare.md", "compare.csv"], args.overwrite)

        report = compare(args.results, args.out, charts=not args.no_charts)
        print(report["markdown"])
        print("wrote " + ", ".join(str(p) for p in report["files"]), file=sys.stderr)
        return 0

    from tqdm import tqdm

    from vstyle.bench.matrix import BenchConfig
    from vstyle.bench.results import save_results, to_markdown
    from vstyle.bench.runner import run_bench

    name = args.name
    if not name or name.startswith(".") or Path(name).name != name or len(name.encode()) > 200:
        raise ConfigError(f"--name {name!r} must be a plain file name stem such as 'cpu-matrix' (no folders)")
    _check_results_folder(args.out, [f"{name}.{ext}" for ext in ("json", "csv", "md")], args.overwrite)
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


def add_info(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("info", help="versions, backends and devices")


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
                ffmpeg = getattr(module, "ffmpeg_version_info", None) or "?"  # "8.1.2" (a tuple in old PyAV)
                version += f" (FFmpeg {ffmpeg if isinstance(ffmpeg, str) else '.'.join(map(str, ffmpeg))})"
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


def add_styles(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("styles", help="list the styles --style accepts")


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

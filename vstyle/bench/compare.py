"""``vstyle bench compare``: result files from several machines merged into one table and PNG charts.

Each file is validated (:func:`~vstyle.bench.results.load_results`). Its rows keep the machine they
ran on (the file's ``machine.label``; when two files carry the same label, the file name is added
so their rows stay apart). The merged table has one line per cell per machine, grouped by mode and
model; the charts plot fps against frame size (log–log, one PNG per mode and policy), one line per
device · backend · precision · model (and batch, when not 1), with the 30 fps real-time line.
matplotlib is imported only here and only when charts are asked for.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vstyle.atomic import publish
from vstyle.bench.results import (
    baselines_table,
    load_results,
    results_table,
    rows_with_machine,
    to_csv,
    write_text_atomic,
)
from vstyle.errors import ConfigError, VStyleError

REAL_TIME_FPS = 30.0


class ChartsUnavailableError(VStyleError, ImportError):
    """Charts were asked for but matplotlib is not installed."""


def machine_labels(runs: Sequence[dict[str, Any]], paths: Sequence[Path]) -> list[str]:
    """Each run's ``machine.label``, with the file name added where two runs share a label."""
    labels = [run["machine"]["label"] for run in runs]
    counts = defaultdict(int)
    for label in labels:
        counts[label] += 1
    return [f"{label} ({Path(p).stem})" if counts[label] > 1 else label for label, p in zip(labels, paths)]


def merge(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """Load, validate and merge result files.

    Returns:
        ``(runs, labels, rows)``: the files' contents, one machine label per file, and every result
        row flattened (:func:`~vstyle.bench.results.rows_with_machine`) with its machine label,
        sorted by mode, policy, model, frame size, then fps (fastest first).

    Raises:
        ConfigError: fewer than one file.
        DataError: a file is missing or not a bench result of a known schema.
    """
    if not paths:
        raise ConfigError("compare needs at least one result file (bench.json written by `vstyle bench`)")
    runs = [load_results(Path(p)) for p in paths]
    labels = machine_labels(runs, paths)
    rows = rows_with_machine(runs, labels)
    rows.sort(
        key=lambda r: (
            r["mode"],
            r["policy"] or "",
            r["model"],
            r["width"] * r["height"],
            r["batch"],
            -(r["fps"] or 0.0),
        )
    )
    return runs, labels, rows


def line_label(row: dict[str, Any], shared_devices: set[str]) -> str:
    """A chart line's name: device · backend · precision · model [· batch] [(machine)]."""
    label = f"{row['device']} · {row['backend']} · {row['precision']} · {row['model']}"
    if row["batch"] != 1:
        label += f" · b{row['batch']}"
    if row["workers"] is not None and row.get("workers_varied"):
        label += f" · w{row['workers']}"
    if row["device"] in shared_devices:
        label += f" ({row['machine']})"
    return label


def chart_series(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, list[tuple[int, int, float]]]]:
    """``{"mode[-policy]": {line label: [(width, height, fps), …] sorted by pixels}}`` of the ok rows."""
    machines_of: dict[str, set[str]] = defaultdict(set)
    workers_of: dict[tuple[str, ...], set[Any]] = defaultdict(set)
    for r in rows:
        machines_of[r["device"]].add(r["machine"])
        workers_of[(r["machine"], r["model"], r["backend"], r["precision"])].add(r["workers"])
    shared = {device for device, machines in machines_of.items() if len(machines) > 1}
    series: dict[str, dict[str, list[tuple[int, int, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["status"] != "ok" or not r["fps"]:
            continue
        varied = len(workers_of[(r["machine"], r["model"], r["backend"], r["precision"])]) > 1
        group = r["mode"] if r["policy"] is None or r["mode"] == "file" else f"{r['mode']}-{r['policy']}"
        series[group][line_label({**r, "workers_varied": varied}, shared)].append(
            (r["width"], r["height"], r["fps"])
        )
    return {
        g: {k: sorted(v, key=lambda p: p[0] * p[1]) for k, v in lines.items()} for g, lines in series.items()
    }


def write_charts(rows: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """One PNG per mode (and pipeline policy): fps against frame size. Returns the files written.

    Raises:
        ChartsUnavailableError: matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import NullFormatter
    except ImportError:
        raise ChartsUnavailableError(
            "charts need matplotlib: pip install 'vstyle[bench]' (or pass --no-charts for the tables alone)"
        ) from None
    written = []
    for group, lines in sorted(chart_series(rows).items()):
        fig = Figure(figsize=(9, 5.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        sizes: dict[int, str] = {}
        for label, points in sorted(lines.items()):
            xs = [w * h / 1e6 for w, h, _ in points]
            ax.plot(xs, [fps for _, _, fps in points], marker="o", label=label)
            sizes.update({w * h: f"{w}×{h}" for w, h, _ in points})
        ax.axhline(REAL_TIME_FPS, color="grey", linestyle=":", linewidth=1, label="30 fps (real time)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([px / 1e6 for px in sorted(sizes)], [sizes[px] for px in sorted(sizes)])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("frame size (log scale by pixels)")
        ax.set_ylabel("frames per second (log scale)")
        ax.set_title(f"vstyle bench — {group.replace('-', ' ')} mode: fps against frame size")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", loc="best")
        path = folder / f"fps-{group}.png"
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                fig.savefig(f, format="png", dpi=110)
            publish(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def compare_markdown(
    runs: Sequence[dict[str, Any]],
    labels: Sequence[str],
    paths: Sequence[Path],
    rows: Sequence[dict[str, Any]],
) -> str:
    """The merged report: one line per machine, the merged results table, each machine's baselines."""
    lines = [
        "# vstyle bench — comparison",
        "",
        "| machine | file | created | CPU | GPU | peak GFLOP/s | versions |",
        "|---|---|---|---|---|---|---|",
    ]
    for run, label, path in zip(runs, labels, paths):
        m = run["machine"]
        peaks = ", ".join(
            f"{k} {v:.0f}" for k, v in run["peak_gflops"].items() if k != "how" and v is not None
        )
        gpu = "; ".join(g["name"] for g in m["gpus"]) or "none"
        versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v and k != "python")
        cpu = f"{m['cpu']['model']} ×{m['cpu']['usable_cores']}"
        cells = [label, Path(path).name, run["created"], cpu, gpu, peaks or "–", versions]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", results_table(rows, with_machine=True), ""]
    for run, label in zip(runs, labels):
        if run["baselines"]:
            lines += [f"## Baselines on {label}", "", baselines_table(run["baselines"]), ""]
    return "\n".join(lines)


def compare(paths: Sequence[Path], out: Path | None = None, *, charts: bool = True) -> dict[str, Any]:
    """Merge result files; with ``out``, write ``compare.md``, ``compare.csv`` and the charts there.

    Returns:
        ``{"markdown": str, "files": [paths written]}``.

    Raises:
        DataError: a file is not a valid bench result.
        ChartsUnavailableError: ``charts`` with ``out`` and matplotlib missing (checked before writing).
    """
    paths = [Path(p) for p in paths]
    runs, labels, rows = merge(paths)
    markdown = compare_markdown(runs, labels, paths, rows)
    files: list[Path] = []
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if charts:
            files += write_charts(rows, out)
        write_text_atomic(out / "compare.md", markdown + "\n")
        write_text_atomic(out / "compare.csv", to_csv(rows))
        files = [out / "compare.md", out / "compare.csv", *files]
    return {"markdown": markdown, "files": files}

"""Benchmark result files: the JSON schema, its validation, and the CSV and Markdown views.

A result file is one JSON object (``format`` ``"vstyle-bench"``, ``schema`` :data:`SCHEMA`)::

    {
      "format": "vstyle-bench",
      "schema": 1,
      "created": "2026-01-01T12:00:00+00:00",         # UTC, when the run finished
      "command": "vstyle bench --models tiny ...",    # exactly as typed
      "machine": {                                     # see vstyle.bench.machine.machine_record
        "label": str, "os": str, "python": str,
        "cpu": {"model": str, "cores": int, "usable_cores": int},
        "memory_gib": float | null,
        "gpus": [{"name": str, "memory_gib": float | null, "driver": str | null,
                  "cuda": str | null, "compute_capability": str | null}],
        "versions": {"vstyle": str, "onnxruntime": str | null, "torch": str | null,
                     "tensorrt": str | null, "av": str | null, "ffmpeg": str | null, ...}
      },
      "peak_gflops": {                                 # measured matrix-multiply peak, GFLOP/s
        "cpu_fp32": float | null, "gpu_fp32": float | null, "gpu_fp16": float | null,
        "how": {"cpu_fp32": "torch.mm 2048×2048 float32, 2 threads, best of 5", ...}
      },
      "settings": {"runs": int, "warmup": int, "live_seconds": float, "live_fps": float,
                   "clip": str | null, ...},
      "models": {                                      # by label
        "<label>": {"path": str, "architecture": str, "sha256": str | null, "kind": str,
                    "flops": {"<W>x<H>": {"conv": int, "elementwise": int, "total": int}} | null,
                    "flops_error": str | null}
      },
      "results": [ROW, ...],
      "baselines": [BASELINE, ...]
    }

``ROW`` is one measured cell of the matrix::

    {"model": str, "backend": str, "device": str, "device_kind": "cpu" | "gpu",
     "precision": "fp32" | "fp16" | "int8", "resolution": str, "width": int, "height": int,
     "batch": int, "workers": int | null, "mode": "backend" | "pipeline" | "file",
     "policy": "offline" | "live" | null,              # pipeline and file modes only
     "status": "ok" | "error", "error": str | null,
     "frames": int,                                    # frames timed (after warm-up)
     "fps": float | null,                              # frames per second of wall time
     "timing_ms": {"of": "backend call" | "frame interval", "p5": float, "median": float,
                   "p95": float} | null,
     "latency_ms": {"p50": float, "p95": float, "p99": float} | null,   # live policy only
     "dropped": int | null, "frames_in": int | null,
     "stages_ms": {str: float},                        # per frame, per stage (see vstyle.bench.measure)
     "gflop_per_frame": float | null, "gflops": float | null,          # achieved GFLOP/s
     "peak_fraction": float | null,                    # gflops / the device's matmul peak
     "decoder": "software" | "nvdec", "encoder": str,  # file mode only (optional: absent before)
     "backend_ratio": float | null}                    # offline pipeline and file: fps / backend-mode fps
                                                       # of the same network, backend, precision, batch,
                                                       # workers and frame size

``BASELINE`` is one of the usual ways of running the same network, measured in the same run::

    {"model": str, "workflow": "eager-torch" | "png-images", "device": str,
     "resolution": str, "width": int, "height": int, "frames": int,
     "status": "ok" | "error", "error": str | null,
     "fps": float | null, "stages_ms": {str: float},
     "speedups": [{"backend": str, "precision": str, "batch": int, "workers": int | null,
                   "fps": float, "ratio": float}]}     # vstyle file mode fps / baseline fps

Readers accept files of this schema and older ones they know; :func:`load_results` rejects anything
else with a :class:`~vstyle.errors.DataError` that says what was expected and what was found.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vstyle.atomic import publish
from vstyle.errors import DataError
from vstyle.metrics import write_json_atomic

FORMAT = "vstyle-bench"
#: Version of the result-file layout above; bump it when a field changes meaning or is removed.
SCHEMA = 1
MODES: tuple[str, ...] = ("backend", "pipeline", "file")
POLICIES: tuple[str, ...] = ("offline", "live")
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
WORKFLOWS: tuple[str, ...] = ("eager-torch", "png-images")

_TOP: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "schema": int,
    "created": str,
    "command": str,
    "machine": dict,
    "peak_gflops": dict,
    "settings": dict,
    "models": dict,
    "results": list,
    "baselines": list,
}
_NUM = (int, float)
_OPT_NUM = (int, float, type(None))
_ROW: dict[str, type | tuple[type, ...]] = {
    "model": str,
    "backend": str,
    "device": str,
    "device_kind": str,
    "precision": str,
    "resolution": str,
    "width": int,
    "height": int,
    "batch": int,
    "workers": (int, type(None)),
    "mode": str,
    "policy": (str, type(None)),
    "status": str,
    "error": (str, type(None)),
    "frames": int,
    "fps": _OPT_NUM,
    "timing_ms": (dict, type(None)),
    "latency_ms": (dict, type(None)),
    "dropped": (int, type(None)),
    "frames_in": (int, type(None)),
    "stages_ms": dict,
    "gflop_per_frame": _OPT_NUM,
    "gflops": _OPT_NUM,
    "peak_fraction": _OPT_NUM,
    "backend_ratio": _OPT_NUM,
}
_BASELINE: dict[str, type | tuple[type, ...]] = {
    "model": str,
    "workflow": str,
    "device": str,
    "resolution": str,
    "width": int,
    "height": int,
    "frames": int,
    "status": str,
    "error": (str, type(None)),
    "fps": _OPT_NUM,
    "stages_ms": dict,
    "speedups": list,
}
_MACHINE: dict[str, type | tuple[type, ...]] = {
    "label": str,
    "os": str,
    "cpu": dict,
    "gpus": list,
    "versions": dict,
}


def _type_name(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def _check_fields(obj: Any, fields: dict[str, type | tuple[type, ...]], where: str, source: str) -> None:
    if not isinstance(obj, dict):
        raise DataError(f"{source}: {where} must be a JSON object. Got {type(obj).__name__}")
    for key, expected in fields.items():
        if key not in obj:
            raise DataError(
                f"{source}: {where} lacks the field {key!r}; the file is not a complete bench result"
            )
        value = obj[key]
        # bool is an int in Python but never a valid count or measurement here.
        if isinstance(value, bool) or not isinstance(value, expected):
            raise DataError(
                f"{source}: {where}.{key} must be {_type_name(expected)}. "
                f"Got {type(value).__name__} {value!r}"
            )


def _check_choice(value: Any, choices: Sequence[str | None], where: str, source: str) -> None:
    if value not in choices:
        raise DataError(f"{source}: {where} must be one of {list(choices)}. Got {value!r}")


def validate(data: Any, source: str = "bench result") -> dict[str, Any]:
    """Check that ``data`` is a bench result of a schema this vstyle reads; return it unchanged.

    Args:
        data: the parsed JSON.
        source: names the file in error messages.

    Raises:
        DataError: the first problem found, saying which field, what was expected and what was found.
    """
    if not isinstance(data, dict):
        raise DataError(f"{source}: expected a JSON object from `vstyle bench`. Got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise DataError(
            f"{source}: not a vstyle bench result (format must be {FORMAT!r}. Got {data.get('format')!r}); "
            "pass the .json file `vstyle bench` wrote"
        )
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise DataError(f"{source}: schema must be a positive integer. Got {schema!r}")
    if schema > SCHEMA:
        raise DataError(
            f"{source}: bench schema {schema} is newer than this vstyle reads ({SCHEMA}); upgrade vstyle"
        )
    _check_fields(data, _TOP, "the file", source)
    _check_fields(data["machine"], _MACHINE, "machine", source)
    for i, row in enumerate(data["results"]):
        where = f"results[{i}]"
        _check_fields(row, _ROW, where, source)
        _check_choice(row["mode"], MODES, f"{where}.mode", source)
        _check_choice(row["precision"], PRECISIONS, f"{where}.precision", source)
        _check_choice(row["status"], ("ok", "error"), f"{where}.status", source)
        _check_choice(row["device_kind"], ("cpu", "gpu"), f"{where}.device_kind", source)
        _check_choice(row["policy"], (*POLICIES, None), f"{where}.policy", source)
        if row["status"] == "ok" and row["fps"] is None:
            raise DataError(f"{source}: {where} has status ok but no fps")
    for i, row in enumerate(data["baselines"]):
        where = f"baselines[{i}]"
        _check_fields(row, _BASELINE, where, source)
        _check_choice(row["workflow"], WORKFLOWS, f"{where}.workflow", source)
        _check_choice(row["status"], ("ok", "error"), f"{where}.status", source)
    return data


def load_results(path: Path) -> dict[str, Any]:
    """Read and :func:`validate` a result file.

    Raises:
        DataError: the file is missing, not JSON, or not a bench result of a known schema.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"bench result {path} does not exist; pass a .json file written by `vstyle bench`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read bench result {path} ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not JSON ({exc}); pass a .json file written by `vstyle bench`") from exc
    return validate(data, str(path))


def save_results(data: dict[str, Any], folder: Path, name: str = "bench") -> dict[str, Path]:
    """Write ``data`` as ``<name>.json``, ``<name>.csv`` and ``<name>.md`` in ``folder``.

    Each file is written under a temporary name and renamed, so a reader never sees half a file.
    ``data`` is validated first: a writer bug fails here rather than in a later ``compare``.

    Returns:
        ``{"json": path, "csv": path, "md": path}``.
    """
    validate(data, "result being written")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {ext: folder / f"{name}.{ext}" for ext in ("json", "csv", "md")}
    write_json_atomic(paths["json"], data)
    write_text_atomic(paths["csv"], to_csv(rows_with_machine([data])))
    write_text_atomic(paths["md"], to_markdown(data))
    return paths


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- flat views --------------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "machine",
    "model",
    "backend",
    "device",
    "precision",
    "resolution",
    "width",
    "height",
    "batch",
    "workers",
    "mode",
    "policy",
    "status",
    "frames",
    "fps",
    "backend_ratio",
    "timing_of",
    "timing_p5_ms",
    "timing_median_ms",
    "timing_p95_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "dropped",
    "frames_in",
    "video_io",
    "gflop_per_frame",
    "gflops",
    "peak_fraction",
    "stages_ms",
    "error",
)


def _video_io(row: dict[str, Any]) -> str:
    """``"nvdec/h264_nvenc"`` where a file row used hardware video engines, else empty."""
    decoder, encoder = row.get("decoder"), row.get("encoder")
    if decoder in (None, "software") and (encoder is None or not str(encoder).endswith("_nvenc")):
        return ""
    return f"{decoder or 'software'}/{encoder or '?'}"


def rows_with_machine(
    runs: Iterable[dict[str, Any]], labels: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Every result row of ``runs`` flattened for a table, with its machine's label.

    Args:
        runs: validated result files.
        labels: one machine label per run (default: each run's ``machine.label``).
    """
    flat: list[dict[str, Any]] = []
    for i, run in enumerate(runs):
        machine = labels[i] if labels is not None else run["machine"]["label"]
        for row in run["results"]:
            timing = row.get("timing_ms") or {}
            latency = row.get("latency_ms") or {}
            flat.append(
                {
                    "machine": machine,
                    **{k: row[k] for k in _ROW if k not in ("timing_ms", "latency_ms", "stages_ms")},
                    "timing_of": timing.get("of"),
                    "timing_p5_ms": timing.get("p5"),
                    "timing_median_ms": timing.get("median"),
                    "timing_p95_ms": timing.get("p95"),
                    "latency_p50_ms": latency.get("p50"),
                    "latency_p95_ms": latency.get("p95"),
                    "latency_p99_ms": latency.get("p99"),
                    "video_io": _video_io(row),
                    "stages_ms": _stages(row["stages_ms"]) if row["stages_ms"] else "",
                }
            )
    return flat


def to_csv(flat: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`rows_with_machine` as CSV with :data:`CSV_COLUMNS`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in CSV_COLUMNS})
    return out.getvalue()


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _stages(stages: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in stages.items()) or "–"


def results_table(flat: Sequence[dict[str, Any]], *, with_machine: bool = False) -> str:
    """A Markdown table of :func:`rows_with_machine` rows, one line per measured cell."""
    head = [
        "model",
        "backend",
        "precision",
        "size",
        "batch",
        "workers",
        "mode",
        "fps",
        "of backend-only",
        "ms median (p5–p95)",
        "latency p50/p95/p99 ms",
        "dropped",
        "GFLOP/frame",
        "GFLOP/s",
        "% peak",
        "stage ms/frame",
    ]
    if with_machine:
        head.insert(0, "machine")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in flat:
        mode = r["mode"] if r["policy"] is None else f"{r['mode']} {r['policy']}"
        if r["video_io"]:
            mode += f" ({r['video_io']})"
        cells = [
            r["model"],
            r["backend"],
            r["precision"],
            f"{r['width']}×{r['height']}",
            str(r["batch"]),
            str(r["workers"] or "auto"),
            mode,
        ]
        if r["status"] != "ok":
            cells += [f"failed: {r['error']}"] + ["–"] * 8
        else:
            timing = (
                "–"
                if r["timing_median_ms"] is None
                else (f"{r['timing_median_ms']:.1f} ({r['timing_p5_ms']:.1f}–{r['timing_p95_ms']:.1f})")
            )
            latency = (
                "–"
                if r["latency_p50_ms"] is None
                else (f"{r['latency_p50_ms']:.0f} / {r['latency_p95_ms']:.0f} / {r['latency_p99_ms']:.0f}")
            )
            peak, ratio = r["peak_fraction"], r["backend_ratio"]
            cells += [
                _num(r["fps"], 2),
                "–" if ratio is None else f"{100 * ratio:.0f} %",
                timing,
                latency,
                "–" if r["dropped"] is None else f"{r['dropped']} / {r['frames_in']}",
                _num(r["gflop_per_frame"], 2),
                _num(r["gflops"], 1),
                "–" if peak is None else f"{100 * peak:.0f} %",
                r["stages_ms"] or "–",
            ]
        if with_machine:
            cells.insert(0, r["machine"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def baselines_table(baselines: Sequence[dict[str, Any]]) -> str:
    """A Markdown table: each baseline against each vstyle file-mode configuration of the same job."""
    lines = [
        "| model | size | workflow | baseline fps | baseline stage ms/frame | vstyle (backend, precision, "
        "batch) | vstyle fps | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for b in baselines:
        size = f"{b['width']}×{b['height']}"
        if b["status"] != "ok":
            lines.append(
                f"| {b['model']} | {size} | {b['workflow']} | failed: {b['error']} | – | – | – | – |"
            )
            continue
        stages = _stages(b["stages_ms"])
        if not b["speedups"]:
            lines.append(
                f"| {b['model']} | {size} | {b['workflow']} | {b['fps']:.2f} | {stages} | "
                "(no file-mode result to compare) | – | – |"
            )
        for s in b["speedups"]:
            lines.append(
                f"| {b['model']} | {size} | {b['workflow']} | {b['fps']:.2f} | {stages} | "
                f"{s['backend']}, {s['precision']}, {s['batch']} | {s['fps']:.2f} | **{s['ratio']:.2f}×** |"
            )
    return "\n".join(lines)


def to_markdown(data: dict[str, Any]) -> str:
    """The whole result file as Markdown: machine, peak, FLOPs, the results and the baselines."""
    m = data["machine"]
    v = m["versions"]
    peak = data["peak_gflops"]
    gpus = (
        "; ".join(
            f"{g['name']} ({_num(g.get('memory_gib'))} GiB, driver {g.get('driver') or '?'}, "
            f"CUDA {g.get('cuda') or '?'})"
            for g in m["gpus"]
        )
        or "none"
    )
    versions = ", ".join(f"{k} {val}" for k, val in v.items() if val)
    lines = [
        f"# vstyle bench — {m['label']}",
        "",
        f"`{data['command']}` — {data['created']}",
        "",
        f"- CPU: {m['cpu']['model']} ({m['cpu']['usable_cores']} of {m['cpu']['cores']} cores usable), "
        f"RAM {_num(m.get('memory_gib'))} GiB; GPU: {gpus}; {m['os']}",
        f"- Versions: {versions}",
        "- Matrix-multiply peak (GFLOP/s): "
        + ", ".join(f"{k} {_num(val, 0)}" for k, val in peak.items() if k != "how" and val is not None),
        "",
    ]
    flops = [
        (label, size, f)
        for label, model in data["models"].items()
        for size, f in (model.get("flops") or {}).items()
    ]
    if flops:
        lines += [
            "| model | size | conv GFLOP | elementwise GFLOP | total GFLOP / frame |",
            "|---|---|---|---|---|",
        ]
        for label, size, f in flops:
            gflop = [f"{f[k] / 1e9:.2f}" for k in ("conv", "elementwise", "total")]
            lines.append(f"| {label} | {size} | " + " | ".join(gflop) + " |")
        lines.append("")
    lines += [results_table(rows_with_machine([data])), ""]
    if data["baselines"]:
        lines += [
            "## Baselines (same clip, same frames, same network)",
            "",
            baselines_table(data["baselines"]),
            "",
        ]
    return "\n".join(lines)

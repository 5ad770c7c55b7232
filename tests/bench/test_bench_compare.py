"""`vstyle bench compare`: result files of different machines merged into one table, CSV and charts."""

from __future__ import annotations

import copy
import csv
import io
import sys
from pathlib import Path
from typing import Any

import pytest

from vstyle.bench.compare import ChartsUnavailableError, chart_series, compare, merge
from vstyle.bench.machine import device_label
from vstyle.bench.results import save_results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _as_other_machine(data: dict[str, Any], label: str, cpu: str, slower: float) -> dict[str, Any]:
    """The same matrix as if measured on another machine (its own record, its own numbers)."""
    other = copy.deepcopy(data)
    other["machine"]["label"] = label
    other["machine"]["cpu"]["model"] = cpu
    for row in other["results"]:
        row["device"] = device_label(other["machine"], row["device_kind"])
        row["fps"] = round(row["fps"] / slower, 3)
    return other


@pytest.fixture
def two_machines(bench_run: dict[str, Any], tmp_path: Path) -> list[Path]:
    """The shared run and a copy "from another machine", each written by the bench's own writer."""
    here = bench_run["data"]
    there = _as_other_machine(here, "Other box ×4", "Other CPU 9000", slower=2.0)
    return [
        save_results(here, tmp_path / "here")["json"],
        save_results(there, tmp_path / "there", "bench-other")["json"],
    ]


def test_merge_keeps_each_machines_rows_apart(two_machines: list[Path], bench_run: dict[str, Any]) -> None:
    runs, labels, rows = merge(two_machines)
    here = bench_run["data"]
    assert labels == [here["machine"]["label"], "Other box ×4"]
    assert len(rows) == 2 * len(here["results"])
    assert {r["machine"] for r in rows} == set(labels)
    assert {r["device"] for r in rows if r["machine"] == "Other box ×4"} == {"Other CPU 9000 ×2"}
    # Sorted by mode, then model and size, fastest first within a cell.
    keys = [(r["mode"], r["policy"] or "", r["model"], r["width"] * r["height"], r["batch"]) for r in rows]
    assert keys == sorted(keys)
    for a, b in zip(rows, rows[1:]):
        if (a["mode"], a["policy"], a["model"], a["width"], a["height"], a["batch"]) == (
            b["mode"],
            b["policy"],
            b["model"],
            b["width"],
            b["height"],
            b["batch"],
        ):
            assert a["fps"] >= b["fps"]


def test_same_machine_label_is_told_apart_by_file_name(bench_run: dict[str, Any], tmp_path: Path) -> None:
    first = save_results(bench_run["data"], tmp_path / "a", "monday")["json"]
    second = save_results(bench_run["data"], tmp_path / "b", "tuesday")["json"]
    _, labels, rows = merge([first, second])
    label = bench_run["data"]["machine"]["label"]
    assert labels == [f"{label} (monday)", f"{label} (tuesday)"]
    lines = chart_series(rows)["backend"]
    assert len(lines) == 2 * 2 * 2, "two runs × two precisions × two batch sizes"
    assert any("(monday)" in name for name in lines), "the shared device is labelled by run"


def test_compare_writes_table_csv_and_charts(
    two_machines: list[Path], bench_run: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "cmp"
    report = compare(two_machines, out)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "compare.csv",
        "compare.md",
        "fps-backend.png",
        "fps-file.png",
        "fps-pipeline-live.png",
        "fps-pipeline-offline.png",
    ]
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 5000
    text = (out / "compare.md").read_text()
    assert text == report["markdown"] + "\n"
    n = len(bench_run["data"]["results"])
    assert sum(1 for line in text.splitlines() if line.startswith("| Other box ×4 | tiny |")) == n
    assert "## Baselines on Other box ×4" in text
    table = list(csv.DictReader(io.StringIO((out / "compare.csv").read_text())))
    assert len(table) == 2 * n
    slow = {
        (r["mode"], r["policy"], r["precision"], r["batch"]): float(r["fps"])
        for r in table
        if r["machine"] == "Other box ×4"
    }
    fast = {
        (r["mode"], r["policy"], r["precision"], r["batch"]): float(r["fps"])
        for r in table
        if r["machine"] != "Other box ×4"
    }
    assert slow.keys() == fast.keys()
    assert all(slow[k] == pytest.approx(fast[k] / 2, rel=1e-2) for k in slow)


def test_chart_lines_are_device_backend_precision_model(two_machines: list[Path]) -> None:
    _, _, rows = merge(two_machines)
    series = chart_series(rows)
    assert set(series) == {"backend", "pipeline-offline", "pipeline-live", "file"}
    live = series["pipeline-live"]
    assert sorted(live) == sorted(
        f"{device} · onnxruntime · {p} · tiny"
        for device in {r["device"] for r in rows}
        for p in ("fp32", "int8")
    )
    assert "Other CPU 9000 ×2 · onnxruntime · fp32 · tiny · b2" in series["backend"]


def test_missing_matplotlib_is_one_clear_error(two_machines: list[Path], tmp_path: Path, monkeypatch) -> None:
    # matplotlib is installed here; a None entry in sys.modules makes its import fail as if it were not.
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ChartsUnavailableError, match=r"pip install 'vstyle\[bench\]'"):
        compare(two_machines, tmp_path / "cmp")
    assert not (tmp_path / "cmp" / "compare.md").exists()
    # Tables alone need no matplotlib.
    report = compare(two_machines, tmp_path / "tables", charts=False)
    assert [p.name for p in report["files"]] == ["compare.md", "compare.csv"]

"""The result file: schema round trip, rejection of what is not a result of a known schema, CSV, Markdown."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from vstyle.bench.results import CSV_COLUMNS, SCHEMA, load_results, save_results, to_markdown, validate
from vstyle.errors import DataError


@pytest.fixture
def result(bench_run: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the shared run's result, free to change."""
    assert bench_run["code"] == 0
    return copy.deepcopy(bench_run["data"])


def test_round_trip_keeps_every_field(result: dict[str, Any], tmp_path: Path) -> None:
    paths = save_results(result, tmp_path, "again")
    assert {p.name for p in paths.values()} == {"again.json", "again.csv", "again.md"}
    assert load_results(paths["json"]) == json.loads(json.dumps(result))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.csv", "again.json", "again.md"]


def _broken(result: dict[str, Any], change: str) -> dict[str, Any]:
    bad = copy.deepcopy(result)
    if change == "format":
        bad["format"] = "vstyle-metrics"
    elif change == "newer":
        bad["schema"] = SCHEMA + 1
    elif change == "missing":
        del bad["results"][0]["fps"]
    elif change == "type":
        bad["results"][0]["fps"] = "fast"
    elif change == "bool":
        bad["results"][0]["batch"] = True
    elif change == "mode":
        bad["results"][0]["mode"] = "turbo"
    elif change == "machine":
        del bad["machine"]["cpu"]
    elif change == "ok-without-fps":
        bad["results"][0]["fps"] = None
    return bad


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("format", "not a vstyle bench result (format must be 'vstyle-bench'. Got 'vstyle-metrics')"),
        ("newer", f"bench schema {SCHEMA + 1} is newer than this vstyle reads ({SCHEMA}); upgrade vstyle"),
        ("missing", "results[0] lacks the field 'fps'"),
        ("type", "results[0].fps must be int or float or null. Got str 'fast'"),
        ("bool", "results[0].batch must be int. Got bool True"),
        ("mode", "results[0].mode must be one of ['backend', 'pipeline', 'file']. Got 'turbo'"),
        ("machine", "machine lacks the field 'cpu'"),
        ("ok-without-fps", "results[0] has status ok but no fps"),
    ],
)
def test_wrong_files_are_rejected_saying_what_is_wrong(
    result: dict[str, Any], change: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_broken(result, change)))
    with pytest.raises(DataError) as caught:
        load_results(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value), "the message names the file"
    assert isinstance(caught.value, ValueError), "callers may catch ValueError"


def test_not_json_and_not_an_object_are_rejected(tmp_path: Path) -> None:
    text = tmp_path / "bench.json"
    text.write_text("fps: 30\n")
    with pytest.raises(DataError, match="is not JSON"):
        load_results(text)
    with pytest.raises(DataError, match="expected a JSON object from `vstyle bench`. Got list"):
        validate([], "x.json")


def test_a_writer_bug_is_caught_before_anything_is_written(result: dict[str, Any], tmp_path: Path) -> None:
    del result["results"][0]["stages_ms"]
    with pytest.raises(DataError, match="stages_ms"):
        save_results(result, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_csv_has_one_row_per_cell_with_the_machine(result: dict[str, Any], tmp_path: Path) -> None:
    paths = save_results(result, tmp_path)
    reader = csv.DictReader(io.StringIO(paths["csv"].read_text()))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = list(reader)
    assert len(rows) == len(result["results"])
    for got, row in zip(rows, result["results"]):
        assert got["machine"] == result["machine"]["label"]
        assert (got["model"], got["mode"], got["precision"]) == (row["model"], row["mode"], row["precision"])
        assert float(got["fps"]) == row["fps"]
        assert float(got["timing_median_ms"]) == row["timing_ms"]["median"]
        assert got["policy"] == (row["policy"] or "")
        if row["latency_ms"] is not None:
            assert float(got["latency_p95_ms"]) == row["latency_ms"]["p95"]
        else:
            assert got["latency_p95_ms"] == ""


def test_markdown_shows_failures_and_the_flop_table(result: dict[str, Any]) -> None:
    failed = copy.deepcopy(result["results"][0])
    failed.update(status="error", error="BackendUnavailableError: no INT8 here", fps=None)
    result["results"].append(failed)
    validate(result)
    text = to_markdown(result)
    assert "failed: BackendUnavailableError: no INT8 here" in text
    table = [line for line in text.splitlines() if line.startswith("| tiny | onnxruntime |")]
    assert len(table) == len(result["results"])
    assert "| tiny | 64x48 |" in text, "FLOPs per model and frame size"
    assert result["command"] in text


def test_hardware_video_engines_are_named_in_the_tables(result: dict[str, Any], tmp_path: Path) -> None:
    gpu_file = copy.deepcopy(next(r for r in result["results"] if r["mode"] == "file"))
    gpu_file.update(decoder="nvdec", encoder="libx264")  # an H100: NVDEC but no NVENC
    result["results"].append(gpu_file)
    validate(result)
    assert "| file offline (nvdec/libx264) |" in to_markdown(result)
    assert "| file offline |" in to_markdown(result), "software rows stay unlabelled"
    rows = list(csv.DictReader(io.StringIO(save_results(result, tmp_path)["csv"].read_text())))
    assert [r["video_io"] for r in rows if r["mode"] == "file"][-1] == "nvdec/libx264"
    legacy = copy.deepcopy(result)
    for row in legacy["results"]:
        row.pop("decoder", None), row.pop("encoder", None)
    validate(legacy)  # rows written before the fields existed still load
    assert "(nvdec" not in to_markdown(legacy)

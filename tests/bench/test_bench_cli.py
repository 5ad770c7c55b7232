"""`vstyle bench` end to end on the tiny model (seconds, no timed assertions), and its refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vstyle.bench.flops import model_flops
from vstyle.bench.results import SCHEMA, load_results
from vstyle.cli import main


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("vstyle: error: ") and "Traceback" not in err
    return lines[0]


def test_bench_writes_json_csv_markdown_and_every_cell_ran(bench_run: dict[str, Any]) -> None:
    assert bench_run["code"] == 0
    out: Path = bench_run["out"]
    assert sorted(p.name for p in out.iterdir()) == ["bench.csv", "bench.json", "bench.md"], (
        "no temporary files left"
    )
    data = load_results(out / "bench.json")
    assert data["schema"] == SCHEMA
    # fp32 and int8 × (batch 1: backend, pipeline offline, pipeline live, file; batch 2: the same but live)
    cells = {(r["precision"], r["batch"], r["mode"], r["policy"]) for r in data["results"]}
    expected = {
        (p, b, m, pol)
        for p in ("fp32", "int8")
        for b in (1, 2)
        for m, pol in (("backend", None), ("pipeline", "offline"), ("file", "offline"))
    }
    expected |= {(p, 1, "pipeline", "live") for p in ("fp32", "int8")}
    assert cells == expected and len(data["results"]) == len(expected)
    for row in data["results"]:
        assert row["status"] == "ok", row["error"]
        assert row["fps"] > 0 and row["frames"] > 0
        assert row["backend"] == "onnxruntime" and row["device_kind"] == "cpu"
        assert row["workers"] is not None and row["workers"] >= 1
        assert row["timing_ms"]["p5"] <= row["timing_ms"]["median"] <= row["timing_ms"]["p95"]
        assert row["gflop_per_frame"] > 0 and row["gflops"] > 0 and row["peak_fraction"] > 0


def test_bench_modes_measure_what_they_say(bench_run: dict[str, Any]) -> None:
    rows = bench_run["data"]["results"]
    backend = next(r for r in rows if r["mode"] == "backend" and r["batch"] == 1)
    assert backend["timing_ms"]["of"] == "backend call" and set(backend["stages_ms"]) == {"infer"}
    assert backend["frames"] == 3 and (backend["width"], backend["height"]) == (64, 48)
    assert next(r for r in rows if r["mode"] == "backend" and r["batch"] == 2)["frames"] == 6
    live = next(r for r in rows if r["policy"] == "live" and r["precision"] == "fp32")
    assert set(live["latency_ms"]) == {"p50", "p95", "p99"}
    assert live["latency_ms"]["p50"] <= live["latency_ms"]["p99"]
    assert live["frames_in"] == 12 and 0 <= live["dropped"] <= live["frames_in"]  # 0.4 s at 30 fps
    for r in rows:
        if r["mode"] in ("pipeline", "file"):
            assert set(r["stages_ms"]) == {"capture", "preprocess", "infer", "postprocess", "write"}
            assert r["timing_ms"]["of"] == "frame interval"
    # Only the offline policy promises no drops; a live row may drop when the machine is busy.
    offline = [r for r in rows if r["policy"] == "offline"]
    assert offline and all(r["dropped"] == 0 for r in offline), "offline runs lose nothing"
    # File mode scales the 128×96 clip to the 48-pixel height: 64×48.
    assert {(r["width"], r["height"]) for r in rows if r["mode"] == "file"} == {(64, 48)}
    # A CPU backend reads and writes files in software (hardware video engines only with a GPU network).
    assert {(r["decoder"], r["encoder"]) for r in rows if r["mode"] == "file"} == {("software", "libx264")}
    # Offline pipeline and file fps are also given as a share of backend-only fps of the same cell.
    same = ("precision", "batch", "workers", "width", "height")
    for r in rows:
        if r["policy"] == "offline":
            base = next(b for b in rows if b["mode"] == "backend" and all(b[k] == r[k] for k in same))
            assert r["backend_ratio"] == pytest.approx(r["fps"] / base["fps"], rel=1e-2)
        else:
            assert r["backend_ratio"] is None


def test_bench_records_machine_peak_command_and_flops(bench_run: dict[str, Any], tiny_model: Path) -> None:
    data = bench_run["data"]
    machine = data["machine"]
    assert machine["cpu"]["usable_cores"] >= 1 and machine["cpu"]["model"]
    for library in ("vstyle", "onnxruntime", "av", "ffmpeg", "torch"):
        assert machine["versions"][library], library
    assert data["peak_gflops"]["cpu_fp32"] > 0 and "float32" in data["peak_gflops"]["how"]["cpu_fp32"]
    assert data["command"].startswith("vstyle bench --models ") and "--baselines" in data["command"]
    flops = data["models"]["tiny"]["flops"]
    assert flops == model_flops(tiny_model, [(64, 48)])
    row = next(r for r in data["results"] if r["mode"] == "file")
    assert row["gflop_per_frame"] == pytest.approx(flops["64x48"]["total"] / 1e9, rel=1e-3)
    assert row["gflops"] == pytest.approx(row["gflop_per_frame"] * row["fps"], rel=1e-2)


def test_bench_baselines_and_speedups(bench_run: dict[str, Any]) -> None:
    data = bench_run["data"]
    workflows = {b["workflow"]: b for b in data["baselines"]}
    assert set(workflows) == {"eager-torch", "png-images"}
    files = [r for r in data["results"] if r["mode"] == "file"]
    for base in workflows.values():
        assert base["status"] == "ok", base["error"]
        assert (base["width"], base["height"]) == (64, 48) and base["fps"] > 0
        assert len(base["speedups"]) == len(files), "one ratio per vstyle file-mode configuration"
        for s in base["speedups"]:
            assert s["ratio"] == pytest.approx(s["fps"] / base["fps"], rel=1e-2)
    assert workflows["eager-torch"]["frames"] == 3, "frames after the warm-up, as vstyle's file mode"
    assert workflows["png-images"]["frames"] == 4, "the whole job"
    assert set(workflows["eager-torch"]["stages_ms"]) == {"decode", "stylize", "encode"}


def test_bench_markdown_shows_each_row(bench_run: dict[str, Any]) -> None:
    text = (bench_run["out"] / "bench.md").read_text()
    data = bench_run["data"]
    for row in data["results"]:
        assert f"| {row['fps']:.2f} |" in text
    assert "## Baselines" in text and "eager-torch" in text and "×**" in text
    assert data["machine"]["label"] in text.splitlines()[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backends", "nope"], "unknown backend 'nope'"),
        (["--resolutions", "999p"], "resolution must be one of"),
        (["--modes", "backend", "--baselines"], "add file to --modes"),
        (["--runs", "1", "--warmup", "-1"], "warm-up must be 0 or more"),
        (["--modes", "file", "--clip", "no-such-clip.mp4"], "no-such-clip.mp4 does not exist"),
    ],
)
def test_bench_refuses_bad_settings_in_one_line(
    argv: list[str], message: str, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["bench", "--models", str(tiny_model), "--out", str(tmp_path / "out"), "--no-progress", *argv]
    )
    assert code == 1
    assert message in one_line_error(capsys)
    assert not (tmp_path / "out").exists(), "nothing written for a refused run"


def test_bench_compare_cli(
    bench_run: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = bench_run["out"] / "bench.json"
    other = tmp_path / "other.json"
    data = json.loads(src.read_text())
    data["machine"]["label"] = "Another machine"
    other.write_text(json.dumps(data))
    out = tmp_path / "cmp"
    assert main(["bench", "compare", str(src), str(other), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Another machine" in printed and bench_run["data"]["machine"]["label"] in printed
    assert {"compare.md", "compare.csv", "fps-backend.png", "fps-file.png"} <= {p.name for p in out.iterdir()}

    before = (out / "compare.md").read_bytes()
    assert main(["bench", "compare", str(src), "--out", str(out)]) == 1, "earlier results are not replaced"
    assert "already holds compare.md, compare.csv; pass --overwrite" in one_line_error(capsys)
    assert (out / "compare.md").read_bytes() == before
    assert main(["bench", "compare", str(src), "--out", str(out), "--overwrite", "--no-charts"]) == 0
    capsys.readouterr()
    assert main(["bench", "compare", str(src), str(src), "--out", str(tmp_path / "twice")]) == 1
    assert "given twice" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "../escape"], "must be a plain file name stem"),
        (["--name", ""], "must be a plain file name stem"),
        (["--out", "afile/x"], "is a file, not a folder"),
        (["--live-seconds", "inf"], "live seconds must be in"),
    ],
)
def test_bench_refuses_bad_outputs_before_any_work(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("mine")
    assert main(["bench", "--models", "tiny", "--resolutions", "64x48", "--modes", "backend", "--no-peak",
                 "--no-progress", *args]) == 1  # fmt: skip
    assert message in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_bench_compare_rejects_a_file_that_is_not_a_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "metrics.json"
    bogus.write_text(json.dumps({"frames_out": 3}))
    assert main(["bench", "compare", str(bogus), "--out", str(tmp_path / "cmp")]) == 1
    assert "not a vstyle bench result" in one_line_error(capsys)
    assert main(["bench", "compare", str(tmp_path / "missing.json")]) == 1
    assert "does not exist" in one_line_error(capsys)

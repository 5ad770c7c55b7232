"""``vstyle eval`` end to end: a summary on stdout and files on disk, or one line of error and none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from media import make_clip

from vstyle.cli import main


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("eval-cli") / "walk.mp4", frames=5, size=(64, 48), audio=None)


def fast(model: Path, clip: Path) -> list[str]:
    """Arguments of a run that takes a second: a short clip, small sizes, no Middlebury."""
    return ["eval", "--model", str(model), "--clips", str(clip), "--frames", "3", "--height", "32",
            "--photos", "2", "--photo-size", "32", "--no-middlebury"]  # fmt: skip


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("vstyle: error: ") and "Traceback" not in err
    return lines[0]


def test_eval_writes_the_default_folder_and_prints_a_summary(
    tiny_model: Path, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(fast(tiny_model, clip)) == 0
    out = tmp_path / "eval" / "tiny"
    report = json.loads((out / "eval.json").read_text())
    assert report["clips"]["items"][0]["name"] == "walk" and (out / "xt_walk.png").is_file()
    stdout = capsys.readouterr().out
    assert "E_warp ratio walk:" in stdout and f"{report['clips']['items'][0]['ratio']:.2f}" in stdout
    # Held-out shared photos where the shared data is present; a stated reason where it is not.
    if report["photos"]["skipped"] is None:
        assert report["photos"]["count"] == 2 and (out / "contact.png").is_file()
    else:
        assert "photos: skipped" in stdout

    assert main(fast(tiny_model, clip)) == 1
    assert "--overwrite" in one_line_error(capsys)
    assert main([*fast(tiny_model, clip), "--overwrite"]) == 0


def test_eval_with_teacher_prints_fidelity(tiny_model: Path, clip: Path, tmp_path: Path, capsys) -> None:
    args = [*fast(tiny_model, clip), "--teacher", str(tiny_model), "--photos", "0", "--out", str(tmp_path)]
    assert main(args) == 0
    stdout = capsys.readouterr().out
    assert "teacher" in stdout and "photos: skipped (no photos asked for (photos=0))" in stdout
    report = json.loads((tmp_path / "eval.json").read_text())
    row = report["clips"]["items"][0]
    assert row["teacher"]["ratio"] == pytest.approx(row["ratio"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"--clips": "no_such_clip"}, "clip 'no_such_clip' not found"),
        ({"--clips": "ONE_FRAME"}, "at least 2 consecutive frames"),
        ({"--style-image": "no_such_painting.jpg"}, "style image 'no_such_painting.jpg' not found"),
        ({"--frames": "1"}, "frames must be at least 2"),
        ({"--photos": "-1"}, "photos must be 0 or more"),
        ({"--model": "MISSING"}, "not found"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tiny_model: Path, clip: Path, tmp_path: Path, capsys, change: dict[str, str], expected: str
) -> None:
    single = make_clip(tmp_path / "single.mp4", frames=1, audio=None)
    args = fast(tiny_model, clip)
    for flag, value in change.items():
        value = {"ONE_FRAME": str(single), "MISSING": str(tmp_path / "missing.onnx")}.get(value, value)
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 1
    assert expected in one_line_error(capsys)
    assert not out.exists()

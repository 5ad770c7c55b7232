"""evaluate(): one run writes a strict-JSON report and PNGs that match it, or nothing at all."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from media import make_clip

from vstyle.errors import ModelError, SinkError, SourceError
from vstyle.evaluate import EVAL_FORMAT, EVAL_FORMAT_VERSION, evaluate, photo_input, summary
from vstyle.models.metadata import file_sha256

FRAMES, HEIGHT, PHOTO_SIZE = 4, 32, 48


def strict_json(path: Path) -> dict[str, Any]:
    """Parse as strict JSON: ``Infinity``/``NaN`` are not JSON and must not appear."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{path.name} holds {token}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def read_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} is not a readable PNG"
    return image


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A short clip and two photos of different shapes, written in the test."""
    folder = tmp_path_factory.mktemp("eval-inputs")
    rng = np.random.default_rng(0)
    photos = []
    for name, size in (("wide.png", (90, 60)), ("tall.png", (50, 70))):
        img = cv2.GaussianBlur(rng.uniform(0, 255, (size[1], size[0], 3)).astype(np.float32), (0, 0), 2)
        cv2.imwrite(str(folder / name), img.clip(0, 255).astype(np.uint8))
        photos.append(folder / name)
    clip = make_clip(folder / "moving.mp4", frames=6, size=(64, 48), audio=None)
    return {"clip": clip, "photos": photos, "folder": folder}


def test_student_against_itself_writes_a_complete_report(
    tiny_model: Path, inputs: dict[str, Any], tmp_path: Path
) -> None:
    """The student as its own teacher: exact answers (PSNR ∞, SSIM 1, LPIPS-like 0, equal flicker)."""
    out = tmp_path / "report"
    report = evaluate(
        tiny_model,
        out_dir=out,
        teacher=tiny_model,
        clips=[inputs["clip"]],
        frames=FRAMES,
        height=HEIGHT,
        photos=inputs["photos"],
        photo_size=PHOTO_SIZE,
        middlebury=False,
    )
    data = strict_json(out / "eval.json")
    assert data == report
    assert data["format"] == EVAL_FORMAT and data["format_version"] == EVAL_FORMAT_VERSION
    assert data["model"]["sha256"] == file_sha256(tiny_model) and data["model"]["sha256_from"] == "sidecar"
    assert data["model"]["name"] == "tiny" and data["model"]["architecture"] == "tiny"
    assert data["settings"]["frames"] == FRAMES and data["settings"]["photos"] == 2

    (row,) = data["clips"]["items"]
    assert row["name"] == "moving" and row["frames"] == FRAMES and row["size"] == [42, 32]
    assert row["E_output"] > 0 and row["E_input"] > 0
    assert row["ratio"] == pytest.approx(row["E_output"] / row["E_input"])
    assert row["teacher"]["ratio"] == pytest.approx(row["ratio"])
    assert row["xt_panels"] == ["input", "teacher", "student"]
    xt = read_png(out / row["xt_png"])
    assert xt.shape == (32, 3 * FRAMES * 4 + 2 * 4, 3)

    assert data["middlebury"]["skipped"] == "not asked for" and data["middlebury"]["items"] == []
    photos = data["photos"]
    assert photos["skipped"] is None and photos["count"] == 2
    assert [it["size"] for it in photos["items"]] == [[72, 48], [48, 64]]  # short side 48, multiples of 8
    for item in photos["items"]:
        assert item["psnr"] is None  # identical outputs: PSNR is infinite, written as null
        assert item["ssim"] == pytest.approx(1.0)
    assert photos["fidelity"]["psnr"] is None and photos["fidelity"]["ssim"] == pytest.approx(1.0)
    sheet = read_png(out / "contact.png")
    # Two rows of input | teacher | student at the cell height (48 px) with 4-px gaps.
    assert sheet.shape == (2 * 48 + 4, 3 * 72 + 2 * 4, 3)
    assert sorted(p.name for p in out.iterdir()) == ["contact.png", "eval.json", "xt_moving.png"]
    assert "E_warp ratio moving" in summary(report)


def test_scores_on_the_loss_network(
    tiny_model: Path, inputs: dict[str, Any], tmp_path: Path, shared_data: Path
) -> None:
    pytest.importorskip("torch")
    lossnet = shared_data / "lossnet" / "vgg19_caffe_conv1_1-conv3_4.pth"
    style = shared_data / "styles" / "the_scream.jpg"
    if not lossnet.is_file() or not style.is_file():
        pytest.skip("the shared loss network or the_scream.jpg is absent")
    report = evaluate(
        tiny_model,
        out_dir=tmp_path,
        teacher=tiny_model,
        style_image="the_scream",
        clips=(),
        photos=inputs["photos"],
        photo_size=PHOTO_SIZE,
        middlebury=False,
    )
    photos = report["photos"]
    assert report["settings"]["style_image"] == str(style)
    assert photos["fidelity"]["lpips_like_ratio"] == pytest.approx(0.0, abs=1e-6)  # student == teacher
    scores = photos["scores"]
    assert scores["skipped"] is None and scores["style_skipped"] is None
    assert scores["layers"]["style"] == ["relu1_1", "relu2_1", "relu3_1"]
    assert scores["layers"]["content"] == ["relu2_2"]
    assert scores["student"]["style_loss"] > 0 and scores["student"]["content_loss"] > 0
    assert scores["teacher"] == scores["student"]
    assert report["clips"] == {"skipped": "no clips given", "items": []}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contact.png", "eval.json"]


def test_without_teacher_the_sheet_has_two_columns_and_fidelity_says_why(
    tiny_model: Path, inputs: dict[str, Any], tmp_path: Path
) -> None:
    report = evaluate(
        tiny_model,
        out_dir=tmp_path,
        clips=[inputs["clip"]],
        frames=3,
        height=HEIGHT,
        photos=inputs["photos"][:1],
        photo_size=PHOTO_SIZE,
        middlebury=False,
    )
    assert report["teacher"] is None
    assert report["photos"]["fidelity"] == {"skipped": "no teacher given"}
    assert "psnr" not in report["photos"]["items"][0]
    assert report["clips"]["items"][0]["teacher"] is None
    assert read_png(tmp_path / "contact.png").shape == (48, 2 * 72 + 4, 3)
    assert read_png(tmp_path / "xt_moving.png").shape == (32, 2 * 3 * 4 + 4, 3)


def test_middlebury_pairs_with_ground_truth(tiny_model: Path, tmp_path: Path, shared_data: Path) -> None:
    if not (shared_data / "flow" / "middlebury" / "other-gt-flow").is_dir():
        pytest.skip("the Middlebury ground truth is absent")
    report = evaluate(tiny_model, out_dir=tmp_path, clips=(), photos=0, middlebury=True)
    mb = report["middlebury"]
    assert mb["skipped"] is None and len(mb["items"]) == 8
    assert mb["E_input"] == pytest.approx(np.mean([r["E_input"] for r in mb["items"]]))
    assert mb["ratio"] == pytest.approx(mb["E_output"] / mb["E_input"])
    assert all(0.5 < r["valid_fraction"] <= 1.0 for r in mb["items"])
    assert report["photos"]["skipped"] == "no photos asked for (photos=0)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.json"]


def test_refuses_to_overwrite_and_bad_arguments_write_nothing(
    tiny_model: Path, inputs: dict[str, Any], tmp_path: Path
) -> None:
    common = dict(clips=[inputs["clip"]], frames=2, height=HEIGHT, photos=0, middlebury=False)
    out = tmp_path / "run"
    evaluate(tiny_model, out_dir=out, **common)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(SinkError, match="exists; pass --overwrite"):
        evaluate(tiny_model, out_dir=out, **common)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    evaluate(tiny_model, out_dir=out, overwrite=True, **common)

    fresh = tmp_path / "fresh"
    with pytest.raises(SourceError, match="style image 'no_such_painting' not found"):
        evaluate(tiny_model, out_dir=fresh, style_image="no_such_painting", **common)
    with pytest.raises(ModelError, match="not found"):
        evaluate(tmp_path / "missing.onnx", out_dir=fresh, **common)
    with pytest.raises(ModelError, match="loss network"):
        evaluate(tiny_model, out_dir=fresh, lossnet=tmp_path / "nope.pth", **common)
    assert not fresh.exists()


def test_photo_input_rounds_to_the_size_multiple() -> None:
    photo = np.zeros((321, 481, 3), np.uint8)
    out = photo_input(photo, 256, 8)
    assert out.shape == (256, 384, 3)  # 481·256/321 = 383.6 → 384
    assert photo_input(photo, 250, 8).shape[0] == 248  # 250 rounds to the nearest multiple
    assert all(s % 12 == 0 for s in photo_input(photo, 100, 12).shape[:2])
    assert math.isclose(photo_input(photo, 256, 8).shape[1] / 256, 481 / 321, rel_tol=0.02)


def test_stabilized_flicker_is_measured_next_to_the_plain_one(
    tiny_model: Path, inputs: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "steady"
    report = evaluate(
        tiny_model, out_dir=out, clips=[inputs["clip"]], frames=FRAMES, height=HEIGHT, photos=0,
        middlebury=False, stabilize=0.6,
    )  # fmt: skip
    (row,) = report["clips"]["items"]
    steady = row["stabilized"]
    assert steady["strength"] == 0.6 and report["settings"]["stabilize"] == 0.6
    assert steady["ratio"] == pytest.approx(steady["E_output"] / row["E_input"])
    assert steady["ms_per_frame"] > 0
    assert row["xt_panels"] == ["input", "student", "stabilized"]
    assert read_png(out / row["xt_png"]).shape[1] == 3 * FRAMES * 4 + 2 * 4
    assert "with the stabilizer at 0.6" in summary(report)
    plain = evaluate(tiny_model, out_dir=tmp_path / "plain", clips=[inputs["clip"]], frames=FRAMES,
                     height=HEIGHT, photos=0, middlebury=False)  # fmt: skip
    assert "stabilized" not in plain["clips"]["items"][0]


def test_a_teacher_name_means_the_shared_teacher(shared_data: Path) -> None:
    from vstyle.evaluate.inputs import model_path, teacher_path
    from vstyle.styles import resolve_model

    teacher = teacher_path("wave")
    assert teacher == resolve_model(shared_data / "teachers" / "wave", None)
    assert teacher != model_path("wave"), "the bundled wave is a student, not the teacher"

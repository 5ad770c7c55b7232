"""The training loop on small real runs: it learns, checkpoints resume exactly, bad input is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vstyle.capture.images import read_rgb  # noqa: E402
from vstyle.cli import main  # noqa: E402
from vstyle.errors import ConfigError, DataError, ModelError  # noqa: E402
from vstyle.models.checkpoint import load_checkpoint  # noqa: E402
from vstyle.models.metadata import read_sidecar  # noqa: E402
from vstyle.train.config import LossWeights, TrainConfig  # noqa: E402
from vstyle.train.photos import is_heldout, split_photos  # noqa: E402
from vstyle.evaluate.similarity import psnr  # noqa: E402
from vstyle.train.trainer import Teacher, Trainer, plot_losses, teacher_source, temporal_factor  # noqa: E402


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Smooth random pictures (72×96), named so that both the train and held-out splits have some."""
    import cv2

    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    names = [f"p{i:03d}.png" for i in range(60)]
    keep = [n for n in names if is_heldout(n)][:2] + [n for n in names if not is_heldout(n)][:10]
    for name in keep:
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / name), cv2.resize(coarse, (96, 72), interpolation=cv2.INTER_CUBIC))
    return folder


def _config(teacher: Path, **kw) -> TrainConfig:
    base = dict(
        arch="tiny", teacher=str(teacher), steps=4, batch=1, crop=48, photo_size=72, real_fraction=0.0,
        clips=(), checkpoint_every=2, sample_every=2, lr=1e-3,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model.state_dict()


def test_split_is_fixed_and_disjoint(photo_folder: Path) -> None:
    train, heldout = split_photos(photo_folder)
    assert len(train) == 10 and len(heldout) == 2
    assert not set(train) & set(heldout)
    assert split_photos(photo_folder) == (train, heldout)


def test_distillation_learns_and_writes_every_artifact(
    teacher_model: Path, photo_folder: Path, tmp_path: Path
) -> None:
    weights = LossWeights(pixel=1.0, gradient=1.0, temporal=0.0)  # learning the teacher, alone
    config = _config(teacher_model, steps=30, sample_every=15, checkpoint_every=15, weights=weights)
    result = Trainer(config, tmp_path / "run", threads=1, photos_dir=photo_folder).run()
    history = json.loads((tmp_path / "run" / "losses.json").read_text())
    assert len(history) == 30
    first = np.mean([r["pixel"] for r in history[:5]])
    last = np.mean([r["pixel"] for r in history[-5:]])
    assert last < first  # it learns the teacher
    for name in (
        "losses.png",
        "samples/step_000000.png",
        "samples/step_000030.png",
        "model.pt",
        "train.json",
    ):
        assert (tmp_path / "run" / name).is_file(), name
    sheet = read_rgb(tmp_path / "run" / "samples" / "step_000030.png")
    assert sheet.shape[0] > 2 * 160  # a row per held-out photo: input | teacher | student
    side = read_sidecar(result.onnx)
    assert side["architecture"] == "tiny" and "vstyle train" in side["source"]
    assert not list((tmp_path / "run").glob(".*tmp*"))


def test_interrupted_run_resumes_to_the_same_weights(
    tiny_model: Path, photo_folder: Path, tmp_path: Path
) -> None:
    config = _config(tiny_model, steps=4)
    straight = Trainer(config, tmp_path / "a", threads=1, photos_dir=photo_folder, export=False).run()

    def interrupt(step: int, steps: int, losses: dict[str, float]) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(config, tmp_path / "b", threads=1, photos_dir=photo_folder, export=False).run(interrupt)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt").meta["step"] == 3
    assert not (tmp_path / "b" / "model.onnx").exists()
    resumed = Trainer(config, tmp_path / "b", threads=1, photos_dir=photo_folder, export=False).run()
    a, b = _weights(straight.checkpoint), _weights(resumed.checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ema_exports_the_moving_average_of_the_weights_and_resumes_it(
    tiny_model: Path, photo_folder: Path, tmp_path: Path
) -> None:
    decay = 0.5
    seen: list[dict[str, torch.Tensor]] = []

    def record(step: int, steps: int, losses: dict[str, float]) -> None:
        if step >= 2:  # the checkpoint holds the weights after step - 1
            seen.append(_weights(tmp_path / "plain" / "checkpoint.pt"))

    plain = _config(tiny_model, steps=4, checkpoint_every=1)
    last = Trainer(plain, tmp_path / "plain", threads=1, photos_dir=photo_folder, export=False).run(record)
    seen.append(_weights(last.checkpoint))
    expected = {k: v.clone() for k, v in seen[0].items()}  # the average starts at the first step's weights
    for weights in seen[1:]:
        for k in expected:
            if expected[k].is_floating_point():
                expected[k] = decay * expected[k] + (1 - decay) * weights[k]

    averaged = _config(tiny_model, steps=4, checkpoint_every=1, ema=decay)
    straight = Trainer(averaged, tmp_path / "a", threads=1, photos_dir=photo_folder, export=False).run()
    got = _weights(straight.checkpoint)
    assert any(not torch.equal(got[k], seen[-1][k]) for k in got)  # not the last step's weights
    assert all(torch.allclose(got[k], expected[k], atol=1e-6) for k in got)

    def interrupt(step: int, steps: int, losses: dict[str, float]) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(averaged, tmp_path / "b", threads=1, photos_dir=photo_folder, export=False).run(interrupt)
    resumed = Trainer(averaged, tmp_path / "b", threads=1, photos_dir=photo_folder, export=False).run()
    b = _weights(resumed.checkpoint)
    assert all(torch.allclose(got[k], b[k], atol=1e-7) for k in got)
    with pytest.raises(ConfigError, match="ema"):
        _config(tiny_model, ema=1.0)


def test_a_run_of_another_recipe_is_refused(tiny_model: Path, photo_folder: Path, tmp_path: Path) -> None:
    Trainer(
        _config(tiny_model, steps=2), tmp_path / "run", threads=1, photos_dir=photo_folder, export=False
    ).run()
    other = _config(tiny_model, steps=2, lr=5e-4)
    with pytest.raises(ConfigError, match="lr"):
        Trainer(other, tmp_path / "run", threads=1, photos_dir=photo_folder, export=False).run()
    Trainer(other, tmp_path / "run", threads=1, photos_dir=photo_folder, export=False, restart=True).run()


def test_temporal_loss_is_lower_for_a_trained_stable_student(
    tiny_model: Path, photo_folder: Path, tmp_path: Path
) -> None:
    """With the temporal weight raised, the student's output moves with the picture more closely."""
    runs = {}
    for name, temporal in (("loose", 0.0), ("stable", 200.0)):
        weights = LossWeights(pixel=1.0, gradient=0.0, temporal=temporal)
        config = _config(tiny_model, steps=25, lr=3e-3, weights=weights, checkpoint_every=25, sample_every=25)
        runs[name] = Trainer(config, tmp_path / name, threads=1, photos_dir=photo_folder, export=False)
        runs[name].run()
    # Evaluate both on the same seeded synthetic pairs.
    from vstyle.temporal.warp import backward_warp_torch
    from vstyle.train.motion import synthetic_pairs

    errors = {}
    for name in runs:
        model = load_checkpoint(tmp_path / name / "model.pt").model
        gen = torch.Generator().manual_seed(9)
        frames, _ = runs[name].photos.sample(4, 48 + 2 * runs[name].config.margin, gen)
        a, b, flow, mask, _ = synthetic_pairs(
            frames, runs[name].config.motion, gen, margin=runs[name].config.margin
        )
        with torch.no_grad():
            err = (model(a) - backward_warp_torch(model(b), flow)).pow(2) * mask
        errors[name] = float(err.mean())
    assert errors["stable"] < errors["loose"]


def test_perceptual_training_from_a_painting(photo_folder: Path, tmp_path: Path, shared_data: Path) -> None:
    weights = LossWeights(pixel=0.0, gradient=0.0, style=3e-4, content=1e-5, tv=0.5, temporal=20.0)
    config = TrainConfig(
        arch="tiny", style_image="styles/starry_night.jpg", steps=3, batch=1, crop=48, photo_size=72,
        real_fraction=0.0, clips=(), weights=weights, style_size=64,
    )  # fmt: skip
    Trainer(config, tmp_path / "run", threads=1, photos_dir=photo_folder, export=False).run()
    history = json.loads((tmp_path / "run" / "losses.json").read_text())
    assert {"style", "content", "tv", "temporal"} <= set(history[0])


def test_temporal_weight_ramps_up_then_is_boosted_for_the_stabilizing_phase(tmp_path: Path) -> None:
    config = TrainConfig(
        teacher="scream", steps=100, temporal_warmup=0.2, stabilize_from=0.8, stabilize_boost=10.0
    )
    factors = [temporal_factor(config, step) for step in range(100)]
    assert factors[0] == pytest.approx(0.05) and factors[19] == factors[79] == 1.0
    assert factors[:20] == sorted(factors[:20])
    assert factors[80] == factors[99] == 10.0
    plain = TrainConfig(teacher="scream", steps=100)
    assert max(temporal_factor(plain, step) for step in range(100)) == 1.0
    with pytest.raises(ConfigError, match="stabilize_from"):
        TrainConfig(teacher="scream", stabilize_from=1.5)
    with pytest.raises(ConfigError, match="stabilize_boost"):
        TrainConfig(teacher="scream", stabilize_boost=0.0)


def _with_stage_one(teacher: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, TrainConfig]:
    """The recipe table with a 2-step ``stage-one`` recipe added (edit the returned table to change it)."""
    import vstyle.train.recipes as recipes_module

    table = {"stage-one": _config(teacher, steps=2), **recipes_module.recipes()}
    monkeypatch.setattr(recipes_module, "recipes", lambda: table)
    return table


def test_a_recipe_teacher_is_trained_first_then_distilled_into_itself(
    tiny_model: Path, photo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _with_stage_one(tiny_model, monkeypatch)
    second = _config(Path("recipe:stage-one"), steps=2, lr=1e-9, warm_start=True)
    trainer = Trainer(second, tmp_path / "stage-two", threads=1, photos_dir=photo_folder)
    result = trainer.run()
    assert (tmp_path / "stage-one" / "model.onnx").is_file()  # trained first, in the sibling folder
    summary = json.loads((tmp_path / "stage-two" / "train.json").read_text())
    assert summary["teacher_run"]["recipe"] == "stage-one" and summary["teacher_run"]["steps"] == 2
    # Warm start: with a vanishing learning rate the student still holds the first stage's weights.
    before, after = _weights(tmp_path / "stage-one" / "model.pt"), _weights(result.checkpoint)
    assert all(torch.allclose(before[k], after[k], atol=1e-5) for k in before)
    # The finished first stage is reused, not retrained; a changed first-stage recipe is refused.
    stamp = (tmp_path / "stage-one" / "model.onnx").stat().st_mtime_ns
    Trainer(second, tmp_path / "again", threads=1, photos_dir=photo_folder, export=False).run()
    assert (tmp_path / "stage-one" / "model.onnx").stat().st_mtime_ns == stamp
    table["stage-one"] = _config(tiny_model, steps=2, crop=40)
    with pytest.raises(ConfigError, match="another recipe"):
        Trainer(second, tmp_path / "third", threads=1, photos_dir=photo_folder).run()


def test_init_starts_from_a_recipes_network_and_keeps_the_teacher(
    tiny_model: Path, photo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_stage_one(tiny_model, monkeypatch)
    second = _config(tiny_model, steps=2, lr=1e-9, init="recipe:stage-one")
    trainer = Trainer(second, tmp_path / "stage-two", threads=1, photos_dir=photo_folder)
    result = trainer.run()
    summary = json.loads((tmp_path / "stage-two" / "train.json").read_text())
    assert summary["teacher_run"]["recipe"] == "stage-one"
    before, after = _weights(tmp_path / "stage-one" / "model.pt"), _weights(result.checkpoint)
    assert all(torch.allclose(before[k], after[k], atol=1e-5) for k in before), "started from stage one"
    assert trainer._teacher is not None and trainer._teacher.onnx == tiny_model, "the teacher stays"
    with pytest.raises(ConfigError, match="recipe:NAME"):
        _config(tiny_model, init="stage-one")
    with pytest.raises(ConfigError, match="no warm_start"):
        _config(Path("recipe:stage-one"), init="recipe:stage-one")


def test_distillation_can_match_the_teachers_texture_statistics(
    tiny_model: Path, photo_folder: Path, tmp_path: Path, shared_data: Path
) -> None:
    config = _config(tiny_model, steps=2, weights=LossWeights(style=1e-5, temporal=1.0))
    Trainer(config, tmp_path / "run", threads=1, photos_dir=photo_folder, export=False).run()
    history = json.loads((tmp_path / "run" / "losses.json").read_text())
    assert {"pixel", "gradient", "style", "temporal"} <= set(history[0])
    assert all(row["style"] > 0 for row in history)


def test_distillation_feature_term_is_a_bounded_perceptual_distance(
    tiny_model: Path, photo_folder: Path, tmp_path: Path, shared_data: Path
) -> None:
    config = _config(tiny_model, steps=2, weights=LossWeights(feature=1.0, style=1e-5, temporal=0.0))
    Trainer(config, tmp_path / "run", threads=1, photos_dir=photo_folder, export=False).run()
    history = json.loads((tmp_path / "run" / "losses.json").read_text())
    assert {"pixel", "gradient", "feature", "style"} <= set(history[0])
    # unit-normalised features: 0 for the teacher itself, at most 4 (opposite directions)
    assert all(0.0 < row["feature"] <= 4.0 for row in history)


def test_loss_plot_takes_a_term_that_stays_at_zero(tmp_path: Path) -> None:
    """A static picture has no temporal loss at all: its curve is drawn on a linear axis, quietly."""
    import warnings

    pytest.importorskip("matplotlib")
    history = [{"step": s, "pixel": 0.1 / (s + 1), "temporal": 0.0} for s in range(1, 30)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_losses(history, tmp_path / "losses.png")
    assert read_rgb(path).shape[1] > read_rgb(path).shape[0] > 100
    assert [p.name for p in tmp_path.iterdir()] == ["losses.png"]


def test_teacher_grid_mean_follows_the_picture_when_the_teacher_does_not(
    teacher_model: Path, shared_data: Path
) -> None:
    """The grid mean is the same mean whichever residue the picture's origin has, so moving the
    picture by one pixel moves it along, while the teacher itself draws other strokes."""
    from vstyle.evaluate.inputs import heldout_photos

    teacher = Teacher(str(teacher_model))
    image = read_rgb(heldout_photos(1)[0])[:100, :120]
    assert np.array_equal(teacher.grid_mean(image, 1), teacher(image).astype(np.float32))
    moved = np.ascontiguousarray(image[1:, 1:])
    inner = np.s_[10:-10, 10:-10]
    mean, mean_moved = (np.round(teacher.grid_mean(x, 4)).astype(np.uint8) for x in (image, moved))
    assert mean.shape == image.shape and mean_moved.shape == moved.shape
    own = psnr(teacher(image)[1:, 1:][inner], teacher(moved)[inner])
    grid = psnr(mean[1:, 1:][inner], mean_moved[inner])
    assert grid > own + 6.0, (grid, own)
    # still the teacher's picture, not a blur of it
    assert psnr(mean[inner], teacher(image)[inner]) > 20.0


def test_grid_mean_and_blurred_targets_train(teacher_model: Path, photo_folder: Path, tmp_path: Path) -> None:
    config = _config(teacher_model, steps=2, teacher_grid=2, teacher_blur=1.0)
    trainer = Trainer(config, tmp_path / "run", threads=1, photos_dir=photo_folder, export=False)
    trainer.run()
    history = json.loads((tmp_path / "run" / "losses.json").read_text())
    assert len(history) == 2 and all(row["pixel"] > 0 for row in history)
    # the blurred target has less fine detail than the grid mean it comes from
    image = read_rgb(sorted(photo_folder.glob("*.png"))[0])
    trainer._teacher = Teacher(str(teacher_model))  # the run closed its own
    target, mean = trainer._target(image), trainer._teacher.grid_mean(image, 2)
    detail = [float(np.abs(np.diff(x, axis=1)).mean()) for x in (target, mean)]
    assert target.shape == image.shape and detail[0] < 0.8 * detail[1], detail
    with pytest.raises(ConfigError, match="teacher_grid"):
        _config(teacher_model, teacher_grid=0)
    with pytest.raises(ConfigError, match="teacher_blur"):
        _config(teacher_model, teacher_blur=-1.0)


def test_out_blur_is_set_on_the_finished_network_only(
    tiny_model: Path, photo_folder: Path, tmp_path: Path
) -> None:
    """``out_blur`` leaves training alone (same weights, same losses as without it) and is set on the
    saved and exported network."""
    from vstyle.models.from_onnx import stylenet_from_onnx

    plain = Trainer(_config(tiny_model, steps=2), tmp_path / "a", threads=1, photos_dir=photo_folder).run()
    config = _config(tiny_model, steps=2, out_blur=0.7)
    blurred = Trainer(config, tmp_path / "b", threads=1, photos_dir=photo_folder).run()
    a, b = _weights(plain.checkpoint), _weights(blurred.checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((tmp_path / "a" / "losses.json").read_text()) == json.loads(
        (tmp_path / "b" / "losses.json").read_text()
    )
    assert load_checkpoint(blurred.checkpoint).spec.out_blur == 0.7
    assert stylenet_from_onnx(blurred.onnx).spec.out_blur == 0.7
    assert load_checkpoint(plain.checkpoint).spec.out_blur == 0.0
    with pytest.raises(ConfigError, match="out_blur"):
        _config(tiny_model, out_blur=-1.0)


def test_a_teacher_name_means_the_shared_teacher_not_the_bundled_student(shared_data: Path) -> None:
    """``scream`` is also a bundled (student) style; as a teacher it must be the original network."""
    assert teacher_source("scream") == shared_data / "teachers" / "scream"
    with pytest.raises(ModelError, match="teacher"):
        teacher_source("no-such-teacher")


def test_bad_input_is_refused_before_any_file(tiny_model: Path, photo_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        TrainConfig(teacher="scream", style_image="x.jpg")
    with pytest.raises(ConfigError, match="photo_size"):
        TrainConfig(teacher="scream", crop=256, photo_size=256)
    missing_style = TrainConfig(
        arch="tiny", style_image=str(tmp_path / "none.jpg"), steps=1, crop=48, photo_size=72, real_fraction=0.0,
        clips=(), weights=LossWeights(style=1.0),
    )  # fmt: skip
    with pytest.raises(DataError, match="style image"):
        Trainer(missing_style, tmp_path / "s", photos_dir=photo_folder, export=False).run()
    with pytest.raises(ModelError, match="teacher"):
        Trainer(_config(tmp_path / "nothing"), tmp_path / "t", photos_dir=photo_folder, export=False).run()
    assert not (tmp_path / "s" / "checkpoint.pt").exists() and not (tmp_path / "t" / "checkpoint.pt").exists()


def test_a_clip_too_short_for_pairs(tiny_model: Path, photo_folder: Path, tmp_path: Path) -> None:
    from media import make_clip

    clip = make_clip(tmp_path / "short.mp4", frames=5, size=(96, 72), audio=None)
    config = _config(tiny_model, real_fraction=0.5, clips=(str(clip),), clip_skip=10)
    with pytest.raises(DataError, match="more than 11"):
        Trainer(config, tmp_path / "run", photos_dir=photo_folder, export=False).run()


def test_real_clip_pairs_train(tiny_model: Path, photo_folder: Path, tmp_path: Path) -> None:
    from media import make_clip

    clip = make_clip(tmp_path / "clip.mp4", frames=12, size=(96, 72), audio=None)
    config = _config(tiny_model, steps=3, real_fraction=1.0, clips=(str(clip),), clip_skip=4, clip_pairs=3)
    result = Trainer(config, tmp_path / "run", threads=1, photos_dir=photo_folder, export=False).run()
    assert result.steps == 3 and np.isfinite(result.final_losses["temporal"])


def test_cli_train_unknown_recipe_and_teacher(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["train", "--recipe", "nope", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown recipe 'nope'" in err[0] and "scream-tiny" in err[0]
    assert not (tmp_path / "r").exists()


def test_cli_train_runs_and_resumes(
    tiny_model: Path, photo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "train", "--teacher", str(tiny_model), "--arch", "tiny", "--batch", "1", "--crop", "48",
        "--photo-size", "72", "--photos", str(photo_folder), "--out", str(tmp_path / "run"), "--no-progress",
        "--threads", "1", "--real-fraction", "0", "--teacher-grid", "2", "--ema", "0.9",
    ]  # fmt: skip
    assert main([*args, "--steps", "2"]) == 0
    assert "trained 2 steps" in capsys.readouterr().out
    # More steps on the same run folder continue from its checkpoint rather than starting again.
    assert main([*args, "--steps", "3"]) == 0
    meta = load_checkpoint(tmp_path / "run" / "checkpoint.pt").meta
    assert meta["step"] == 3 and len(meta["history"]) == 3
    assert meta["config"]["teacher_grid"] == 2
    assert meta["config"]["ema"] == 0.9 and meta["ema"]["n_averaged"] == 3


def test_cli_trains_from_a_painting_with_the_perceptual_weights(
    photo_folder: Path, tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    painting = shared_data / "styles" / "starry_night.jpg"
    args = ["train", "--style-image", str(painting), "--arch", "tiny", "--batch", "1", "--crop", "48",
            "--photo-size", "72", "--photos", str(photo_folder), "--out", str(tmp_path / "run"), "--no-progress",
            "--threads", "1", "--real-fraction", "0", "--steps", "1"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    meta = load_checkpoint(tmp_path / "run" / "checkpoint.pt").meta
    assert meta["config"]["weights"]["style"] > 0 and meta["config"]["weights"]["pixel"] == 0


def test_teacher_blur_has_a_bound() -> None:
    with pytest.raises(ConfigError, match="teacher_blur must be a Gaussian sigma in"):
        TrainConfig(teacher="scream", teacher_blur=float("inf"))


def test_bundle_installs_model_with_card(
    tiny_model: Path, photo_folder: Path, tmp_path: Path, shared_data: Path
) -> None:
    from media import make_clip

    from vstyle.train.bundle import bundle

    config = _config(tiny_model, steps=2)
    Trainer(config, tmp_path / "run", threads=1, photos_dir=photo_folder).run()
    clip = make_clip(tmp_path / "clip.mp4", frames=4, size=(96, 72), audio=None)
    dest = tmp_path / "assets"
    onnx = bundle(
        "demo-tiny", config, tmp_path / "run", dest=dest, clips=[str(clip)], frames=3, height=64, photos=1,
        middlebury=False,
    )  # fmt: skip
    assert onnx == dest / "demo-tiny.onnx"
    side = read_sidecar(onnx)
    from vstyle.models.metadata import file_sha256

    assert side["sha256"] == file_sha256(onnx)
    card = side["card"]
    assert card["command"] == "vstyle train --recipe demo-tiny --bundle"
    assert card["training"]["steps"] == 2 and card["metrics"]["ms_640x360_onnxruntime_cpu"] > 0
    assert "clip" in card["metrics"]["flicker"]
    assert (dest / "demo-tiny.md").read_text().startswith("# demo-tiny")
    assert not list(dest.glob(".*"))


def test_whole_photo_targets_are_cached_and_reused(
    tiny_model: Path, photo_folder: Path, tmp_path: Path
) -> None:
    from vstyle.data import cache_dir

    config = _config(tiny_model, steps=1, teacher_on_crops=False)
    Trainer(config, tmp_path / "a", threads=1, photos_dir=photo_folder, export=False).run()
    cached = sorted((cache_dir() / "train").glob("photos-*.npz"))
    assert cached
    stamp = cached[-1].stat().st_mtime_ns
    Trainer(config, tmp_path / "b", threads=1, photos_dir=photo_folder, export=False).run()
    assert cached[-1].stat().st_mtime_ns == stamp  # read back, not recomputed


@pytest.mark.parametrize(("field", "value"), [("lr", float("nan")), ("lr", float("inf")), ("seed", 10**25)])
def test_numbers_out_of_range_are_refused_up_front(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        TrainConfig(teacher="scream", **{field: value})

"""Stylizer (frame in, frame out) and the backend choice."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from vstyle.backends import availability, choose_backend
from vstyle.backends.onnxrt import OnnxRuntimeBackend
from vstyle.config import StylizeConfig
from vstyle.errors import BackendUnavailableError, ConfigError, ModelError
from vstyle.stylizer import Stylizer, scaled_size


def frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(("h", "w"), [(64, 96), (61, 95), (37, 50)])
def test_output_has_input_size_for_any_size(tiny_model: Path, h: int, w: int) -> None:
    with Stylizer(StylizeConfig(model=tiny_model)) as stylize:
        out = stylize(frame(h, w))
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


def test_matches_the_backend_on_a_padded_tensor(tiny_model: Path) -> None:
    """Pre/post-processing adds nothing: same numbers as feeding the backend by hand."""
    image = frame(64, 96, seed=3)
    with Stylizer(StylizeConfig(model=tiny_model)) as stylize, OnnxRuntimeBackend(tiny_model) as backend:
        ours = stylize(image)
        tensor = image.transpose(2, 0, 1)[None].astype(np.float32)
        reference = backend.infer(tensor)[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(ours, np.clip(np.rint(reference), 0, 255).astype(np.uint8))


def test_batch_equals_one_by_one(tiny_model: Path) -> None:
    images = [frame(48, 64, seed=s) for s in range(4)]
    with Stylizer(StylizeConfig(model=tiny_model, batch_size=4)) as stylize:
        batched = stylize.stylize_batch(images)
        single = [stylize(img) for img in images]
    for a, b in zip(batched, single):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_height_scales_keeping_aspect(tiny_model: Path) -> None:
    assert scaled_size(1280, 720, 360) == (640, 360)
    assert scaled_size(1920, 1080, None) == (1920, 1080)
    assert scaled_size(641, 359, 181) == (322, 180)
    with Stylizer(StylizeConfig(model=tiny_model, height=90)) as stylize:
        assert stylize(frame(180, 320)).shape == (90, 160, 3)


def test_times_are_recorded(tiny_model: Path) -> None:
    with Stylizer(StylizeConfig(model=tiny_model)) as stylize:
        stylize.warmup(64, 64)
        assert stylize.times.frames == 0
        stylize(frame(64, 64))
        t = stylize.times.as_dict()
    assert t["frames"] == 1 and t["infer_ms_per_frame"] > 0


def test_rejects_bad_frames(tiny_model: Path) -> None:
    with Stylizer(StylizeConfig(model=tiny_model)) as stylize:
        with pytest.raises(ValueError, match="uint8"):
            stylize(np.zeros((8, 8, 3), np.float32))
        with pytest.raises(ValueError, match="Got"):
            stylize(np.zeros((8, 8), np.uint8))


def test_teacher_stylizes_a_real_photo(teacher_model: Path, photos_dir: Path) -> None:
    import cv2

    photo = cv2.cvtColor(
        cv2.imread(str(sorted((photos_dir / "bsds500").rglob("*.jpg"))[0])), cv2.COLOR_BGR2RGB
    )
    with Stylizer(StylizeConfig(model=teacher_model, height=160)) as stylize:
        out = stylize(photo)
    assert out.shape[0] == 160
    assert out.std() > 20, "a trained style network paints texture, not a flat wash"
    small = cv2.resize(photo, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - small.astype(int)).mean() > 20, "the output must differ from the input"


def test_auto_chooses_an_available_backend_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="vstyle"):
        cls = choose_backend("auto")
    assert availability()[cls.name] is None
    assert f"backend auto → {cls.name}" in caplog.text


def test_explicit_unavailable_backend_is_an_error_never_a_fallback() -> None:
    if availability()["onnxruntime-cuda"] is None:
        pytest.skip("CUDA execution provider is available here")
    with pytest.raises(BackendUnavailableError, match="pip install"):
        choose_backend("onnxruntime-cuda")
    with pytest.raises(ConfigError, match="unknown backend"):
        choose_backend("nope")


def test_not_a_model_is_a_model_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError), OnnxRuntimeBackend(junk):
        pass


def test_strength_blends_the_style_with_the_scaled_input(tiny_model: Path) -> None:
    import cv2

    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    with Stylizer(StylizeConfig(model=tiny_model, height=48)) as stylizer:
        full = stylizer(image)
        scaled = cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA)
        stylizer.strength = 0.0
        np.testing.assert_array_equal(stylizer(image), scaled)
        stylizer.strength = 0.3
        half = stylizer(image)
    expected = np.clip(np.round(0.3 * full.astype(np.float64) + 0.7 * scaled), 0, 255)
    assert np.abs(half.astype(np.float64) - expected).max() <= 1  # cv2's fixed-point rounding
    assert half.shape == full.shape == (48, 64, 3)
    with Stylizer(StylizeConfig(model=tiny_model, strength=0.3)) as stylizer:
        assert stylizer.strength == 0.3


@pytest.mark.parametrize(
    ("budget", "full", "expected"),
    [
        (1.0, 720, 720),  # a fast network keeps the source's size
        (0.010, 720, 300),  # cost ∝ h²: 10 ms allows h = 300 (the probe's prediction, confirmed)
        (1e-6, 720, 144),  # nothing fits: the floor, the least that stays legible
        (1.0, 48, 48),  # a source under the floor is left alone
    ],
)
def test_fit_height_finds_the_largest_height_within_budget(budget: float, full: int, expected: int) -> None:
    from vstyle.stylizer import fit_height

    calls: list[int] = []

    def cost(height: int) -> float:  # a network whose time grows with its pixels: 10 ms at 300
        calls.append(height)
        return 0.010 * (height / 300) ** 2

    assert fit_height(cost, full, budget) == expected
    assert len(calls) <= 6 and all(h % 2 == 0 and h <= full for h in calls)


def test_fit_height_steps_down_when_the_prediction_misses() -> None:
    from vstyle.stylizer import fit_height

    def cost(height: int) -> float:  # costlier than the square law above the probe (cache spills)
        return 0.010 * (height / 300) ** 2 * (1.5 if height > 360 else 1.0)

    chosen = fit_height(cost, 1080, 0.025)
    assert cost(chosen) <= 0.025 and chosen >= 360


def test_stylizer_fit_height_sets_a_height_that_measured_in_budget(tiny_model: Path, caplog) -> None:
    with Stylizer(StylizeConfig(model=tiny_model, workers=1)) as stylizer:
        slow = stylizer.fit_height(320, 180, fps=1e-3)  # a frame every 1000 s: any size keeps up
        assert slow == 180 and stylizer.config.height is None
        assert "cannot keep up" not in caplog.text
        fast = stylizer.fit_height(480, 270, fps=1e6)  # nothing keeps up: the floor, and a warning
        assert fast == 144 and stylizer.config.height == 144
        assert stylizer(np.zeros((270, 480, 3), np.uint8)).shape == (144, 256, 3)
    assert "tiny cannot keep up with 1e+06 fps here even at 144 rows" in caplog.text


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="Got 8"):
        StylizeConfig(height=8)
    with pytest.raises(ConfigError):
        StylizeConfig(model=Path("a.onnx"), style="scream")
    with pytest.raises(ValueError):  # ConfigError is also a ValueError
        StylizeConfig(batch_size=0)
    with pytest.raises(ConfigError, match="style strength must be in"):
        StylizeConfig(strength=1.5)


def test_precision_runs_a_converted_copy_cached_in_the_engine_folder(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnx")
    monkeypatch.setenv("VSTYLE_ENGINE_DIR", str(tmp_path / "engines"))
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    with Stylizer(StylizeConfig(model=tiny_model, workers=1)) as full:
        ref = full(frame).astype(np.float64)
    with Stylizer(StylizeConfig(model=tiny_model, workers=1, precision="fp16")) as half:
        assert half.model_path is not None and half.model_path.parent == tmp_path / "engines" / "onnx"
        out = half(frame).astype(np.float64)
    mse = np.mean((ref - out) ** 2)
    assert mse == 0 or 10 * np.log10(255**2 / mse) >= 40.0
    converted = sorted(p.name for p in (tmp_path / "engines" / "onnx").glob("*.onnx"))
    with Stylizer(StylizeConfig(model=tiny_model, workers=1, precision="fp16")):
        pass  # the second open reuses the converted file
    assert sorted(p.name for p in (tmp_path / "engines" / "onnx").glob("*.onnx")) == converted
    with Stylizer(StylizeConfig(model=tiny_model, workers=1, precision="fp32")) as same:
        assert same.model_path == tiny_model


def test_precision_and_cuda_graph_requests_a_backend_cannot_honour(tiny_model: Path) -> None:
    with pytest.raises(ConfigError, match="precision must be one of"):
        StylizeConfig(precision="int4")
    with pytest.raises(ConfigError, match="CUDA graphs need"):
        Stylizer(StylizeConfig(model=tiny_model, backend="onnxruntime", cuda_graphs=True)).open()
    if availability()["torch"] is None:
        with pytest.raises(ConfigError, match="torch backend runs fp32 or fp16"):
            Stylizer(StylizeConfig(model=tiny_model, backend="torch", precision="int8")).open()

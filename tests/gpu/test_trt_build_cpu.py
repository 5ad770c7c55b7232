"""The builder's logic that needs no TensorRT: precision from the graph, profiles, the derived ONNX
cache and the compatibility check that runs before TensorRT is touched."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from vstyle.errors import ConfigError, ModelError
from vstyle.models.metadata import file_sha256, read_sidecar
from vstyle.trt.build import (
    BuildSettings,
    derived_onnx,
    ensure_engine,
    make_profile,
    model_precision,
    parse_hw,
    precision_name,
)

onnx = pytest.importorskip("onnx")


def test_precision_is_read_from_the_graph(tiny_model: Path, tiny_fp16: Path, tiny_int8: Path) -> None:
    assert model_precision(tiny_model) == "fp32"
    assert model_precision(tiny_fp16) == "fp16"
    assert model_precision(tiny_int8) == "int8-qdq"


def test_metadata_that_contradicts_the_graph_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    proto = onnx.load_model(str(tiny_model))
    onnx.helper.set_model_props(
        proto, {**{p.key: p.value for p in proto.metadata_props}, "vstyle.precision": "fp16"}
    )
    lying = tmp_path / "lying.onnx"
    onnx.save_model(proto, str(lying))
    with pytest.raises(ModelError, match="vstyle.precision='fp16' but the graph is fp32"):
        model_precision(lying)
    (tmp_path / "garbage.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not an ONNX model"):
        model_precision(tmp_path / "garbage.onnx")


def test_precision_names() -> None:
    assert [precision_name(p) for p in ("fp32", "FP16", "int8", "int8-qdq")] == [
        "fp32",
        "fp16",
        "int8-qdq",
        "int8-qdq",
    ]
    with pytest.raises(ConfigError, match="fp32, fp16 or int8"):
        precision_name("bf16")


def test_sizes_are_height_by_width() -> None:
    assert parse_hw("720x1280") == (720, 1280) and parse_hw(" 1080 × 1920 ") == (1080, 1920)
    for bad in ("720", "x1280", "0x10", "720x1280x3", "wide"):
        with pytest.raises(ConfigError, match="HEIGHTxWIDTH"):
            parse_hw(bad)


def test_profile_is_rounded_to_the_padding_multiple() -> None:
    p = make_profile(16, min_hw=(100, 100), opt_hw=(360, 640), max_hw=(1080, 1920), max_batch=4)
    assert p.min == (1, 96, 96), "min rounds down"
    assert p.opt == (1, 352, 640), "opt rounds to the nearest multiple"
    assert p.max == (4, 1088, 1920), "a 1080-row frame padded to 1088 must fit --max 1080x1920"
    default = make_profile(8)
    assert default.min == (1, 32, 32) and default.opt == (1, 720, 1280) and default.max == (1, 1088, 1920)
    small = make_profile(8, max_hw=(256, 256))
    assert small.opt == (1, 256, 256), "opt stays inside [min, max]"
    with pytest.raises(ConfigError, match="max batch"):
        make_profile(8, max_batch=0)


def test_build_settings_validate_and_serialise() -> None:
    s = BuildSettings(profile=make_profile(8), workspace_gib=2.0)
    assert s.to_dict()["workspace_gib"] == 2.0 and s.to_dict()["strongly_typed"] is True
    with pytest.raises(ConfigError, match="workspace"):
        BuildSettings(profile=make_profile(8), workspace_gib=0)
    with pytest.raises(ConfigError, match="optimization level"):
        BuildSettings(profile=make_profile(8), optimization_level=9)


def test_fp16_onnx_is_made_once_and_reused(tiny_model: Path, tmp_path: Path) -> None:
    assert derived_onnx(tiny_model, "fp32", tmp_path) == tiny_model
    first = derived_onnx(tiny_model, "fp16", tmp_path)
    assert first.parent == tmp_path / "onnx" and file_sha256(tiny_model)[:12] in first.name
    assert model_precision(first) == "fp16"
    assert read_sidecar(first)["source_sha256"] == file_sha256(tiny_model)
    stamp = first.stat().st_mtime_ns
    os.utime(first, ns=(stamp - 10**9, stamp - 10**9))
    assert derived_onnx(tiny_model, "fp16", tmp_path) == first
    assert first.stat().st_mtime_ns == stamp - 10**9, "reused, not converted again"
    assert derived_onnx(first, "fp16", tmp_path) == first, "an FP16 model is already FP16"


def test_a_damaged_cached_fp16_onnx_is_converted_again(tiny_model: Path, tmp_path: Path) -> None:
    first = derived_onnx(tiny_model, "fp16", tmp_path)
    good = first.read_bytes()
    first.write_bytes(good[:-10] + b"0123456789")  # sidecar sha256 no longer matches
    again = derived_onnx(tiny_model, "fp16", tmp_path)
    assert again == first and again.read_bytes() == good


def test_reduced_precision_is_made_from_fp32_only(tiny_fp16: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="make int8-qdq from the FP32 export"):
        derived_onnx(tiny_fp16, "int8-qdq", tmp_path, calibration=[tmp_path])


def test_int8_onnx_is_calibrated_on_the_given_frames_and_reused(tiny_model: Path, tmp_path: Path) -> None:
    import cv2

    pictures = tmp_path / "calib"
    pictures.mkdir()
    rng = np.random.default_rng(3)
    for i in range(2):
        cv2.imwrite(str(pictures / f"{i}.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    made = derived_onnx(
        tiny_model, "int8-qdq", tmp_path, calibration=[pictures], calibration_count=2, calibration_height=32
    )
    assert model_precision(made) == "int8-qdq" and ".int8-" in made.name
    assert read_sidecar(made)["quantization"]["calibration_frames"] == 2
    stamp = made.stat().st_mtime_ns
    again = derived_onnx(
        tiny_model, "int8-qdq", tmp_path, calibration=[pictures], calibration_count=2, calibration_height=32
    )
    assert again == made and made.stat().st_mtime_ns == stamp
    other = derived_onnx(
        tiny_model, "int8-qdq", tmp_path, calibration=[pictures], calibration_count=1, calibration_height=32
    )
    assert other != made, "another calibration recipe is another file"


def test_int8_without_calibration_sources_says_what_to_pass(
    tiny_model: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("VSTYLE_SHARED_DATA", str(tmp_path))  # a shared data folder without the clips
    with pytest.raises(ConfigError, match="--calib"):
        derived_onnx(tiny_model, "int8-qdq", tmp_path)


def test_a_model_tensorrt_would_reject_fails_before_tensorrt_is_needed(
    tiny_model: Path, tmp_path: Path
) -> None:
    proto = onnx.load_model(str(tiny_model))
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = 21
    bad = tmp_path / "opset21.onnx"
    onnx.save_model(proto, str(bad))
    shutil.copy(tiny_model.with_suffix(".json"), tmp_path / "unrelated.json")  # no sidecar for bad
    with pytest.raises(ModelError, match=r"would not parse in TensorRT 10/11: opset 21 is outside 17-20"):
        ensure_engine(bad, BuildSettings(profile=make_profile(8)), tmp_path / "engines")
    assert not (tmp_path / "engines").exists()

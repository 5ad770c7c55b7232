"""FP16 conversion: runs on ONNX Runtime CPU, matches FP32 within 40 dB PSNR, instance norm stays FP32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vstyle.errors import ModelError
from vstyle.models.metadata import file_sha256, read_model_metadata, sidecar_path
from vstyle.models.precision import to_fp16

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_H, _W = 192, 256  # a multiple of every architecture's size_multiple; small for the 2-core CPU


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def _run(path: Path, frames: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: frames})[0]


def _synthetic_frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    bright = np.clip(245 + rng.normal(0, 4, (_H, _W, 3)), 0, 255)
    yy, xx = np.mgrid[:_H, :_W]
    checker = np.repeat((((yy // 8) + (xx // 8)) % 2 * 255.0)[..., None], 3, axis=2)
    return {"bright": bright, "checker": checker}


def _photo_frames(photos_dir: Path) -> dict[str, np.ndarray]:
    cv2 = pytest.importorskip("cv2")
    paths = [*sorted((photos_dir / "bsds500").rglob("*.jpg"))[:1], photos_dir / "set14" / "baboon.png"]
    paths += [photos_dir / "misc" / "hoovertowernight.jpg", photos_dir / "misc" / "golden_gate.jpg"]
    frames = {}
    for p in paths:
        if p.is_file():
            bgr = cv2.resize(cv2.imread(str(p)), (_W, _H), interpolation=cv2.INTER_AREA)
            frames[p.stem] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float64)
    assert frames, f"no photos found under {photos_dir}"
    return frames


def _nchw(frames: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([f.transpose(2, 0, 1) for f in frames.values()]).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_pair(exported, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    src = exported("tiny")[1]
    return src, to_fp16(src, tmp_path_factory.mktemp("fp16") / "tiny_fp16.onnx")


@pytest.fixture(scope="module")
def teacher_pair(teacher_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return teacher_model, to_fp16(teacher_model, tmp_path_factory.mktemp("fp16") / "scream_fp16.onnx")


def _assert_close(pair: tuple[Path, Path], frames: dict[str, np.ndarray]) -> None:
    batch = _nchw(frames)
    ref, half = _run(pair[0], batch), _run(pair[1], batch)
    assert half.dtype == np.float32 and half.shape == ref.shape
    assert np.all(np.isfinite(half))
    psnr = {name: round(_psnr(ref[i], half[i]), 1) for i, name in enumerate(frames)}
    print(f"{pair[1].name} PSNR vs FP32 (dB): {psnr}")
    assert min(psnr.values()) >= 40.0, psnr


def test_fp16_teacher_matches_fp32_on_real_and_extreme_frames(teacher_pair, photos_dir: Path) -> None:
    _assert_close(teacher_pair, {**_photo_frames(photos_dir), **_synthetic_frames()})


def test_fp16_tiny_matches_fp32_on_extreme_frames(tiny_pair) -> None:
    rng = np.random.default_rng(1)
    _assert_close(tiny_pair, {**_synthetic_frames(), "noise": rng.uniform(0, 255, (_H, _W, 3))})


def test_fp16_graph_has_half_weights_and_fp32_instance_norm(tiny_pair) -> None:
    model = onnx.load_model(str(tiny_pair[1]))
    graph = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
    types = {v.name: v.type.tensor_type.elem_type for v in (*graph.input, *graph.output, *graph.value_info)}
    inits = {t.name: t.data_type for t in graph.initializer}
    types.update(inits)
    FLOAT, HALF = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    norms = [n for n in graph.node if n.op_type == "InstanceNormalization"]
    assert norms
    norm_params = {name for n in norms for name in n.input[1:]}
    for n in norms:
        assert all(types[name] == FLOAT for name in n.input), n.name
        assert types[n.output[0]] == FLOAT
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert all(types[name] == HALF for n in convs for name in n.input), "Conv runs in float16"
    assert any(t == HALF for t in inits.values())
    # The only float32 weights left are instance-norm scales and biases.
    assert {name for name, t in inits.items() if t == FLOAT} <= norm_params
    assert types["input"] == FLOAT and types["output"] == FLOAT


def test_fp16_metadata_and_sidecar(tiny_pair) -> None:
    src, dst = tiny_pair
    info = read_model_metadata(dst)  # verifies the sidecar's sha256
    src_info = read_model_metadata(src)
    assert (info.architecture, info.spec) == (src_info.architecture, src_info.spec)
    assert info.input_dtype == "float32"
    session = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    assert props["vstyle.precision"] == "fp16"
    side = json.loads(sidecar_path(dst).read_text(encoding="utf-8"))
    assert side["precision"] == "fp16"
    assert side["source_sha256"] == file_sha256(src)
    assert side["sha256"] == file_sha256(dst)
    assert file_sha256(src) in side["source"]


def test_fp16_refuses_to_overwrite_and_to_convert_twice(tiny_pair, tmp_path: Path) -> None:
    src, dst = tiny_pair
    with pytest.raises(ModelError, match="already exists"):
        to_fp16(src, dst)
    with pytest.raises(ModelError, match="already a fp16 model"):
        to_fp16(dst, tmp_path / "twice.onnx")
    before = file_sha256(dst)
    assert to_fp16(src, dst, overwrite=True) == dst
    assert read_model_metadata(dst).sha256 is not None
    assert file_sha256(dst) == before  # conversion is deterministic

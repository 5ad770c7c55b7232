"""INT8 QDQ quantisation: runs on ONNX Runtime CPU, TensorRT-compatible Q/DQ, PSNR vs FP32, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vstyle.errors import ModelError
from vstyle.models.metadata import file_sha256, read_model_metadata, sidecar_path
from vstyle.models.quantize import calibration_cache_path, calibration_frames, quantize_qdq
from vstyle.models.trt_ops import check_tensorrt_compat

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_HEIGHT = 128  # small for the 2-core CPU; the recipe calibrates at 360
#: scream teacher at 128 rows, 8 calibration frames, 4 held out: measured min 33.3 dB, mean 33.8 dB.
_TEACHER_MIN_PSNR = 30.0
#: tiny with random weights: its output is noise that amplifies any error (~15 dB measured).
_TINY_MIN_PSNR = 12.0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.clip(a, 0, 255).astype(np.float64), np.clip(b, 0, 255).astype(np.float64)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def _run(path: Path, frames: list[np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return [session.run(None, {name: f.transpose(2, 0, 1)[None].astype(np.float32)})[0] for f in frames]


def _synthetic(n: int, h: int = 64, w: int = 96, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0.02, 0.2, 3)
        base = np.stack([np.sin(a * x), np.cos(b * y), np.sin(c * (x + y))], axis=-1) * 100 + 128
        out.append(np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8))
    return out


def _zero_points(path: Path) -> list[np.ndarray]:
    proto = onnx.load_model(str(path))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    zps = []
    for node in proto.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            assert len(node.input) == 3 and node.input[2] in inits, f"{node.name}: zero point not constant"
            zps.append(inits[node.input[2]])
    return zps


def _scales(path: Path) -> dict[str, np.ndarray]:
    proto = onnx.load_model(str(path))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    return {n.input[1]: inits[n.input[1]] for n in proto.graph.node if n.op_type == "QuantizeLinear"}


@pytest.fixture(scope="module")
def tiny_int8(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quantize_qdq(tiny_model, tmp_path_factory.mktemp("int8") / "tiny.int8.onnx", _synthetic(6))


def test_tiny_qdq_smoke(tiny_model: Path, tiny_int8: Path) -> None:
    frames = _synthetic(2, seed=1)
    ref, out = _run(tiny_model, frames), _run(tiny_int8, frames)
    assert all(o.shape == r.shape and o.dtype == np.float32 for o, r in zip(out, ref))
    psnr = min(_psnr(r, o) for r, o in zip(ref, out))
    print(f"tiny (random weights) INT8 QDQ vs FP32: {psnr:.2f} dB")
    assert psnr > _TINY_MIN_PSNR


def test_tiny_qdq_is_tensorrt_compatible(tiny_int8: Path) -> None:
    assert check_tensorrt_compat(tiny_int8) == []
    zps = _zero_points(tiny_int8)
    assert zps, "no QuantizeLinear/DequantizeLinear nodes"
    assert all(z.dtype == np.int8 and not np.any(z) for z in zps)


def test_tiny_qdq_metadata_sidecar_and_cache(tiny_model: Path, tiny_int8: Path) -> None:
    info = read_model_metadata(tiny_int8)  # verifies the sidecar's sha256
    assert info.architecture == "tiny" and info.sha256 == file_sha256(tiny_int8)
    session = ort.InferenceSession(str(tiny_int8), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    assert props["vstyle.precision"] == "int8-qdq"
    side = json.loads(sidecar_path(tiny_int8).read_text())
    assert side["precision"] == "int8-qdq" and side["source_sha256"] == file_sha256(tiny_model)
    assert side["quantization"]["calibration_frames"] == 6
    cache = json.loads(calibration_cache_path(tiny_int8).read_text())
    assert cache  # ORT's tensor-range JSON


def test_calibration_is_deterministic(tiny_model: Path, tmp_path: Path) -> None:
    frames = _synthetic(4, seed=3)
    a = quantize_qdq(tiny_model, tmp_path / "a.onnx", frames)
    b = quantize_qdq(tiny_model, tmp_path / "b.onnx", [f.copy() for f in frames])
    sa, sb = _scales(a), _scales(b)
    assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert calibration_cache_path(a).read_text() == calibration_cache_path(b).read_text()


def test_refuses_to_overwrite(tiny_model: Path, tiny_int8: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="already exists"):
        quantize_qdq(tiny_model, tiny_int8, _synthetic(1))
    dst = tmp_path / "x.onnx"
    calibration_cache_path(dst).write_text("{}")
    with pytest.raises(ModelError, match="calib.json already exists"):
        quantize_qdq(tiny_model, dst, _synthetic(1))
    assert not dst.exists()
    assert quantize_qdq(tiny_model, dst, _synthetic(1), overwrite=True) == dst
    assert read_model_metadata(dst).sha256 == file_sha256(dst)


def test_refuses_an_already_quantised_model(tiny_int8: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="already a int8-qdq model"):
        quantize_qdq(tiny_int8, tmp_path / "again.onnx", _synthetic(1))


def test_calibration_frames_from_video_and_images(videos_dir: Path, photos_dir: Path) -> None:
    sources = [videos_dir / "fox.mp4", photos_dir / "set14"]
    frames = calibration_frames(sources, count=5, height=100, size_multiple=8)
    again = calibration_frames(sources, count=5, height=100, size_multiple=8)
    assert len(frames) == 5
    assert all(f.dtype == np.uint8 and f.shape[0] == 96 and f.shape[1] % 8 == 0 for f in frames)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))
    other = calibration_frames(sources, count=5, height=100, size_multiple=8, seed=1)
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(frames[3:], other[3:]))


def test_teacher_qdq_psnr_on_held_out_real_frames(
    teacher_model: Path, videos_dir: Path, photos_dir: Path, tmp_path: Path
) -> None:
    m = read_model_metadata(teacher_model).size_multiple
    calib = calibration_frames(
        [videos_dir / "fox.mp4", videos_dir / "sam2_01_dog.mp4", photos_dir / "bsds500"],
        count=8, height=_HEIGHT, size_multiple=m,
    )  # fmt: skip
    held = calibration_frames(
        [videos_dir / "sam2_04_coffee.mp4", photos_dir / "set14"], count=4, height=_HEIGHT, size_multiple=m
    )
    dst = quantize_qdq(teacher_model, tmp_path / "scream.int8.onnx", calib)
    assert check_tensorrt_compat(dst) == []
    assert all(not np.any(z) for z in _zero_points(dst))
    ref, out = _run(teacher_model, held), _run(dst, held)
    psnrs = [_psnr(r, o) for r, o in zip(ref, out)]
    print(f"scream teacher INT8 QDQ vs FP32 on held-out frames: mean {np.mean(psnrs):.2f} dB, "
          f"min {min(psnrs):.2f} dB")  # fmt: skip
    assert min(psnrs) > _TEACHER_MIN_PSNR

"""TensorRT on a real GPU: parity with ONNX Runtime, the engine cache end to end, profiles, graphs.

Marked ``gpu`` and ``tensorrt``: skipped at collection where CUDA or TensorRT is missing (see
conftest.py). The PSNR thresholds are against ONNX Runtime CPU running the same ONNX file; the
``tiny`` fixture has random weights, whose noise-like output magnifies any rounding, so its
thresholds are lower than a trained model's would be.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from gpu_helpers import ort_run, psnr, smooth_batch

from vstyle.errors import ModelError

pytestmark = [pytest.mark.gpu, pytest.mark.tensorrt]

#: precision → minimum PSNR (dB) of the engine's output against ONNX Runtime on the same ONNX file.
PARITY = {"fp32": 40.0, "fp16": 30.0, "int8": 15.0}


@pytest.fixture
def engines(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "engines"
    monkeypatch.setenv("VSTYLE_ENGINE_DIR", str(folder))
    return folder


@pytest.mark.parametrize("precision", sorted(PARITY))
def test_engine_matches_onnxruntime(
    precision: str, tiny_model: Path, tiny_fp16: Path, tiny_int8: Path, engines
) -> None:
    from vstyle.backends.tensorrt import TensorRTBackend

    model = {"fp32": tiny_model, "fp16": tiny_fp16, "int8": tiny_int8}[precision]
    batch = smooth_batch(2, 192, 256)
    with TensorRTBackend(model, precision=precision) as backend:
        out = backend.infer(batch)
        assert backend.engine.entry.key.precision == {"int8": "int8-qdq"}.get(precision, precision)
    ref = ort_run(model, batch)
    assert out.shape == ref.shape and np.all(np.isfinite(out))
    score = psnr(out, ref)
    print(f"TensorRT {precision} vs ONNX Runtime: {score:.1f} dB")
    assert score >= PARITY[precision]


def test_teacher_engine_fp16_matches_fp32(teacher_model: Path, engines) -> None:
    from vstyle.backends.tensorrt import TensorRTBackend

    batch = smooth_batch(1, 256, 384, seed=5)
    with TensorRTBackend(teacher_model) as backend:  # FP32 model → FP16 engine by default
        out = backend.infer(batch)
    assert psnr(out, ort_run(teacher_model, batch)) >= 38.0


def test_second_load_reuses_the_cached_engine(tiny_model: Path, engines: Path) -> None:
    from vstyle.backends.tensorrt import TensorRTBackend

    with TensorRTBackend(tiny_model) as first:
        path = first.engine.entry.engine_path
        a = first.infer(smooth_batch(1, 64, 96))
    stamp = path.stat().st_mtime_ns
    with TensorRTBackend(tiny_model) as second:
        assert second.engine.entry.engine_path == path
        b = second.infer(smooth_batch(1, 64, 96))
    assert path.stat().st_mtime_ns == stamp, "not rebuilt"
    assert len(list(engines.glob("*.engine"))) == 1
    np.testing.assert_array_equal(a, b)


def test_a_corrupt_cached_engine_is_rebuilt_not_loaded(tiny_model: Path, engines: Path) -> None:
    from vstyle.trt.build import BuildSettings, derived_onnx, ensure_engine, make_profile

    onnx16 = derived_onnx(tiny_model, "fp16", engines)
    settings = BuildSettings(profile=make_profile(8, max_hw=(256, 256)))
    first = ensure_engine(onnx16, settings, engines)
    assert first.built
    assert not ensure_engine(onnx16, settings, engines).built
    path = first.entry.engine_path
    path.write_bytes(path.read_bytes()[:1000])
    again = ensure_engine(onnx16, settings, engines)
    assert again.built and again.engine == path.read_bytes()


def test_frame_beyond_a_built_profile_names_the_profile(tiny_model: Path, engines: Path) -> None:
    from vstyle.backends.tensorrt import TensorRTBackend
    from vstyle.cli import main
    from vstyle.trt.cache import ProfileError

    assert main(["build", "--model", str(tiny_model), "--max", "128x128", "--opt", "64x64"]) == 0
    with TensorRTBackend(tiny_model) as backend:
        assert backend.engine.entry.origin == "build"
        backend.infer(smooth_batch(1, 128, 128))
        with pytest.raises(
            ProfileError, match=r"1×3×256×256 input .* does not fit .* max 1×128×128.*--max 256x256"
        ):
            backend.infer(smooth_batch(1, 256, 256))


def test_an_auto_engine_widens_its_profile(tiny_model: Path, engines: Path) -> None:
    from vstyle.backends.tensorrt import TensorRTBackend
    from vstyle.trt.build import BuildSettings, derived_onnx, ensure_engine, make_profile

    onnx16 = derived_onnx(tiny_model, "fp16", engines)
    small = BuildSettings(profile=make_profile(8, max_hw=(64, 64)))
    ensure_engine(onnx16, small, engines, origin="auto", label=tiny_model.stem)
    with TensorRTBackend(tiny_model) as backend:
        assert backend.engine.profile.max == (1, 64, 64)
        out = backend.infer(smooth_batch(1, 128, 160))
        assert backend.engine.profile.fits(1, 128, 160) and out.shape == (1, 3, 128, 160)


def test_cuda_graph_replay_equals_eager(tiny_model: Path, engines: Path) -> None:
    from vstyle.backends.tensorrt import TensorRTBackend

    batch = smooth_batch(1, 96, 128, seed=7)
    with TensorRTBackend(tiny_model) as eager:
        expected = eager.infer(batch)
    with TensorRTBackend(tiny_model, cuda_graphs=True) as graphed:
        first = graphed.infer(batch)
        second = graphed.infer(batch * 0.5)
        third = graphed.infer(batch)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(third, expected)
    assert not np.array_equal(second, expected)


def test_device_frames_stay_on_the_gpu(tiny_model: Path, engines: Path) -> None:
    import torch

    from vstyle.backends.tensorrt import TensorRTBackend
    from vstyle.gpu import batch_to_frames, frames_to_batch

    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 256, (1, 64, 96, 3), dtype=np.uint8)).cuda()
    with TensorRTBackend(tiny_model) as backend:
        out = batch_to_frames(backend.infer_device(frames_to_batch(frames)))
        assert out.is_cuda and out.shape == (1, 64, 96, 3)
        host = backend.infer(frames_to_batch(frames).cpu().numpy())
    assert np.abs(out.cpu().numpy().astype(int) - np.clip(host + 0.5, 0, 255).astype(int)).max() <= 1


def test_uint8_frames_route_matches_the_float_route(tiny_model: Path, engines: Path) -> None:
    from vstyle.backends.base import round_to_frames
    from vstyle.backends.tensorrt import TensorRTBackend

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    with TensorRTBackend(tiny_model) as backend:
        assert backend.takes_frames
        ours = backend.infer_frames(frames)
        floats = round_to_frames(backend.infer(frames.transpose(0, 3, 1, 2).astype(np.float32)))
    assert ours.shape == frames.shape and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - floats.astype(int)).max() <= 1


def test_threads_get_their_own_contexts(tiny_model: Path, engines: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from vstyle.backends.tensorrt import TensorRTBackend

    batches = [smooth_batch(1, 64, 96, seed=s) for s in range(4)]
    both_running = threading.Barrier(2)

    def infer_together(batch: np.ndarray) -> np.ndarray:
        both_running.wait(timeout=60)  # each pool thread takes one of the first two batches
        return backend.infer(batch)

    with TensorRTBackend(tiny_model) as backend:
        alone = [backend.infer(b) for b in batches]
        before = len(backend.engine._contexts)  # the main thread's
        with ThreadPoolExecutor(2) as pool:
            together = list(pool.map(infer_together, batches[:2])) + list(
                pool.map(backend.infer, batches[2:])
            )
        assert len(backend.engine._contexts) == before + 2, "one execution context per thread"
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


def test_unparsable_onnx_is_one_model_error(tmp_path: Path) -> None:
    from vstyle.trt.build import BuildSettings, build_serialized, make_profile

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a model")
    with pytest.raises(ModelError, match="cannot parse") as info:
        build_serialized(bad, BuildSettings(profile=make_profile(8)))
    assert "\n" not in str(info.value)

"""The PyTorch backend rebuilds the StyleNet from the ONNX model and matches ONNX Runtime (on the CPU).

The ``tiny_model`` fixture is untrained, so its instance-norm weights are all ones and the exporter
shares one initializer between them (names alone cannot place them); ``tf_same_model`` has random
norms, transposed convs, TF "SAME" padding and a final instance norm.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gpu_helpers import ort_run, psnr, smooth_batch

from vstyle.backends import open_backend
from vstyle.config import StylizeConfig
from vstyle.errors import ModelError
from vstyle.stylizer import Stylizer

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from vstyle.backends.torch_backend import TorchBackend, stylenet_from_onnx  # noqa: E402


def test_untrained_model_shares_initializers_yet_every_weight_is_placed(tiny_model: Path) -> None:
    proto = onnx.load_model(str(tiny_model))
    norm_scales = [n.input[1] for n in proto.graph.node if n.op_type == "InstanceNormalization"]
    assert len(set(norm_scales)) < len(norm_scales), "the exporter merged equal initializers"
    net = stylenet_from_onnx(tiny_model)
    consts = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for name, tensor in net.state_dict().items():
        if name in consts:  # where the name survived it holds exactly that tensor
            np.testing.assert_array_equal(tensor.numpy(), consts[name])


@pytest.mark.parametrize("model", ["tiny_model", "tf_same_model"])
def test_cpu_backend_matches_onnxruntime(model: str, request) -> None:
    path = request.getfixturevalue(model)
    batch = smooth_batch(2, 64, 96)
    with TorchBackend(path, threads=2, device="cpu") as backend:
        assert backend.device == "cpu"
        out = backend.infer(batch)
    ref = ort_run(path, batch)
    assert out.shape == ref.shape and out.dtype == np.float32
    assert np.abs(out - ref).max() < 0.05, np.abs(out - ref).max()


def test_fp16_model_rebuilds_close_to_its_onnxruntime_output(tiny_fp16: Path) -> None:
    batch = smooth_batch(1, 64, 96, seed=2)
    with TorchBackend(tiny_fp16, device="cpu") as backend:
        out = backend.infer(batch)
    assert psnr(out, ort_run(tiny_fp16, batch)) > 40


def test_stylizer_on_torch_gives_the_frames_onnxruntime_gives(tf_same_model: Path) -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)  # odd size: padded and cropped
    with Stylizer(StylizeConfig(model=tf_same_model, backend="torch")) as torch_stylize:
        painted = torch_stylize(frame)
        assert torch_stylize.backend.name == "torch"
        tolerance = 1 if torch_stylize.backend.device == "cpu" else 8
    with Stylizer(StylizeConfig(model=tf_same_model, backend="onnxruntime")) as ort_stylize:
        reference = ort_stylize(frame)
    assert painted.shape == reference.shape == (50, 70, 3)
    # Float32 on a CPU rounds like ONNX Runtime to within one level; FP16 on a GPU a few more.
    assert np.abs(painted.astype(int) - reference.astype(int)).max() <= tolerance


def test_frames_path_scales_pads_and_rounds_like_the_host_path(tf_same_model: Path) -> None:
    """The uint8 route GPU backends take (layout and rounding where the network runs), driven on
    the CPU: the same pixels as ONNX Runtime's float32 route, through scaling and odd-size padding."""
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (75, 101, 3), dtype=np.uint8) for _ in range(2)]
    config = {"model": tf_same_model, "height": 50, "batch_size": 2}
    with Stylizer(StylizeConfig(backend="torch", **config)) as torch_stylize:
        backend = torch_stylize.backend
        assert backend.device == "cpu" and not backend.takes_frames, "on the CPU the float32 route is kept"
        backend.takes_frames = True  # what a CUDA device reports; the code below is the GPU route's
        painted = torch_stylize.stylize_batch(frames)
        padded = torch_stylize.preprocess_frames(frames)
        assert padded.dtype == np.uint8 and padded.shape[1] % torch_stylize.size_multiple == 0
        direct = backend.infer_frames(padded)
    with Stylizer(StylizeConfig(backend="onnxruntime", **config)) as ort_stylize:
        reference = ort_stylize.stylize_batch(frames)
        assert not ort_stylize.backend.takes_frames
        by_default = ort_stylize.backend.infer_frames(ort_stylize.preprocess_frames(frames))
    for ours, theirs, whole, base in zip(painted, reference, direct, by_default):
        assert ours.shape == theirs.shape == (50, 68, 3) and ours.flags.c_contiguous
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
        np.testing.assert_array_equal(ours, whole[:50, :68])
        np.testing.assert_array_equal(theirs, base[:50, :68])  # the default infer_frames: host route


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_frames_decoded_to_tensors_give_the_pixels_host_frames_give(
    tf_same_model: Path, backend: str
) -> None:
    """Frames NVDEC leaves on the GPU reach the stylizer as torch tensors: scaled and padded where
    they are, then stylized; here on the CPU, against the same frames as host arrays."""
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, (60, 92, 3), dtype=np.uint8) for _ in range(2)]  # → 46×30, padded
    with Stylizer(StylizeConfig(model=tf_same_model, backend=backend, height=30, batch_size=2)) as stylize:
        if backend == "torch":
            stylize.backend.takes_frames = True  # what a CUDA device reports
        from_host = stylize.stylize_batch(frames)
        from_tensors = stylize.stylize_batch([torch.from_numpy(f) for f in frames])
    for host, tensor in zip(from_host, from_tensors):
        assert isinstance(tensor, np.ndarray) and tensor.shape == host.shape == (30, 46, 3)
        np.testing.assert_array_equal(tensor, host)  # a 2× reduction: OpenCV and torch agree exactly
    with Stylizer(StylizeConfig(model=tf_same_model, backend=backend)) as stylize:
        with pytest.raises(ValueError, match="uint8 RGB tensor"):
            stylize.stylize_batch([torch.zeros(8, 8, 3)])


def test_int8_model_is_refused_with_the_way_out(tiny_int8: Path) -> None:
    with pytest.raises(ModelError, match="INT8 QDQ model.*FP32 export"):
        stylenet_from_onnx(tiny_int8)


def _rewrite(src: Path, dst: Path, **props: str) -> Path:
    proto = onnx.load_model(str(src))
    meta = {p.key: p.value for p in proto.metadata_props}
    meta.update(props)
    meta = {k: v for k, v in meta.items() if v != ""}
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, meta)
    onnx.save_model(proto, str(dst))  # no sidecar beside it
    return dst


def test_model_without_its_spec_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    bare = _rewrite(tiny_model, tmp_path / "bare.onnx", **{"vstyle.arch_spec": ""})
    with pytest.raises(ModelError, match="no architecture spec"):
        stylenet_from_onnx(bare)


def test_model_whose_graph_does_not_match_its_spec_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    spec = json.loads(
        {p.key: p.value for p in onnx.load_model(str(tiny_model)).metadata_props}["vstyle.arch_spec"]
    )
    spec["res_blocks"] -= 1
    wrong = _rewrite(tiny_model, tmp_path / "wrong.onnx", **{"vstyle.arch_spec": json.dumps(spec)})
    with pytest.raises(ModelError, match="does not match its architecture spec"):
        stylenet_from_onnx(wrong)
    spec["res_blocks"] += 1
    spec["up_channels"] = [24]  # same layer count, other shapes
    wrong = _rewrite(tiny_model, tmp_path / "shapes.onnx", **{"vstyle.arch_spec": json.dumps(spec)})
    with pytest.raises(ModelError, match="shape"):
        stylenet_from_onnx(wrong)


def test_registry_opens_it_by_name(tiny_model: Path) -> None:
    with open_backend(tiny_model, "torch") as backend:
        assert backend.name == "torch"
        assert backend.infer(smooth_batch(1, 32, 32)).shape == (1, 3, 32, 32)


def test_close_is_idempotent_and_infer_needs_load(tiny_model: Path) -> None:
    backend = TorchBackend(tiny_model)
    with pytest.raises(RuntimeError, match="not loaded"):
        backend.infer(np.zeros((1, 3, 32, 32), np.float32))
    backend.close()
    backend.close()

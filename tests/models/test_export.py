"""ONNX export: ONNX Runtime matches PyTorch at dynamic sizes; clean graph; metadata; safe writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from vstyle.errors import ModelError
from vstyle.models.export import export_onnx
from vstyle.models.metadata import file_sha256, read_model_metadata, sidecar_path
from vstyle.models.spec import ArchSpec
from vstyle.models.stylenet import StyleNet

#: Ops TensorRT's ONNX parser takes; the graph must use nothing else.
TRT_OPS = {
    "Conv",
    "ConvTranspose",
    "InstanceNormalization",
    "Relu",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Tanh",
    "Sigmoid",
    "Clip",
    "Pad",
    "Resize",
    "DepthToSpace",
    "SpaceToDepth",
    "Shape",
    "Slice",
    "Concat",
    "Squeeze",
    "Unsqueeze",
    "Reshape",
    "Gather",
    "Constant",
}
MINI = ArchSpec(
    "mini",
    unshuffle=2,
    stem_channels=8,
    stem_kernel=3,
    down_channels=(16,),
    res_blocks=1,
    depthwise_res=True,
    up_channels=(8,),
    upsample="nearest",
    out_kernel=3,
)


def _session(path: Path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _compare(model, path: Path, x: np.ndarray) -> tuple[float, float]:
    """(max abs difference, PSNR in dB) of ONNX Runtime against PyTorch on ``x``."""
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    out = _session(path).run(None, {"input": x})[0]
    assert out.shape == ref.shape
    mse = float(np.mean((out.astype(np.float64) - ref) ** 2))
    return float(np.abs(out - ref).max()), 10 * np.log10(255.0**2 / max(mse, 1e-12))


@pytest.mark.parametrize("name", ["quality", "quality-aa", "fast", "tiny"])
def test_onnx_runtime_matches_pytorch_at_several_sizes(exported, name: str) -> None:
    model, path = exported(name)
    rng = np.random.default_rng(0)
    for n, h, w in [(1, 64, 96), (2, 40, 56), (1, 360, 640)]:
        x = rng.uniform(0, 255, (n, 3, h, w)).astype(np.float32)
        max_diff, psnr = _compare(model, path, x)
        assert max_diff < 0.5 and psnr > 50, f"{name} at {n}×{h}×{w}: max diff {max_diff}, PSNR {psnr:.1f} dB"


def test_teacher_onnx_matches_pytorch_on_a_real_photo(scream_onnx, photos_dir: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    model, path = scream_onnx
    photo = sorted((photos_dir / "bsds500").rglob("*.jpg"))[0]
    image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    image = cv2.resize(image, (480, 320), interpolation=cv2.INTER_AREA)  # multiples of 4
    x = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
    max_diff, psnr = _compare(model, path, x)
    assert max_diff < 0.5 and psnr > 50, f"max diff {max_diff}, PSNR {psnr:.1f} dB"


@pytest.mark.parametrize("size", [(21, 27), (33, 18), (64, 96)])
def test_teacher_onnx_is_exact_at_odd_sizes(scream_onnx, size: tuple[int, int]) -> None:
    model, path = scream_onnx
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, *size)).astype(np.float32)
    max_diff, psnr = _compare(model, path, x)
    assert max_diff < 0.5 and psnr > 50


@pytest.mark.parametrize("name", ["quality", "quality-aa", "fast", "tiny"])
def test_graph_uses_only_tensorrt_ops_with_dynamic_named_dims(exported, name: str) -> None:
    _, path = exported(name)
    model = onnx.load(str(path))
    assert {n.op_type for n in model.graph.node} <= TRT_OPS
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    assert model.ir_version == 8
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        assert dims == ["batch", 3, "height", "width"]
    assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == [
        "output"
    ]


def test_teacher_graph_uses_only_tensorrt_ops(scream_onnx) -> None:
    _, path = scream_onnx
    assert {n.op_type for n in onnx.load(str(path)).graph.node} <= TRT_OPS


def test_metadata_and_sidecar_round_trip(exported) -> None:
    model, path = exported("tiny")
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert (
        props["vstyle.layout"] == "NCHW"
        and props["vstyle.color"] == "RGB"
        and props["vstyle.range"] == "0-255"
    )
    assert props["vstyle.input_dtype"] == "float32" and props["vstyle.format_version"] == "1"
    assert json.loads(props["vstyle.arch_spec"]) == model.spec.to_dict()

    info = read_model_metadata(path)
    assert info.architecture == "tiny" and info.size_multiple == model.spec.size_multiple
    assert (info.layout, info.color, info.value_range) == ("NCHW", "RGB", "0-255")
    assert (info.input_name, info.output_name, info.source) == ("input", "output", "random:tiny")
    assert info.spec == model.spec
    assert info.sha256 == file_sha256(path)

    sidecar = json.loads(sidecar_path(path).read_text())
    assert sidecar["sha256"] == file_sha256(path)
    assert sidecar["architecture"] == "tiny" and sidecar["spec"] == model.spec.to_dict()
    assert sidecar["opset"] == 17 and sidecar["torch_version"] == torch.__version__
    assert {"onnx_version", "created", "source"} <= set(sidecar)


def test_export_refuses_to_overwrite_without_flag(tmp_path: Path) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"existing")
    with pytest.raises(ModelError, match="already exists.*overwrite"):
        export_onnx(StyleNet(MINI), MINI, target, source="test")
    assert target.read_bytes() == b"existing"


def test_export_refuses_when_only_the_sidecar_exists(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(ModelError, match="m.json already exists"):
        export_onnx(StyleNet(MINI), MINI, tmp_path / "m.onnx", source="test")


def test_export_with_overwrite_replaces_both_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    sidecar_path(target).write_text("{}")
    export_onnx(StyleNet(MINI), MINI, target, source="test", overwrite=True)
    info = read_model_metadata(target)
    assert info.architecture == "mini" and info.sha256 == file_sha256(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx"]


def test_modified_model_is_detected_by_its_sidecar_sha(exported, tmp_path: Path) -> None:
    _, path = exported("tiny")
    copy = tmp_path / "tiny.onnx"
    model = onnx.load(str(path))
    model.doc_string = "edited after export"
    onnx.save(model, str(copy))
    sidecar_path(copy).write_text(sidecar_path(path).read_text())
    with pytest.raises(ModelError, match="records sha256.*re-export"):
        read_model_metadata(copy)


def test_model_without_sidecar_still_reads_with_sha_none(exported, tmp_path: Path) -> None:
    _, path = exported("tiny")
    copy = tmp_path / "tiny.onnx"
    copy.write_bytes(path.read_bytes())
    info = read_model_metadata(copy)
    assert info.sha256 is None and info.architecture == "tiny"


def test_non_onnx_file_raises_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not protobuf" * 10)
    with pytest.raises(ModelError, match="is not an ONNX model: .*; export one with `vstyle export`") as info:
        read_model_metadata(bad)
    assert "\n" not in str(info.value) and "onnxruntime_src" not in str(info.value)


def test_onnx_model_without_vstyle_metadata_raises_model_error(tmp_path: Path) -> None:
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["input"], ["output"])],
        "g",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, 4, 4])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 3, 4, 4])],
    )
    path = tmp_path / "plain.onnx"
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))
    with pytest.raises(ModelError, match="without vstyle metadata"):
        read_model_metadata(path)


def test_missing_model_file_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        read_model_metadata(tmp_path / "none.onnx")


def test_output_blur_exports_runs_on_onnxruntime_and_rebuilds(tmp_path: Path) -> None:
    """A network with ``out_blur`` exports a graph TensorRT parses that ONNX Runtime runs like
    PyTorch, and the PyTorch backend rebuilds it from the file; a file whose spec claims a blur
    its graph lacks is refused."""
    from vstyle.models.from_onnx import stylenet_from_onnx
    from vstyle.models.stylenet import with_output_blur
    from vstyle.models.trt_ops import check_tensorrt_compat

    torch.manual_seed(0)
    model = with_output_blur(StyleNet(MINI), 0.8).eval()
    path = export_onnx(model, model.spec, tmp_path / "blur.onnx", source="random:mini+blur")
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 36, 52)).astype(np.float32)
    diff, db = _compare(model, path, x)
    assert diff < 0.05 and db > 60, (diff, db)
    assert check_tensorrt_compat(path) == []
    rebuilt = stylenet_from_onnx(path)
    assert rebuilt.spec == model.spec
    with torch.no_grad():
        assert torch.equal(rebuilt(torch.from_numpy(x)), model(torch.from_numpy(x)))
    claims = export_onnx(StyleNet(MINI).eval(), model.spec, tmp_path / "claims.onnx", source="bad")
    with pytest.raises(ModelError, match="output blur"):
        stylenet_from_onnx(claims)


def test_an_opset_the_exporter_cannot_write_is_refused_not_relabelled() -> None:
    from vstyle.errors import ConfigError
    from vstyle.models.export import to_onnx
    from vstyle.models.spec import get_arch

    with pytest.raises(ConfigError, match="opset 999 is not available"):
        to_onnx(StyleNet(get_arch("tiny")), opset=999)

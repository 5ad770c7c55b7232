"""TensorRT parser compatibility check: our exports pass, unsupported graphs fail naming node and op."""

from __future__ import annotations

from pathlib import Path

import pytest

from vstyle.errors import ModelError
from vstyle.models.precision import to_fp16
from vstyle.models.trt_ops import check_tensorrt_compat, main

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _assert_ok_with_fp16(src: Path, tmp_path: Path) -> None:
    assert check_tensorrt_compat(src) == []
    assert check_tensorrt_compat(to_fp16(src, tmp_path / f"{src.stem}_fp16.onnx")) == []


@pytest.mark.parametrize("arch", ["quality", "fast", "tiny"])
def test_exported_architectures_and_their_fp16_pass(exported, arch: str, tmp_path: Path) -> None:
    _assert_ok_with_fp16(exported(arch)[1], tmp_path)


def test_teacher_and_its_fp16_pass(teacher_model: Path, tmp_path: Path) -> None:
    _assert_ok_with_fp16(teacher_model, tmp_path)


def _image(name: str, dtype: int = TensorProto.FLOAT, dims=("batch", 3, "height", "width")):
    return helper.make_tensor_value_info(name, dtype, list(dims))


def _save(tmp_path: Path, nodes, inputs, outputs, inits=(), opset: int = 17) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / "model.onnx"
    onnx.save_model(model, str(path))
    return path


def test_unsupported_op_is_named(tmp_path: Path) -> None:
    node = helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["selected"], name="nms")
    path = _save(
        tmp_path,
        [node],
        [_image("boxes", dims=(1, 10, 4)), _image("scores", dims=(1, 1, 10))],
        [helper.make_tensor_value_info("selected", TensorProto.INT64, [None, 3])],
    )
    problems = check_tensorrt_compat(path)
    assert any("'nms'" in p and "NonMaxSuppression" in p for p in problems), problems


def _resize(tmp_path: Path, **attrs) -> Path:
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    node = helper.make_node("Resize", ["input", "", "scales"], ["output"], name="up", **attrs)
    return _save(tmp_path, [node], [_image("input")], [_image("output")], [scales])


def test_resize_modes(tmp_path: Path) -> None:
    assert check_tensorrt_compat(_resize(tmp_path, mode="nearest", nearest_mode="floor",
                                         coordinate_transformation_mode="asymmetric")) == []  # fmt: skip
    crop = _resize(tmp_path, mode="linear", coordinate_transformation_mode="tf_crop_and_resize")
    problems = check_tensorrt_compat(crop)
    assert len(problems) == 1 and "'up' (Resize)" in problems[0], problems
    assert "tf_crop_and_resize" in problems[0], problems
    problems = check_tensorrt_compat(_resize(tmp_path, mode="cubic"))
    assert len(problems) == 1 and "'up' (Resize)" in problems[0] and "mode='cubic'" in problems[0], problems


def test_opset_float64_and_unnamed_dims_are_reported(tmp_path: Path) -> None:
    node = helper.make_node("Relu", ["input"], ["output"], name="act")
    path = _save(tmp_path, [node], [_image("input", TensorProto.DOUBLE, (None, 3, 8, 8))],
                 [_image("output", TensorProto.DOUBLE, (None, 3, 8, 8))], opset=16)  # fmt: skip
    text = "\n".join(check_tensorrt_compat(path))
    assert "opset 16" in text
    assert "DOUBLE" in text and "'act' (Relu)" in text
    assert "dynamic dimension 0 has no name" in text


def test_qdq_per_channel_passes_and_nonzero_zero_point_fails(tmp_path: Path) -> None:
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [3], [0.1, 0.2, 0.3])
    zero = helper.make_tensor("zero", TensorProto.INT8, [3], [0, 0, 0])
    q = helper.make_node("QuantizeLinear", ["input", "scale", "zero"], ["q"], name="q", axis=1)
    dq = helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["output"], name="dq", axis=1)
    path = _save(tmp_path, [q, dq], [_image("input")], [_image("output")], [scale, zero])
    assert check_tensorrt_compat(path) == []
    zero = helper.make_tensor("zero", TensorProto.INT8, [3], [0, 3, 0])
    path = _save(tmp_path, [q, dq], [_image("input")], [_image("output")], [scale, zero])
    problems = check_tensorrt_compat(path)
    assert any("'q' (QuantizeLinear)" in p and "zero point must be 0" in p for p in problems), problems


def test_cli_exit_codes(exported, tmp_path: Path) -> None:
    tiny_model = exported("tiny")[1]
    lines: list[str] = []
    assert main([str(tiny_model)], out=lines.append) == 0
    assert lines == [f"{tiny_model}: OK"]
    bad = _resize(tmp_path, mode="cubic")
    lines.clear()
    assert main([str(tiny_model), str(bad)], out=lines.append) == 1
    assert any("cubic" in line for line in lines)
    assert main([str(tmp_path / "missing.onnx")], out=lines.append) == 2


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        check_tensorrt_compat(tmp_path / "missing.onnx")

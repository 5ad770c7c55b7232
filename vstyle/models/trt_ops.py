"""Will TensorRT's ONNX parser take this model? A static check that needs neither TensorRT nor a GPU.

:func:`check_tensorrt_compat` compares a graph with the operators, attributes, opsets and data types
that the TensorRT ONNX parser (onnx-tensorrt) accepts in the releases vstyle targets, TensorRT 10.x
and 11.x, so CI can catch an export that would fail to build an engine on a machine without one.

Sources: onnx-tensorrt's ``docs/operators.md`` as of the TensorRT 10 releases (known from its text,
not fetched here). The table is deliberately conservative: it lists only what style networks use or
may plausibly use, with the attribute values that document lists as supported; an op TensorRT
supports but vstyle never emits (``Loop``, ``NonMaxSuppression``…) is still reported, because a new
op in an export is worth a look. Opsets: TensorRT 10.0's parser documents opsets up to 20 (later 10.x
releases go further); vstyle exports 17 or 18, so 17–20 is accepted. Widen the tables when a newer
parser is verified on a GPU, not on faith.

Run ``python -m vstyle.models.trt_ops MODEL.onnx ...``: prints ``OK`` or the problems per model and
exits 1 when any model has problems (2 when a file cannot be read).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from vstyle.errors import ModelError

if TYPE_CHECKING:
    import onnx

#: Default-domain opsets the targeted parsers accept (and vstyle exports: 17 or 18).
OPSET_RANGE = (17, 20)

# ONNX TensorProto element types by number (no onnx import needed to read the tables).
_FLOAT, _UINT8, _INT8, _UINT16, _INT16, _INT32, _INT64, _STRING, _BOOL = 1, 2, 3, 4, 5, 6, 7, 8, 9
_FLOAT16, _DOUBLE, _UINT32, _UINT64, _COMPLEX64, _COMPLEX128, _BFLOAT16 = 10, 11, 12, 13, 14, 15, 16
_FLOAT8E4M3FN, _INT4 = 17, 22

#: Element types TensorRT has (float8 e4m3 and int4 only as Q/DQ types).
TRT_DTYPES = frozenset(
    {_FLOAT, _FLOAT16, _BFLOAT16, _INT8, _UINT8, _INT32, _INT64, _BOOL, _FLOAT8E4M3FN, _INT4}
)
_FLOATS = frozenset({_FLOAT, _FLOAT16, _BFLOAT16})

_COORD_MODES = {"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners"}

#: op type -> {attribute: allowed values}; an attribute left out may take any value (its default is
#: always allowed). Values are str for STRING attributes, int or float otherwise.
SUPPORTED_OPS: dict[str, dict[str, set[object]]] = {
    "Conv": {"auto_pad": {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}},
    "ConvTranspose": {"auto_pad": {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}},
    "InstanceNormalization": {},
    "Relu": {},
    "Add": {},
    "Mul": {},
    "Sub": {},
    "Div": {},
    "Tanh": {},
    "Sigmoid": {},
    "Clip": {},
    "Pad": {"mode": {"constant", "reflect", "edge"}},
    "Resize": {
        "mode": {"nearest", "linear"},
        "coordinate_transformation_mode": _COORD_MODES,
        "nearest_mode": {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"},
        "antialias": {0},
        "exclude_outside": {0},
        "keep_aspect_ratio_policy": {"stretch"},
    },
    "DepthToSpace": {"mode": {"CRD", "DCR"}},
    "SpaceToDepth": {},
    "Cast": {"to": {_FLOAT, _FLOAT16, _BFLOAT16, _INT32, _INT64, _INT8, _UINT8, _BOOL}, "saturate": {1}},
    "Shape": {},
    "Slice": {},
    "Concat": {},
    "Gather": {},
    "Unsqueeze": {},
    "Squeeze": {},
    "Reshape": {"allowzero": {0}},
    "Transpose": {},
    "Constant": {},
    "Identity": {},
    "QuantizeLinear": {"saturate": {1}},
    "DequantizeLinear": {},
    "ReduceMean": {},
    "Pow": {},
    "Sqrt": {},
    "Floor": {},
    "Ceil": {},
    "Max": {},
    "Min": {},
    "LeakyRelu": {},
    "Softmax": {},
    "MatMul": {},
    "Flatten": {},
    "Expand": {},
}

#: op type -> input indices that must be constant (initializer or Constant output) for the parser.
_CONSTANT_INPUTS: dict[str, tuple[int, ...]] = {
    "InstanceNormalization": (1, 2),
    "QuantizeLinear": (1, 2),
    "DequantizeLinear": (1, 2),
}

#: Ops whose first input is image data: it must be floating point, never int64/float64.
_FLOAT_DATA_OPS = frozenset(
    {
        "Conv", "ConvTranspose", "InstanceNormalization", "Relu", "Tanh", "Sigmoid", "Resize",
        "DepthToSpace", "SpaceToDepth", "ReduceMean", "Sqrt", "LeakyRelu", "Softmax", "DequantizeLinear",
    }
)  # fmt: skip


def check_tensorrt_compat(onnx_path: Path) -> list[str]:
    """Problems that would stop TensorRT 10.x/11.x from parsing the model; empty when there are none.

    Checks the default-domain opset (:data:`OPSET_RANGE`), every node's op type and attributes against
    :data:`SUPPORTED_OPS`, constant-only inputs (instance-norm scale/bias, Q/DQ scale/zero point),
    element types (:data:`TRT_DTYPES`; no float64 anywhere; image-data inputs floating point), Q/DQ
    quantisation (per-tensor or per-channel, zero point 0, no blocks), and that every dynamic input or
    output dimension is named (TensorRT optimisation profiles refer to them).

    Args:
        onnx_path: the .onnx file.

    Returns:
        One line per problem, naming the node (``node 'x' (Op): …``) or tensor.

    Raises:
        ModelError: the file is missing or not an ONNX model.
    """
    import onnx

    path = Path(onnx_path)
    if not path.is_file():
        raise ModelError(f"{path} does not exist")
    try:
        proto = onnx.load_model(str(path))
    except Exception as exc:  # protobuf DecodeError and friends
        raise ModelError(f"{path} is not an ONNX model ({exc})") from exc
    return check_proto(proto)


def check_proto(proto: onnx.ModelProto) -> list[str]:
    """:func:`check_tensorrt_compat` for an in-memory model."""
    import onnx

    problems: list[str] = []
    lo, hi = OPSET_RANGE
    opset = None
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            opset = entry.version
        else:
            problems.append(f"opset domain {entry.domain!r}: custom domains need a TensorRT plugin")
    if opset is None:
        problems.append("no default-domain opset_import")
    elif not lo <= opset <= hi:
        problems.append(f"opset {opset} is outside {lo}-{hi}, the range the TensorRT 10/11 parsers take")

    graph = proto.graph
    try:
        inferred = onnx.shape_inference.infer_shapes(proto).graph
    except Exception:  # inference problems show up in the checks below as unknown types
        inferred = graph
    elem: dict[str, int] = {}
    for v in (*inferred.input, *inferred.output, *inferred.value_info):
        if v.type.HasField("tensor_type"):
            elem[v.name] = v.type.tensor_type.elem_type
    constants: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
    for node in graph.node:
        value = next((a for a in node.attribute if a.name == "value" and a.type == a.TENSOR), None)
        if node.op_type == "Constant" and value is not None:
            constants[node.output[0]] = value.t
    for name, t in constants.items():
        elem[name] = t.data_type

    for name, dtype in sorted(elem.items()):
        if dtype and dtype not in TRT_DTYPES:
            problems.append(f"tensor {name!r} has type {_type_name(dtype)}, which TensorRT does not support")

    for node in graph.node:
        where = f"node {node.name or node.output[0]!r} ({node.op_type})"
        problems.extend(_check_node(node, where, elem, constants))

    for value in (*graph.input, *graph.output):
        if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
            problems.append(f"graph input/output {value.name!r} has no shape (rank unknown)")
            continue
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            if not dim.HasField("dim_value") and not dim.dim_param:
                problems.append(f"graph input/output {value.name!r}: dynamic dimension {i} has no name")
    return problems


def _check_node(
    node: onnx.NodeProto, where: str, elem: dict[str, int], constants: dict[str, onnx.TensorProto]
) -> list[str]:
    import onnx

    if node.domain not in ("", "ai.onnx"):
        return [f"{where}: domain {node.domain!r} needs a TensorRT plugin"]
    allowed = SUPPORTED_OPS.get(node.op_type)
    if allowed is None:
        return [
            f"{where}: op type {node.op_type} is not in the TensorRT-supported op table vstyle checks "
            f"against (vstyle.models.trt_ops.SUPPORTED_OPS)"
        ]
    problems = []
    for attr in node.attribute:
        if attr.name in allowed:
            value = onnx.helper.get_attribute_value(attr)
            if isinstance(value, bytes):
                value = value.decode()
            if value not in allowed[attr.name]:
                shown = sorted(str(v) for v in allowed[attr.name])
                problems.append(
                    f"{where}: {attr.name}={value!r} is not supported by TensorRT (supported: {shown})"
                )
    for i in _CONSTANT_INPUTS.get(node.op_type, ()):
        if i < len(node.input) and node.input[i] and node.input[i] not in constants:
            problems.append(f"{where}: input {i} ({node.input[i]!r}) must be an initializer for TensorRT")
    if node.op_type in _FLOAT_DATA_OPS and node.input and node.op_type != "DequantizeLinear":
        dtype = elem.get(node.input[0])
        if dtype is not None and dtype not in _FLOATS:
            problems.append(
                f"{where}: data input {node.input[0]!r} is {_type_name(dtype)}; TensorRT computes this op "
                "in float32/float16/bfloat16 only"
            )
    if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
        problems.extend(_check_qdq(node, where, constants))
    return problems


def _check_qdq(node: onnx.NodeProto, where: str, constants: dict[str, onnx.TensorProto]) -> list[str]:
    """Per-tensor (scalar scale) or per-channel (1-D scale along ``axis``), zero point 0, no blocks."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    problems = []
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("block_size", 0):
        problems.append(f"{where}: block quantisation (block_size={attrs['block_size']}) is not supported")
    scale = constants.get(node.input[1]) if len(node.input) > 1 else None
    if scale is not None and len(scale.dims) > 1:
        problems.append(
            f"{where}: scale must be a scalar (per-tensor) or 1-D (per-channel), got dims {list(scale.dims)}"
        )
    zero = constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if zero is not None:
        if zero.data_type not in (_INT8, _FLOAT8E4M3FN, _INT4):
            problems.append(
                f"{where}: zero point type {_type_name(zero.data_type)}; TensorRT takes int8/fp8/int4"
            )
        elif zero.data_type == _INT8 and np.any(numpy_helper.to_array(zero) != 0):
            problems.append(f"{where}: zero point must be 0 (TensorRT quantisation is symmetric)")
    return problems


def _type_name(dtype: int) -> str:
    import onnx

    try:
        return onnx.TensorProto.DataType.Name(dtype)
    except ValueError:
        return f"type {dtype}"


def main(argv: Iterable[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    """CLI: check each model given; 0 when all pass, 1 when any has problems, 2 on unreadable files."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or any(a in ("-h", "--help") for a in args):
        out("usage: python -m vstyle.models.trt_ops MODEL.onnx [MODEL.onnx ...]")
        return 0 if args else 2
    status = 0
    for arg in args:
        try:
            problems = check_tensorrt_compat(Path(arg))
        except ModelError as exc:
            out(f"{arg}: ERROR {exc}")
            status = 2
            continue
        if problems:
            out(f"{arg}: {len(problems)} problem(s) for TensorRT 10/11")
            for p in problems:
                out(f"  {p}")
            status = max(status, 1)
        else:
            out(f"{arg}: OK")
    return status


if __name__ == "__main__":
    sys.exit(main())

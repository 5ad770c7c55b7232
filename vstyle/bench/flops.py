"""Floating-point work per frame, counted from a model's ONNX graph at a concrete input size.

The graph's input is fixed to ``N×3×H×W`` and every tensor's shape is inferred with ONNX's own
shape inference (with data propagation); where a shape is still unknown (the teachers' TensorFlow
"SAME" padding computes pad sizes from the runtime shape), that shape arithmetic is evaluated with
ONNX's reference implementation and inference runs again. Then, per node:

* ``Conv``: ``2 · N · C_out · H_out · W_out · (C_in / groups) · kH · kW`` (one multiply and one add
  per MAC; depthwise and grouped convs count only the channels each output sees), plus one add per
  output element when there is a bias.
* ``ConvTranspose``: ``2 · N · C_in · H_in · W_in · (C_out / groups) · kH · kW`` (every input pixel
  is scattered through the whole kernel), plus the bias adds.
* ``Gemm``/``MatMul``: ``2 · M · K · N`` (none in the style networks; counted for completeness).
* elementwise: one operation per output element for ``Add``, ``Sub``, ``Mul``, ``Div``, ``Relu``,
  ``LeakyRelu``, ``Clip``, ``Tanh``, ``Sigmoid``; ``InstanceNormalization`` and
  ``BatchNormalization`` count :data:`NORM_FLOPS_PER_ELEMENT` per element (mean, variance,
  normalise, scale, shift).
* Data movement costs nothing: ``Pad``, ``Resize`` (nearest), ``DepthToSpace``, ``Reshape``,
  ``Transpose``, ``Cast``, ``QuantizeLinear``/``DequantizeLinear`` and shape arithmetic.

Counted on the FP32 graph: an FP16 or INT8 version does the same operations in fewer bits.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vstyle.errors import ModelError

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

ELEMENTWISE_OPS = frozenset({"Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip", "Tanh", "Sigmoid"})
NORM_OPS = frozenset({"InstanceNormalization", "BatchNormalization"})
#: Operations per element of a normalisation: mean (1), variance (3), normalise (2), scale and shift (2).
NORM_FLOPS_PER_ELEMENT = 8


def _fixed_input(proto: onnx.ModelProto, shape: tuple[int, ...]) -> onnx.ModelProto:
    import onnx

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    if len(inputs) != 1:
        raise ModelError(f"FLOP counting needs a model with one input. Got {[v.name for v in inputs]}")
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != len(shape):
        raise ModelError(
            f"model input {inputs[0].name} has {len(dims)} dimensions, not {len(shape)} as given"
        )
    for dim, value in zip(dims, shape):
        if dim.HasField("dim_value") and dim.dim_value != value:
            raise ModelError(f"model input {inputs[0].name} has a fixed size {dim.dim_value}, not {value}")
        dim.dim_value = value  # replaces dim_param (a oneof)
    # Dynamic output dims would otherwise conflict with the inferred concrete ones.
    for out in model.graph.output:
        for dim in out.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value"):
                dim.ClearField("dim_param")
    del model.graph.value_info[:]
    return model


def _shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...] | None]:
    shapes: dict[str, tuple[int, ...] | None] = {}
    for v in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        dims = v.type.tensor_type.shape.dim
        if not v.type.tensor_type.HasField("shape"):
            shapes[v.name] = None
            continue
        values = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
        shapes[v.name] = values if all(x > 0 for x in values) else None
    for t in model.graph.initializer:
        shapes[t.name] = tuple(t.dims)
    return shapes


def _counted_outputs_known(model: onnx.ModelProto, shapes: dict[str, tuple[int, ...] | None]) -> bool:
    counted = ELEMENTWISE_OPS | NORM_OPS | {"Conv", "ConvTranspose", "Gemm", "MatMul"}
    return all(shapes.get(n.output[0]) is not None for n in model.graph.node if n.op_type in counted)


def infer_shapes(proto: onnx.ModelProto, shape: tuple[int, ...]) -> dict[str, tuple[int, ...] | None]:
    """Every tensor's concrete shape with the model's input fixed to ``shape`` (``None``: unknown).

    ONNX shape inference with data propagation first; where a counted node's shape is still unknown,
    the shape arithmetic is evaluated (:func:`_fold_shape_arithmetic`) and inference runs again.

    Raises:
        ModelError: the input cannot take ``shape``.
    """
    import onnx

    model = _fixed_input(proto, shape)
    for _ in range(_MAX_FOLDS):
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        shapes = _shapes(inferred)
        if _counted_outputs_known(inferred, shapes):
            break
        folded = _fold_shape_arithmetic(model, shapes)
        if folded is None:
            break
        model = folded
    return shapes


#: Rounds of evaluate-then-infer; each round reaches one more Shape node down the graph.
_MAX_FOLDS = 64
#: Tensors up to this many elements are evaluated when folding (shape vectors, pad lists, scalars).
_SMALL = 64


def _fold_shape_arithmetic(
    model: onnx.ModelProto, shapes: dict[str, tuple[int, ...] | None]
) -> onnx.ModelProto | None:
    """``model`` with its computable shape arithmetic replaced by constants, or ``None`` if none is.

    A ``Shape`` node whose input shape is known, and any node whose inputs are all small known
    constants, is evaluated with ONNX's reference implementation; its outputs become initializers.
    This settles pad sizes computed from the runtime shape (the teachers' TF "SAME" padding) with
    whatever operators the arithmetic uses.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    values: dict[str, np.ndarray] = {
        t.name: numpy_helper.to_array(t) for t in model.graph.initializer if np.prod(t.dims) <= _SMALL
    }
    kept, added = [], []
    for node in model.graph.node:
        inputs = [name for name in node.input if name]
        outputs: list[np.ndarray] | None = None
        if node.op_type == "Shape" and shapes.get(node.input[0]) is not None:
            full = np.array(shapes[node.input[0]], np.int64)
            start, end = _attr(node, "start", 0), _attr(node, "end", None)
            outputs = [full[start:end]]
        elif node.op_type == "Constant" or (inputs and all(name in values for name in inputs)):
            feeds = {name: values[name] for name in inputs}
            graph = helper.make_graph(
                [node],
                "fold",
                [
                    helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                    for n, v in feeds.items()
                ],  # fmt: skip
                [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in node.output],
            )
            try:
                found = ReferenceEvaluator(helper.make_model(graph, opset_imports=model.opset_import)).run(
                    None, feeds
                )
            except Exception as exc:  # an op the reference cannot run: leave it to inference
                log.debug("cannot fold %s node %s: %s", node.op_type, node.name, exc)
                found = None
            if found is not None and all(np.asarray(v).size <= _SMALL for v in found):
                outputs = [np.asarray(v) for v in found]
        if outputs is None:
            kept.append(node)
            continue
        for name, value in zip(node.output, outputs):
            values[name] = value
            added.append(numpy_helper.from_array(value, name))
    if not added:
        return None
    folded = onnx.ModelProto()
    folded.CopyFrom(model)
    del folded.graph.node[:]
    folded.graph.node.extend(kept)
    folded.graph.initializer.extend(added)
    del folded.graph.value_info[:]
    return folded


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def count_flops(proto: onnx.ModelProto, shape: tuple[int, ...]) -> dict[str, int]:
    """Floating-point operations of one pass of ``proto`` on an input of ``shape`` (see module docstring).

    Returns:
        ``{"conv": …, "elementwise": …, "total": …}``; ``conv`` includes ConvTranspose, Gemm and MatMul.

    Raises:
        ModelError: a counted node's shape cannot be inferred (the message names it).
    """
    shapes = infer_shapes(proto, shape)

    def need(name: str, node: onnx.NodeProto) -> tuple[int, ...]:
        s = shapes.get(name)
        if s is None:
            raise ModelError(
                f"cannot count FLOPs: the shape of {name!r} ({node.op_type} node {node.name!r}) is unknown "
                f"for input {shape}"
            )
        return s

    conv = elementwise = 0
    for node in proto.graph.node:
        op = node.op_type
        if op in ("Conv", "ConvTranspose"):
            x, w, y = need(node.input[0], node), need(node.input[1], node), need(node.output[0], node)
            # Groups are already in the weight's shape: C_in / groups (Conv), C_out / groups (ConvTranspose).
            kernel = math.prod(w[2:])
            if op == "Conv":
                # w: (C_out, C_in / groups, kH, kW)
                macs = math.prod(y) * w[1] * kernel
            else:
                # w: (C_in, C_out / groups, kH, kW); every input element meets the whole kernel
                macs = math.prod(x) * w[1] * kernel
            has_bias = len(node.input) > 2 and bool(node.input[2])
            conv += 2 * macs + (math.prod(y) if has_bias else 0)
        elif op in ("Gemm", "MatMul"):
            a, y = need(node.input[0], node), need(node.output[0], node)
            transposed = op == "Gemm" and int(_attr(node, "transA", 0))
            k = a[-2] if transposed else a[-1]
            conv += 2 * math.prod(y) * k
        elif op in ELEMENTWISE_OPS:
            elementwise += math.prod(need(node.output[0], node))
        elif op in NORM_OPS:
            elementwise += NORM_FLOPS_PER_ELEMENT * math.prod(need(node.output[0], node))
    return {"conv": int(conv), "elementwise": int(elementwise), "total": int(conv + elementwise)}


def model_flops(path: Path, sizes: list[tuple[int, int]], batch: int = 1) -> dict[str, dict[str, int]]:
    """:func:`count_flops` of the ONNX file ``path`` for each ``(width, height)``, keyed ``"WxH"``.

    Raises:
        ModelError: the file is not a readable ONNX model, or a shape cannot be inferred.
    """
    import onnx

    try:
        proto = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, OSError
        raise ModelError(f"cannot read {path} as ONNX to count FLOPs ({exc})") from exc
    return {f"{w}x{h}": count_flops(proto, (batch, 3, h, w)) for w, h in sizes}

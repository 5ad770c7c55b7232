"""Half-precision (FP16) versions of exported FP32 style models.

:func:`to_fp16` rewrites an exported ONNX model so that weights and activations are float16, except:

* every ``InstanceNormalization`` runs in float32: its input is cast up, its scale and bias stay
  float32, its output is cast back down. Its variance squares activations of the order of 10³, which
  overflows float16 (max 65504) and turns whole feature maps into NaN/Inf — a known problem of FP16
  instance norm in TensorRT and ONNX Runtime alike;
* the graph's input and output stay float32, with a Cast at each boundary, so the vstyle I/O contract
  (``N×3×H×W`` float32 RGB 0..255, ``vstyle.input_dtype = "float32"``) holds and the Stylizer and the
  backends load an FP16 model exactly like an FP32 one. The two casts cost one pass over the frame.

Why not onnxconverter-common's ``convert_float_to_float16``: it would be a new dependency for some
forty lines, and its default op block list keeps ``Resize`` in float32 (two extra casts per upsampling
stage); the graphs vstyle exports are small enough to convert exactly, tracking each tensor's type.
Shape arithmetic (int64 Shape/Div/Sub/Concat chains of the teachers' "SAME" padding) is untouched:
only float32 tensors change type.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from vstyle.errors import ConfigError, ModelError
from vstyle.models.export import save_model
from vstyle.models.metadata import (
    file_sha256,
    read_model_metadata,
    read_sidecar,
    sidecar_path,
)

if TYPE_CHECKING:
    import onnx

logger = logging.getLogger(__name__)

#: Ops computed in float32 inside an FP16 model (inputs cast up, outputs cast back down).
FP32_OPS = frozenset({"InstanceNormalization"})
#: (op, input index) that ONNX requires to be float32 whatever the data type (Resize roi and scales).
_FP32_INPUTS = frozenset({("Resize", 1), ("Resize", 2)})
_FP16_MAX = 65504.0


def to_fp16(src_onnx: Path, dst_onnx: Path, *, overwrite: bool = False) -> Path:
    """Write an FP16 version of the exported FP32 model ``src_onnx`` to ``dst_onnx`` plus its sidecar.

    The model keeps float32 input and output (see the module docstring), computes instance norm in
    float32 and everything else in float16. Its ``vstyle.*`` metadata is copied, with
    ``vstyle.precision = "fp16"`` and ``vstyle.source`` naming the FP32 file and its sha256; the
    sidecar (same format as :func:`~vstyle.models.export.export_onnx`'s) records ``precision``, the
    FP32 model's sha256 as ``source_sha256`` and the new file's ``sha256``. Both files are written to
    temporary names and renamed on success.

    Args:
        src_onnx: an FP32 model written by :func:`~vstyle.models.export.export_onnx`.
        dst_onnx: where the FP16 .onnx goes.
        overwrite: replace an existing ``dst_onnx`` or sidecar; otherwise refuse.

    Returns:
        ``dst_onnx``.

    Raises:
        ConfigError: ``dst_onnx`` does not end in .onnx or is ``src_onnx``.
        ModelError: ``src_onnx`` is not a vstyle model, is already FP16, or its sidecar does not match
            it; ``dst_onnx`` or its sidecar exists and ``overwrite`` is false; the converted graph
            fails the ONNX checker.
    """
    import onnx

    src, dst = Path(src_onnx), Path(dst_onnx)
    side = sidecar_path(dst)
    if dst.suffix != ".onnx":
        raise ConfigError(f"FP16 model path must end in .onnx, got {dst}")
    if dst.resolve() == src.resolve():
        raise ConfigError(f"FP16 model path {dst} is the FP32 model itself; choose another path")
    if not overwrite:
        for existing in (dst, side):
            if existing.exists():
                raise ModelError(f"{existing} already exists; pass overwrite=True or choose another path")
    info = read_model_metadata(src)  # a vstyle model whose sidecar (if any) matches the file
    proto = onnx.load_model(str(src))
    props = {p.key: p.value for p in proto.metadata_props}
    if props.get("vstyle.precision", "fp32") != "fp32":
        raise ModelError(
            f"{src} is already a {props['vstyle.precision']} model; convert the FP32 export instead"
        )
    src_sha = info.sha256 or file_sha256(src)

    convert_graph_to_fp16(proto)
    props.update(
        {
            "vstyle.precision": "fp16",
            "vstyle.source": f"fp16 of {src.name} sha256={src_sha}",
            "vstyle.fp32_source": info.source,
        }
    )
    onnx.helper.set_model_props(proto, props)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the FP16 version of {src} is not a valid ONNX model ({exc})") from exc

    src_side = read_sidecar(src) or {}
    save_model(
        proto,
        dst,
        {
            "architecture": info.architecture,
            "spec": info.spec.to_dict() if info.spec is not None else src_side.get("spec"),
            "size_multiple": info.size_multiple,
            "source": props["vstyle.source"],
            "source_sha256": src_sha,
            "precision": "fp16",
            "input": info.input_name,
            "output": info.output_name,
            "torch_version": src_side.get("torch_version"),
        },
    )
    logger.info("wrote FP16 %s (from %s) to %s", info.architecture, src, dst)
    return dst


def convert_graph_to_fp16(proto: onnx.ModelProto) -> None:
    """Convert ``proto``'s float32 tensors to float16 in place (see the module docstring).

    Graph inputs and outputs keep their float32 type behind Cast nodes; :data:`FP32_OPS` run in
    float32; non-float tensors are untouched. ``value_info`` is dropped (it held the float32 types).

    Raises:
        ModelError: the graph has subgraphs (If/Loop/Scan) or a float32 tensor of unknown type.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16
    graph = proto.graph
    for node in graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise ModelError(f"cannot convert node {node.name!r} ({node.op_type}) with subgraphs to FP16")

    # Float Constant nodes become initializers, so every constant is converted the same way below.
    kept = []
    for node in graph.node:
        value = next((a for a in node.attribute if a.name == "value"), None)
        if node.op_type == "Constant" and value is not None and value.t.data_type == FLOAT:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value.t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            kept.append(node)

    elem: dict[str, int] = {}
    inferred = onnx.shape_inference.infer_shapes(proto)
    for v in (*inferred.graph.input, *inferred.graph.output, *inferred.graph.value_info):
        elem[v.name] = v.type.tensor_type.elem_type
    consts = {t.name: t for t in graph.initializer}
    for name, t in consts.items():
        elem[name] = t.data_type
    graph_inputs = {v.name for v in graph.input if v.type.tensor_type.elem_type == FLOAT}

    new_nodes: list[onnx.NodeProto] = []
    half_consts: dict[str, str] = {}  # fp32 constant -> its fp16 copy
    casts: dict[tuple[str, int], str] = {}  # (tensor, to) -> cast output
    used_fp32_consts: set[str] = set()

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in casts:
            out = f"{name}_{'fp32' if to == FLOAT else 'fp16'}"
            new_nodes.append(helper.make_node("Cast", [name], [out], name=f"{out}_cast", to=to))
            casts[key] = out
        return casts[key]

    def half_const(name: str) -> str:
        if name not in half_consts:
            data = numpy_helper.to_array(consts[name])
            if np.any(np.abs(data) > _FP16_MAX):
                logger.warning("constant %s exceeds the float16 range; clipped to ±%g", name, _FP16_MAX)
            half = numpy_helper.from_array(
                np.clip(data, -_FP16_MAX, _FP16_MAX).astype(np.float16), f"{name}_fp16"
            )
            graph.initializer.append(half)
            half_consts[name] = half.name
        return half_consts[name]

    for node in kept:
        if node.op_type == "Cast":
            to = next(a for a in node.attribute if a.name == "to")
            if to.i == FLOAT:
                to.i = HALF
        fp32_node = node.op_type in FP32_OPS
        for i, name in enumerate(node.input):
            if not name or elem.get(name) != FLOAT:
                continue
            want_fp32 = fp32_node or (node.op_type, i) in _FP32_INPUTS
            if name in consts:
                if want_fp32:
                    used_fp32_consts.add(name)
                else:
                    node.input[i] = half_const(name)
            elif name in graph_inputs:
                node.input[i] = name if want_fp32 else cast(name, HALF)
            elif want_fp32:  # a computed tensor, float16 by now
                node.input[i] = cast(name, FLOAT)
        for name in node.output:
            if name and name not in elem:
                raise ModelError(
                    f"cannot convert to FP16: type of {name!r} (output of {node.name!r}) is unknown"
                )
        new_nodes.append(node)
        if fp32_node:
            for i, name in enumerate(node.output):
                if elem.get(name) == FLOAT:
                    node.output[i] = f"{name}_fp32"
                    new_nodes.append(
                        helper.make_node("Cast", [node.output[i]], [name], name=f"{name}_cast", to=HALF)
                    )

    # Graph outputs: what produced them is float16 now; rename it and cast back to float32.
    for out in graph.output:
        if out.type.tensor_type.elem_type != FLOAT:
            continue
        half_name = f"{out.name}_fp16"
        for node in new_nodes:
            for seq in (node.input, node.output):
                for i, name in enumerate(seq):
                    if name == out.name:
                        seq[i] = half_name
        new_nodes.append(helper.make_node("Cast", [half_name], [out.name], name=f"{out.name}_cast", to=FLOAT))

    for t in list(graph.initializer):
        if t.name in half_consts and t.name not in used_fp32_consts:
            graph.initializer.remove(t)
    del graph.node[:]
    graph.node.extend(new_nodes)
    del graph.value_info[:]

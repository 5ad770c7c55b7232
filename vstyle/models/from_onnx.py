"""ONNX → StyleNet: the float32 PyTorch network an exported vstyle ONNX model (FP32 or FP16) was made from.

Used by the torch backend (:mod:`vstyle.backends.torch_backend`) and the bench's eager baselines
(:func:`vstyle.bench.baselines.torch_network`).

**Why layers are paired by structure.** vstyle's exporter (``torch.onnx.export(dynamo=True)``) keeps
the architecture in the model (``vstyle.arch_spec``) and names initializers after the parameters
(``stem.conv.weight``), but its optimiser merges initializers with equal values: the instance-norm
weights and biases of an untrained network (all ones, all zeros) become one shared initializer
under one parameter's name, and the FP16 converter renames weights (``…_fp16``). Names alone
therefore cannot place every weight. :func:`stylenet_from_onnx` pairs layers by structure instead:
it rebuilds the :class:`~vstyle.models.stylenet.StyleNet` from the spec, records the order in which
its conv and instance-norm modules run, and pairs them with the graph's Conv/ConvTranspose/
InstanceNormalization nodes in graph (topological) order, following Cast/Identity back to the
constants. Kinds, shapes and epsilons must match, every parameter must be filled, and where an
initializer carries a parameter's name it must be the one the structure says; otherwise the model
is refused with a :class:`~vstyle.errors.ModelError`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vstyle.errors import ModelError

if TYPE_CHECKING:
    from vstyle.models.stylenet import StyleNet

log = logging.getLogger(__name__)

_LAYER_OPS = {"Conv2d": "Conv", "ConvTranspose2d": "ConvTranspose", "InstanceNorm2d": "InstanceNormalization"}


def stylenet_from_onnx(onnx_path: Path) -> StyleNet:
    """Rebuild the float32 :class:`StyleNet` an exported vstyle ONNX model (FP32 or FP16) was made from.

    The network is in eval mode, on the CPU. See the module docstring for how layers are paired.

    Raises:
        ModelError: not a vstyle model with an architecture spec, an INT8 QDQ model, or a graph whose
            layers do not match its spec.
    """
    import onnx
    import torch
    from onnx import numpy_helper

    from vstyle.models.metadata import read_model_metadata
    from vstyle.models.stylenet import StyleNet, gaussian_kernel, unshuffle_kernel
    from vstyle.trt.build import graph_precision  # precision as the graph says (no TensorRT needed)

    path = Path(onnx_path)
    info = read_model_metadata(path)
    if info.spec is None:
        raise ModelError(
            f"{path} carries no architecture spec (vstyle.arch_spec) to rebuild the PyTorch network from; "
            "re-export it with `vstyle export`, or run the ONNX graph itself (--backend onnxruntime)"
        )
    proto = onnx.load_model(str(path))
    precision = graph_precision(proto)
    if precision == "int8-qdq":
        raise ModelError(
            f"{path} is an INT8 QDQ model; the PyTorch network is rebuilt from FP32/FP16 models only: give "
            "it the FP32 export, or run INT8 on --backend tensorrt or onnxruntime"
        )
    graph = proto.graph
    consts = {t.name: t for t in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1

    def value(name: str, where: str) -> np.ndarray:
        seen = name
        for _ in range(8):  # Cast/Identity chains are short
            if name in consts:
                return numpy_helper.to_array(consts[name]).astype(np.float32)
            node = producer.get(name)
            if node is not None and node.op_type == "Constant":
                attr = next((a for a in node.attribute if a.name == "value"), None)
                if attr is not None:
                    return numpy_helper.to_array(attr.t).astype(np.float32)
            if node is None or node.op_type not in ("Cast", "Identity"):
                break
            name = node.input[0]
        raise ModelError(f"{path}: {where} input {seen!r} is not a constant; not a vstyle export")

    spec = info.spec
    net = StyleNet(spec).eval()
    order: list[tuple[str, Any]] = []
    hooks = [
        module.register_forward_pre_hook(lambda mod, args, name=name: order.append((name, mod)))
        for name, module in net.named_modules()
        if type(module).__name__ in _LAYER_OPS
    ]
    try:
        with torch.no_grad():
            side = 4 * spec.size_multiple
            net(torch.zeros(1, 3, side, side))
    finally:
        for h in hooks:
            h.remove()
    nodes = [n for n in graph.node if n.op_type in _LAYER_OPS.values()]
    if spec.unshuffle > 1:  # F.conv2d with the fixed unshuffle kernel: a Conv node but no module
        first = nodes.pop(0) if nodes else None
        expected = unshuffle_kernel(spec.unshuffle).numpy()
        if (
            first is None
            or first.op_type != "Conv"
            or not np.array_equal(value(first.input[1], "unshuffle"), expected)
        ):
            raise ModelError(f"{path}: the graph does not start with the pixel-unshuffle of its spec")
    if spec.out_blur > 0:  # the fixed output low-pass: a Conv node but no module, last in the graph
        last = nodes.pop() if nodes else None
        expected = gaussian_kernel(spec.out_blur).numpy()
        weight = value(last.input[1], "output blur") if last is not None and last.op_type == "Conv" else None
        if weight is None or weight.shape != expected.shape or not np.allclose(weight, expected):
            raise ModelError(f"{path}: the graph does not end with the output blur of its spec")
    if len(nodes) != len(order):
        raise ModelError(
            f"{path}: the graph has {len(nodes)} conv/instance-norm layers, its {spec.name!r} spec "
            f"{len(order)}; the model does not match its architecture spec"
        )
    state = net.state_dict()
    filled: dict[str, np.ndarray] = {}
    for (name, module), node in zip(order, nodes):
        where = f"node {node.name!r} ({node.op_type})"
        if _LAYER_OPS[type(module).__name__] != node.op_type:
            raise ModelError(f"{path}: {where} stands where the spec has {name} ({type(module).__name__})")
        roles = [("weight", 1), ("bias", 2)]
        if node.op_type == "InstanceNormalization":
            eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
            if not np.isclose(eps, module.eps, rtol=1e-3):
                raise ModelError(f"{path}: {where} has epsilon {eps:g}, the spec {module.eps:g}")
        for role, index in roles:
            param = f"{name}.{role}"
            has_input = index < len(node.input) and bool(node.input[index])
            if param not in state:
                if has_input:
                    raise ModelError(f"{path}: {where} has a {role} the spec's {name} has not")
                continue
            if not has_input:
                raise ModelError(f"{path}: {where} lacks the {role} of the spec's {name}")
            source = node.input[index]
            # A name of another parameter is fine only on an initializer the exporter shared
            # between equal tensors (used more than once); a single-use one must be this parameter.
            if source in state and source != param and uses.get(source, 0) < 2:
                raise ModelError(f"{path}: {where} uses {source!r} where the structure says {param!r}")
            array = value(source, where)
            if tuple(array.shape) != tuple(state[param].shape):
                raise ModelError(
                    f"{path}: {where} {role} has shape {list(array.shape)}, the spec's {param} "
                    f"{list(state[param].shape)}"
                )
            filled[param] = array
    missing = sorted(set(state) - set(filled))
    if missing:
        raise ModelError(f"{path}: no weights found in the graph for {missing}")
    net.load_state_dict({k: torch.from_numpy(v) for k, v in filled.items()})
    log.debug("rebuilt %s (%s, %s) from %s", spec.name, precision, f"{len(filled)} tensors", path)
    return net

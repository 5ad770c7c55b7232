"""FLOP counting from the ONNX graph, against counts worked out by hand for small known networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vstyle.bench.flops import count_flops, infer_shapes, model_flops
from vstyle.errors import ModelError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.full(shape, 0.01, np.float32), name)


def _model(nodes: list, initializers: list, output: str = "y") -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "hand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, None, None, None])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model


@pytest.fixture(scope="module")
def hand_network() -> onnx.ModelProto:
    """pad 1 → conv 3×3 3→8 (bias) → relu → depthwise 3×3 stride 2 → instance norm
    → transposed conv 2×2 stride 2 8→4 (bias) → grouped 1×1 conv 4→4 in 2 groups → add the two."""
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], mode="reflect"),
        helper.make_node("Conv", ["p", "wa", "ba"], ["a"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["a"], ["ar"]),
        helper.make_node(
            "Conv", ["ar", "wb"], ["b"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], group=8
        ),
        helper.make_node("InstanceNormalization", ["b", "scale", "shift"], ["bn"]),
        helper.make_node("ConvTranspose", ["bn", "wc", "bc"], ["c"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["c", "wd"], ["d"], kernel_shape=[1, 1], group=2),
        helper.make_node("Add", ["c", "d"], ["y"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
        _weight("wa", 8, 3, 3, 3),
        _weight("ba", 8),
        _weight("wb", 8, 1, 3, 3),
        _weight("scale", 8),
        _weight("shift", 8),
        _weight("wc", 8, 4, 2, 2),
        _weight("bc", 4),
        _weight("wd", 4, 2, 1, 1),
    ]
    return _model(nodes, inits)


def test_hand_counted_network(hand_network: onnx.ModelProto) -> None:
    # Input 32×48, padded by one on each side to 34×50.
    # conv a: 3×3 valid, 3→8, out 8×32×48; MACs = outputs × C_in × k² = 12288 × 3 × 9; bias adds 12288.
    conv_a = 2 * (8 * 32 * 48) * 3 * 9 + 8 * 32 * 48
    # depthwise b: stride 2, pad 1 → 8×16×24; each output sees 1 channel × 9 taps.
    conv_b = 2 * (8 * 16 * 24) * 1 * 9
    # transposed c: every input element (8×16×24) meets the whole kernel for each of 4 outputs (4 × 2×2),
    # output 4×32×48 gets a bias add each.
    conv_c = 2 * (8 * 16 * 24) * 4 * (2 * 2) + 4 * 32 * 48
    # grouped d: 1×1, 2 groups of 2 → each of the 4×32×48 outputs sees 2 input channels.
    conv_d = 2 * (4 * 32 * 48) * 2
    # relu on 8×32×48, instance norm 8 operations per element on 8×16×24, add on 4×32×48.
    elementwise = 8 * 32 * 48 + 8 * (8 * 16 * 24) + 4 * 32 * 48
    assert (conv_a, conv_b, conv_c, conv_d, elementwise) == (675840, 55296, 104448, 24576, 43008)

    counted = count_flops(hand_network, (1, 3, 32, 48))
    assert counted == {
        "conv": conv_a + conv_b + conv_c + conv_d,
        "elementwise": elementwise,
        "total": conv_a + conv_b + conv_c + conv_d + elementwise,
    }
    # The batch multiplies everything.
    assert count_flops(hand_network, (3, 3, 32, 48))["total"] == 3 * counted["total"]


def test_shapes_agree_with_onnx_runtime(hand_network: onnx.ModelProto) -> None:
    shapes = infer_shapes(hand_network, (1, 3, 32, 48))
    session = ort.InferenceSession(hand_network.SerializeToString(), providers=["CPUExecutionProvider"])
    y = session.run(None, {"x": np.zeros((1, 3, 32, 48), np.float32)})[0]
    assert shapes["y"] == y.shape == (1, 4, 32, 48)
    assert shapes["b"] == (1, 8, 16, 24)


def test_pads_computed_from_the_runtime_shape() -> None:
    """Like the teachers' TF "SAME" padding: the pad size is arithmetic on Shape (data propagation)."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Slice", ["s", "two", "three"], ["h"]),  # [H]
        helper.make_node("Mod", ["h", "two"], ["odd"]),  # H mod 2
        helper.make_node("Concat", ["zeros6", "odd", "zero1"], ["pads"], axis=0),  # pad the bottom by H mod 2
        helper.make_node("Pad", ["x", "pads"], ["p"]),
        helper.make_node("Conv", ["p", "w"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    inits = [
        numpy_helper.from_array(np.array([2], np.int64), "two"),
        numpy_helper.from_array(np.array([3], np.int64), "three"),
        numpy_helper.from_array(np.zeros(6, np.int64), "zeros6"),
        numpy_helper.from_array(np.zeros(1, np.int64), "zero1"),
        _weight("w", 5, 3, 2, 2),
    ]
    model = _model(nodes, inits)
    # H = 33 is padded to 34: output 5 × 17 × 10, each output 3 channels × 4 taps.
    assert count_flops(model, (1, 3, 33, 20))["conv"] == 2 * (5 * 17 * 10) * 3 * 4
    assert count_flops(model, (1, 3, 32, 20))["conv"] == 2 * (5 * 16 * 10) * 3 * 4


def test_a_real_model_scales_with_the_pixels(tiny_model: Path) -> None:
    flops = model_flops(tiny_model, [(64, 48), (128, 96)])
    small, large = flops["64x48"], flops["128x96"]
    assert small["conv"] > 0 and small["elementwise"] > 0
    assert large["total"] == 4 * small["total"], "every op of the tiny network works per pixel"


def test_unusable_input_shapes_are_refused(hand_network: onnx.ModelProto, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="has 4 dimensions, not 3"):
        count_flops(hand_network, (3, 32, 48))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read"):
        model_flops(junk, [(64, 48)])

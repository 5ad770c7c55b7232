"""Export a :class:`~vstyle.models.stylenet.StyleNet` to ONNX with its metadata and a JSON sidecar.

Exporter choice: ``torch.onnx.export(dynamo=True)`` (torch.export + onnxscript). For ``quality`` it
emits only Pad, Conv, InstanceNormalization, Relu, Add, Resize(nearest), Tanh, Mul and Clip; the
teacher's TF "SAME" padding becomes a short Shape/Div/Sub/Concat chain feeding Pad, so sizes stay
dynamic. The legacy TorchScript exporter (``dynamo=False``, deprecated) produces the same maths but
buries every Pad under ConstantOfShape/Reshape/Slice/Transpose/Cast subgraphs (it cannot constant-fold
the reversed pad list), ~130 Constant nodes in all, and exports instance norm in training mode. The
price is export time (~5–15 s instead of ~0.5 s), paid once per model.

The dynamo exporter writes opset 18. For opset 17 (TensorRT 8.6's parser stops there) the model is
relabelled after checking that no node uses what opset 18 added (Pad's ``axes`` input, Resize's new
attributes) and that the ONNX checker accepts it under opset 17.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vstyle.errors import ConfigError, ModelError
from vstyle.models.metadata import FORMAT_VERSION, INPUT_NAME, OUTPUT_NAME, file_sha256, sidecar_path
from vstyle.models.spec import ArchSpec

if TYPE_CHECKING:
    import onnx
    import torch

logger = logging.getLogger(__name__)

_NATIVE_OPSET = 18
_IR_FOR_OPSET = {17: 8}
# Resize attributes added in opset 18, with the defaults that make a node equal to Resize-13.
_RESIZE_DEFAULTS_NEW_IN_18 = {"antialias": 0, "keep_aspect_ratio_policy": b"stretch"}


def to_onnx(
    model: torch.nn.Module, *, opset: int = 17, example_size: tuple[int, int] | None = None
) -> onnx.ModelProto:
    """Trace ``model`` into an in-memory ONNX model with dynamic batch, height and width.

    Args:
        model: a network following the model I/O contract (N×3×H×W float32 RGB 0..255 in and out).
        opset: 17 or higher.
        example_size: (H, W) of the tracing example; defaults to 4 × the model's ``size_multiple``.

    Returns:
        The model, input ``"input"`` and output ``"output"``, dims named batch/height/width.

    Raises:
        ConfigError: ``opset`` below 17.
        ModelError: the graph cannot be expressed in ``opset``.
    """
    import torch

    if opset < 17:
        raise ConfigError(
            f"opset must be 17 or higher (InstanceNormalization/Resize as TensorRT parses them), got {opset}"
        )
    spec = getattr(model, "spec", None)
    m = spec.size_multiple if isinstance(spec, ArchSpec) else 8
    h, w = example_size or (4 * m, 6 * m)
    # Batch 2: an example batch of 1 would make torch.export specialise the batch dimension.
    example = torch.rand(2, 3, h, w) * 255.0
    dyn = torch.export.Dim.DYNAMIC
    was_training = model.training
    model.eval()
    # The exporter and its optimiser log pass-by-pass details and warn about things irrelevant here
    # (torchvision ops, deprecations); keep only their errors.
    quiet = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir")]
    old_levels = [lg.level for lg in quiet]
    try:
        for lg in quiet:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model,
                (example,),
                None,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=max(opset, _NATIVE_OPSET),
                dynamo=True,
                dynamic_shapes=({0: dyn, 2: dyn, 3: dyn},),
                verbose=False,
            )
    finally:
        for lg, level in zip(quiet, old_levels, strict=True):
            lg.setLevel(level)
        model.train(was_training)
    proto = program.model_proto
    for node in proto.graph.node:
        # Per-node debug info (stack traces with local paths, FX names): not part of the model.
        del node.metadata_props[:]
    _name_dims(proto)
    if opset < _NATIVE_OPSET:
        _relabel_opset(proto, opset)
    written = next((entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")), opset)
    if written != opset:  # the exporter quietly writes the newest opset it knows
        raise ConfigError(
            f"opset {opset} is not available: this PyTorch's exporter writes opset {written} at most; "
            f"use 17 (TensorRT 8.6 and later) or {written}"
        )
    return proto


def _name_dims(proto: onnx.ModelProto) -> None:
    """Give the dynamic dims readable names (the exporter writes sympy expressions)."""
    for value in (*proto.graph.input, *proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        for i, name in ((0, "batch"), (2, "height"), (3, "width")):
            if len(dims) == 4 and not dims[i].HasField("dim_value"):
                dims[i].dim_param = name


def _relabel_opset(proto: onnx.ModelProto, opset: int) -> None:
    import onnx

    for node in proto.graph.node:
        if node.op_type == "Pad" and len(node.input) > 3 and node.input[3]:
            raise ModelError(
                f"cannot write opset {opset}: Pad node {node.name} uses the opset-18 axes input; use opset 18"
            )
        if node.op_type == "Resize":
            keep = []
            for attr in node.attribute:
                if attr.name == "axes" or (
                    attr.name in _RESIZE_DEFAULTS_NEW_IN_18
                    and onnx.helper.get_attribute_value(attr) != _RESIZE_DEFAULTS_NEW_IN_18[attr.name]
                ):
                    raise ModelError(
                        f"cannot write opset {opset}: Resize node {node.name} uses opset-18 attribute "
                        f"{attr.name}; use opset 18"
                    )
                if attr.name not in _RESIZE_DEFAULTS_NEW_IN_18:
                    keep.append(attr)
            # The exporter spells out the opset-18 defaults; without them the node is Resize-13.
            del node.attribute[:]
            node.attribute.extend(keep)
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = opset
    # IR 8 is opset 17's (ONNX 1.12); the newer IRs add only data types this graph does not use, and
    # older parsers (TensorRT 8.6) check it.
    proto.ir_version = min(proto.ir_version, _IR_FOR_OPSET.get(opset, proto.ir_version))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the exported graph is not valid at opset {opset} ({exc}); use opset 18") from exc


def save_model(
    proto: onnx.ModelProto,
    dst: Path,
    fields: dict[str, Any],
    *,
    staged: Path | None = None,
    extra: tuple[tuple[Path, Path], ...] = (),
) -> None:
    """Write ``proto`` to ``dst`` with its JSON sidecar, both under temporary names, then rename.

    Every model file vstyle writes (export, FP16, INT8) goes through here, so all sidecars share
    one format: the common fields (format, version, file name, sha256, opset, onnx version,
    creation time) plus the caller's ``fields``. The ``.onnx`` is renamed last: a model whose
    rename succeeded always has its sidecar (and ``extra`` files) beside it.

    Args:
        proto: the model to write.
        dst: the final ``.onnx`` path.
        fields: sidecar entries particular to this model (architecture, source, precision…).
        staged: a temporary path ``proto`` should be saved to (one the caller already wrote
            into, e.g. a quantizer's output); default a fresh hidden name beside ``dst``.
        extra: ``(temporary, final)`` pairs of other files to move into place with the model.
    """
    import onnx

    from vstyle.sinks.staging import staging_path

    dst.parent.mkdir(parents=True, exist_ok=True)
    side = sidecar_path(dst)
    tmp_onnx = staged or staging_path(dst)  # hidden, and short enough beside a long legal name
    tmp_side = staging_path(side)
    try:
        onnx.save_model(proto, str(tmp_onnx))
        sidecar: dict[str, Any] = {
            "format": "vstyle-onnx-sidecar",
            "format_version": FORMAT_VERSION,
            "onnx_file": dst.name,
            **fields,
            "sha256": file_sha256(tmp_onnx),
            "opset": next(e.version for e in proto.opset_import if e.domain in ("", "ai.onnx")),
            "onnx_version": onnx.__version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        tmp_side.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
        for tmp, final in extra:
            os.replace(tmp, final)
        os.replace(tmp_side, side)
        os.replace(tmp_onnx, dst)
    finally:
        for tmp in (tmp_onnx, tmp_side, *(t for t, _ in extra)):
            tmp.unlink(missing_ok=True)


def export_onnx(
    model: torch.nn.Module,
    spec: ArchSpec,
    out_path: Path,
    *,
    source: str,
    opset: int = 17,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as ONNX to ``out_path`` plus a ``<stem>.json`` sidecar.

    The model carries ``vstyle.*`` metadata_props (format version, architecture name and spec JSON,
    layout NCHW, colour RGB, range 0-255, size multiple, input dtype, source). The sidecar records
    architecture, spec, source, the sha256 of the .onnx bytes, opset, torch/onnx versions and the
    creation time. Both are written to temporary names and renamed on success.

    Args:
        model: the network (e.g. a :class:`StyleNet` or an imported teacher).
        spec: its architecture.
        out_path: where the .onnx goes.
        source: what it was made from (a checkpoint path, ``"teacher:scream sha256=…"``).
        opset: ONNX opset, 17 or higher.
        overwrite: replace an existing file; otherwise refuse.

    Returns:
        ``out_path``.

    Raises:
        ModelError: ``out_path`` or its sidecar exists and ``overwrite`` is false.
    """
    import onnx
    import torch

    out_path = Path(out_path)
    side = sidecar_path(out_path)
    if out_path.suffix != ".onnx":
        raise ConfigError(f"export path must end in .onnx, got {out_path}")
    if not overwrite:
        for existing in (out_path, side):
            if existing.exists():
                raise ModelError(
                    f"{existing} already exists; pass overwrite=True (CLI: --overwrite) "
                    "or choose another path"
                )
    proto = to_onnx(model, opset=opset)
    props = {
        "vstyle.format_version": str(FORMAT_VERSION),
        "vstyle.architecture": spec.name,
        "vstyle.arch_spec": json.dumps(spec.to_dict(), sort_keys=True),
        "vstyle.layout": "NCHW",
        "vstyle.color": "RGB",
        "vstyle.range": "0-255",
        "vstyle.size_multiple": str(spec.size_multiple),
        "vstyle.input_dtype": "float32",
        "vstyle.source": source,
    }
    onnx.helper.set_model_props(proto, props)
    proto.producer_name = "vstyle"

    save_model(
        proto,
        out_path,
        {
            "architecture": spec.name,
            "spec": spec.to_dict(),
            "size_multiple": spec.size_multiple,
            "source": source,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "torch_version": torch.__version__,
        },
    )
    logger.info("exported %s (%s) to %s", spec.name, source, out_path)
    return out_path

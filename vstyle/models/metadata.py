"""What an exported vstyle ONNX model says about itself; readable without torch or onnx.

:func:`~vstyle.models.export.export_onnx` writes ``vstyle.*`` metadata_props into the model and a
``<stem>.json`` sidecar beside it; :func:`read_model_metadata` reads them back through ONNX Runtime
(a core dependency) and checks the sidecar's sha256 against the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vstyle.errors import ModelError
from vstyle.models.spec import ArchSpec

#: Version of the vstyle ONNX metadata contract (``vstyle.*`` metadata_props and the sidecar).
FORMAT_VERSION = 1
INPUT_NAME = "input"
OUTPUT_NAME = "output"
_EXPORT_HINT = "export one with `vstyle export`"


def sidecar_path(onnx_path: Path) -> Path:
    """``model.onnx`` → ``model.json``."""
    return Path(onnx_path).with_suffix(".json")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of an exported style model.

    Attributes:
        path: the .onnx file.
        architecture: architecture name (``quality``, ``fast``, ``tiny``, ``engstrom``…).
        size_multiple: frame height and width must be multiples of this (pad to it).
        layout: tensor layout, ``"NCHW"``.
        color: channel order, ``"RGB"``.
        value_range: pixel range of input and output, ``"0-255"``.
        input_name: the graph's input tensor name.
        output_name: the graph's output tensor name.
        sha256: the file's sha256 as the sidecar records it (verified), or ``None`` without a sidecar.
        source: what the model was made from.
        spec: the full architecture, where the model carries it.
        input_dtype: element type of input and output, ``"float32"``.
    """

    path: Path
    architecture: str
    size_multiple: int
    layout: str
    color: str
    value_range: str
    input_name: str
    output_name: str
    sha256: str | None
    source: str
    spec: ArchSpec | None = None
    input_dtype: str = "float32"


def read_sidecar(onnx_path: Path) -> dict[str, Any] | None:
    """The sidecar of ``onnx_path`` as a dict, or ``None`` where there is none.

    Raises:
        ModelError: the sidecar exists but is not a JSON object.
    """
    side = sidecar_path(onnx_path)
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"sidecar {side} is not valid JSON ({exc}); delete it and {_EXPORT_HINT}") from exc
    if not isinstance(data, dict):
        raise ModelError(
            f"sidecar {side}: expected a JSON object, found {type(data).__name__}; {_EXPORT_HINT}"
        )
    return data


def _ort_reason(exc: BaseException) -> str:
    """ONNX Runtime's load error without its code prefix, file path and C++ location."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    reason = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", lines[0])
    reason = re.sub(r"^Load model from .*? failed:", "", reason)
    reason = re.sub(r"^\S+\.(cc|h|cpp):\d+ .*?\) ", "", reason)  # C++ file:line and signature
    return reason.strip() or type(exc).__name__


def read_model_metadata(onnx_path: Path) -> ModelInfo:
    """Read the vstyle metadata of an exported ONNX model (and verify its sidecar's sha256).

    Raises:
        ModelError: the file is missing, is not an ONNX model, lacks vstyle metadata, was written by a
            newer format version, or its sidecar's sha256 does not match the file.
    """
    import onnxruntime as ort

    path = Path(onnx_path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist; {_EXPORT_HINT}")
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own pybind exception types (InvalidProtobuf, Fail, …)
        raise ModelError(f"{path} is not an ONNX model: {_ort_reason(exc)}; {_EXPORT_HINT}") from exc
    props = dict(session.get_modelmeta().custom_metadata_map)
    sidecar = read_sidecar(path)

    version = props.get("vstyle.format_version")
    if version is None:
        raise ModelError(
            f"{path} is an ONNX model without vstyle metadata (no vstyle.format_version); {_EXPORT_HINT}"
        )
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise ModelError(
            f"{path}: vstyle metadata format {version!r}, this vstyle reads up to {FORMAT_VERSION}; "
            "upgrade vstyle"
        )
    try:
        size_multiple = int(props["vstyle.size_multiple"])
        architecture = props["vstyle.architecture"]
    except (KeyError, ValueError) as exc:
        raise ModelError(
            f"{path}: vstyle metadata incomplete or malformed ({exc!r}); {_EXPORT_HINT}"
        ) from exc
    spec = None
    if "vstyle.arch_spec" in props:
        try:
            spec_data = json.loads(props["vstyle.arch_spec"])
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: vstyle.arch_spec is not JSON ({exc}); {_EXPORT_HINT}") from exc
        spec = ArchSpec.from_dict(spec_data, where=str(path))

    sha256 = None
    if sidecar is not None:
        recorded = sidecar.get("sha256")
        actual = file_sha256(path)
        if recorded != actual:
            raise ModelError(
                f"{path}: sidecar {sidecar_path(path).name} records sha256 {recorded}, "
                f"the file has {actual}; "
                f"the model was changed after export, re-export it (or delete the stale sidecar)"
            )
        sha256 = actual

    return ModelInfo(
        path=path,
        architecture=architecture,
        size_multiple=size_multiple,
        layout=props.get("vstyle.layout", "NCHW"),
        color=props.get("vstyle.color", "RGB"),
        value_range=props.get("vstyle.range", "0-255"),
        input_name=session.get_inputs()[0].name,
        output_name=session.get_outputs()[0].name,
        sha256=sha256,
        source=props.get("vstyle.source", ""),
        spec=spec,
        input_dtype=props.get("vstyle.input_dtype", "float32"),
    )

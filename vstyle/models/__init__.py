"""Style networks: architectures, teacher import, checkpoints, ONNX export and model metadata.

Importing this package does not import torch: names are resolved lazily on first use, and only the
modules that define, import, train or export networks (``stylenet``, ``checkpoint``, ``export``,
``load_teacher``) need it. ``spec``, ``metadata`` and ``zoo`` lookups run on ONNX Runtime alone.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ArchSpec": "spec",
    "ARCHITECTURES": "spec",
    "get_arch": "spec",
    "StyleNet": "stylenet",
    "load_teacher": "teacher",
    "list_teachers": "teacher",
    "read_teacher_variables": "teacher",
    "Checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_model": "checkpoint",
    "export_onnx": "export",
    "stylenet_from_onnx": "from_onnx",
    "ModelInfo": "metadata",
    "read_model_metadata": "metadata",
    "teacher_onnx": "zoo",
    "available_styles": "zoo",
}

__all__ = [
    "ARCHITECTURES",
    "ArchSpec",
    "Checkpoint",
    "ModelInfo",
    "StyleNet",
    "available_styles",
    "export_onnx",
    "get_arch",
    "list_teachers",
    "load_checkpoint",
    "load_model",
    "load_teacher",
    "read_model_metadata",
    "read_teacher_variables",
    "save_checkpoint",
    "stylenet_from_onnx",
    "teacher_onnx",
]

if TYPE_CHECKING:
    from vstyle.models.checkpoint import Checkpoint, load_checkpoint, load_model, save_checkpoint
    from vstyle.models.export import export_onnx
    from vstyle.models.from_onnx import stylenet_from_onnx
    from vstyle.models.metadata import ModelInfo, read_model_metadata
    from vstyle.models.spec import ARCHITECTURES, ArchSpec, get_arch
    from vstyle.models.stylenet import StyleNet
    from vstyle.models.teacher import list_teachers, load_teacher, read_teacher_variables
    from vstyle.models.zoo import available_styles, teacher_onnx


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vstyle.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vstyle.models.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

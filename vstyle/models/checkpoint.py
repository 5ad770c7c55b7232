"""Training checkpoints: a network's spec and weights in one file, loaded without unpickling code.

File layout (``torch.save`` of a plain dict)::

    {"format": "vstyle-checkpoint", "version": 1, "arch": ArchSpec.to_dict(),
     "state_dict": {...}, "meta": {...}}

``meta`` holds plain JSON-like values (style, steps, losses…). Loading uses
``torch.load(weights_only=True)``, so a file can never run code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vstyle.errors import ModelError
from vstyle.models.spec import ArchSpec
from vstyle.models.stylenet import StyleNet
from vstyle.models.teacher import MANIFEST, load_teacher

CHECKPOINT_FORMAT = "vstyle-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        path: the file it came from.
        model: the network, in eval mode, on the CPU.
        meta: the plain-data ``meta`` dict stored with it.
    """

    path: Path
    model: StyleNet
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> ArchSpec:
        return self.model.spec


def save_checkpoint(model: StyleNet, path: Path, *, meta: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (spec + weights) and ``meta`` to ``path`` atomically (temp name, then rename).

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "arch": model.spec.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Raises:
        ModelError: the file is missing, is not a vstyle checkpoint, is of a newer version, or its
            weights do not fit its architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"checkpoint {path} does not exist; train one with `vstyle train` or pass a teacher folder"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip/pickle/weights-only errors have no common type
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(
            f"{path} is not a vstyle checkpoint (torch.load with weights_only=True failed: {first}); "
            "expected a file written by vstyle's save_checkpoint"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = f"format {payload.get('format')!r}" if isinstance(payload, dict) else type(payload).__name__
        raise ModelError(
            f"{path} is not a vstyle checkpoint: expected a dict with format {CHECKPOINT_FORMAT!r}, "
            f"found {found}; "
            "a bare state_dict needs its architecture, save it with save_checkpoint"
        )
    version = payload.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise ModelError(
            f"{path}: checkpoint version {version!r}, this vstyle reads up to {CHECKPOINT_VERSION}; "
            "upgrade vstyle"
        )
    spec = ArchSpec.from_dict(payload.get("arch"), where=str(path))
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise ModelError(
            f"{path}: expected a state_dict mapping, found {type(state).__name__}; the file is damaged"
        )
    model = StyleNet(spec)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(
            f"{path}: weights do not fit architecture {spec.name!r} ({first}); the file is damaged"
        ) from exc
    meta = payload.get("meta") or {}
    return Checkpoint(path=path, model=model.eval(), meta=dict(meta))


def load_model(path: Path) -> StyleNet:
    """A network from a checkpoint file (``.pt``/``.pth``) or a teacher folder.

    Raises:
        ModelError: the path is neither, or is malformed.
    """
    path = Path(path)
    if path.is_dir():
        return load_teacher(path)
    if path.suffix in (".pt", ".pth"):
        return load_checkpoint(path).model
    raise ModelError(
        f"{path}: expected a vstyle checkpoint (.pt) or a teacher folder with {MANIFEST}, "
        f"found {'a ' + path.suffix + ' file' if path.exists() else 'nothing'}"
    )

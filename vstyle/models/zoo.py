"""Ready-to-run models by name: teacher styles from the shared data, converted once into the cache.

``teacher_onnx("scream")`` imports ``<shared data>/teachers/scream`` and exports it to
``<cache>/teachers/scream.onnx``; later calls reuse that file while its sidecar's source (which
includes the sha256 of the teacher's files) still matches.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from vstyle.data import cache_dir, shared_data_dir
from vstyle.errors import ModelError
from vstyle.models.metadata import read_model_metadata, read_sidecar
from vstyle.models.teacher import list_teachers

logger = logging.getLogger(__name__)


def teachers_root() -> Path:
    """``<shared data>/teachers``.

    Raises:
        ModelError: there is no shared data folder or it has no ``teachers`` folder.
    """
    root = shared_data_dir()
    if root is None:
        raise ModelError(
            "teacher styles come from the shared data folder, and none was found (../shared/data beside the "
            "checkout, or $VSTYLE_SHARED_DATA); set VSTYLE_SHARED_DATA or pass a model file instead"
        )
    teachers = root / "teachers"
    if not teachers.is_dir():
        raise ModelError(f"shared data folder {root} has no teachers/ folder; pass a model file instead")
    return teachers


def available_styles() -> list[str]:
    """Teacher style names in the shared data, or ``[]`` where there is none."""
    try:
        return list_teachers(teachers_root())
    except ModelError:
        return []


def teacher_source(folder: Path) -> str:
    """``"teacher:<name> sha256=<hex>"``: the sha256 covers every file of the folder, by name."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    return f"teacher:{Path(folder).name} sha256={digest.hexdigest()}"


def teacher_onnx(style: str) -> Path:
    """The ONNX model of teacher ``style``, exported into the cache on first use.

    Args:
        style: a folder name under ``<shared data>/teachers`` (``scream``, ``wave``…).

    Returns:
        ``<cache>/teachers/<style>.onnx`` (with its ``.json`` sidecar).

    Raises:
        ModelError: no shared data, or no such style (the message lists the available ones).
    """
    root = teachers_root()
    styles = list_teachers(root)
    if style not in styles:
        raise ModelError(f"no teacher style {style!r} in {root}; available: {', '.join(styles) or 'none'}")
    folder = root / style
    source = teacher_source(folder)
    out = cache_dir() / "teachers" / f"{style}.onnx"
    if out.is_file():
        try:
            sidecar = read_sidecar(out)
            if sidecar is not None and sidecar.get("source") == source:
                read_model_metadata(out)  # verifies the file against the sidecar's sha256
                return out
            logger.info("cached %s is stale (source changed); exporting again", out)
        except ModelError as exc:
            logger.warning("cached %s is unusable (%s); exporting again", out, exc)

    from vstyle.models.export import export_onnx
    from vstyle.models.spec import ENGSTROM
    from vstyle.models.teacher import load_teacher

    logger.info("exporting teacher %s to %s (once; takes a few seconds)", style, out)
    return export_onnx(load_teacher(folder), ENGSTROM, out, source=source, overwrite=True)


def source_id(path: Path) -> str:
    """What a model was made from, with a content hash: a teacher folder or a checkpoint file."""
    path = Path(path)
    if path.is_dir():
        return teacher_source(path)
    from vstyle.models.metadata import file_sha256

    return f"checkpoint:{path.name} sha256={file_sha256(path)}"


def export_path(src: Path, out: Path, *, opset: int = 17, overwrite: bool = False) -> Path:
    """Export a checkpoint (``.pt``) or a teacher folder to ONNX at ``out`` (``vstyle export``).

    Raises:
        ModelError: ``src`` is not a checkpoint or teacher folder, or ``out`` exists and
            ``overwrite`` is false.
    """
    from vstyle.models.checkpoint import load_model
    from vstyle.models.export import export_onnx

    src = Path(src)
    if not src.exists():
        raise ModelError(f"{src} not found; pass a vstyle checkpoint (.pt) or a teacher folder")
    out = Path(out)
    if out.exists() and not overwrite:  # checked before the (slow) import and export
        raise ModelError(f"{out} exists; pass --overwrite or choose another name")
    model = load_model(src)
    return export_onnx(model, model.spec, out, source=source_id(src), opset=opset, overwrite=overwrite)


def cached_onnx(src: Path) -> Path:
    """The ONNX export of a checkpoint or teacher folder, made once into the cache and reused.

    The cache entry is keyed by the source's content hash, so an edited checkpoint is exported anew.
    """
    source = source_id(src)
    digest = source.rsplit("sha256=", 1)[-1][:16]
    out = cache_dir() / "models" / f"{Path(src).stem}-{digest}.onnx"
    if out.is_file():
        try:
            sidecar = read_sidecar(out)
            if sidecar is not None and sidecar.get("source") == source:
                read_model_metadata(out)
                return out
        except ModelError as exc:
            logger.warning("cached %s is unusable (%s); exporting again", out, exc)
    out.parent.mkdir(parents=True, exist_ok=True)
    return export_path(src, out, overwrite=True)

"""Which network a style name or model path means.

Bundled styles are ONNX files inside the package (``vstyle/assets/models/<name>.onnx``, with the
JSON sidecar that holds its model card and a readable ``<name>.md`` beside each); they need no
PyTorch. Teacher networks in the shared data folder are offered too, under names no bundled style
takes: ``--style la_muse`` imports that teacher once and caches its ONNX export (needs the
``torch`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vstyle.data import shared_data_dir
from vstyle.errors import ModelError

BUNDLED_DIR = Path(__file__).parent / "assets" / "models"
#: The style used when neither a model nor a style is given (first of these that is available).
DEFAULT_STYLES: tuple[str, ...] = ("scream", "udnie", "wave", "wreck")
#: The live filter's default: the fastest bundled network first (it must keep up with a camera on a CPU).
LIVE_DEFAULT_STYLES: tuple[str, ...] = ("scream-tiny",)


@dataclass(frozen=True)
class StyleEntry:
    """A style the user can select with ``--style NAME``."""

    name: str
    kind: str  # "bundled" or "teacher"
    path: Path


def available_styles() -> list[StyleEntry]:
    """Bundled styles first, then teachers found in the shared data folder."""
    entries = [StyleEntry(p.stem, "bundled", p) for p in sorted(BUNDLED_DIR.glob("*.onnx"))]
    root = shared_data_dir()
    if root is not None and (root / "teachers").is_dir():
        bundled = {e.name for e in entries}
        entries += [
            StyleEntry(p.name, "teacher", p)
            for p in sorted((root / "teachers").iterdir())
            if (p / "manifest.json").is_file() and p.name not in bundled
        ]
    return entries


def default_style(live: bool = False) -> str:
    """Name of the style used when none is given (``live``: for the live filter)."""
    names = {e.name for e in available_styles()}
    for name in (*LIVE_DEFAULT_STYLES, *DEFAULT_STYLES) if live else DEFAULT_STYLES:
        if name in names:
            return name
    raise ModelError(
        "no bundled style and no teacher networks found (../shared/data/teachers); "
        "pass --model PATH to an .onnx file made by `vstyle export`"
    )


@dataclass(frozen=True)
class StyleChoice:
    """One of several styles asked for (``--styles``): a style name or an ``.onnx`` file."""

    name: str  # the style's name, or the model file's stem
    model: Path | None = None
    style: str | None = None


def style_choices(items: Sequence[str]) -> list[StyleChoice]:
    """What a list like ``--styles`` names: style names, ``.onnx`` files, or just ``all`` (every
    bundled style), in order, repeats dropped.

    Raises:
        ModelError: an unknown style name or a missing model file (checked before any work).
    """
    entries = available_styles()
    known = {e.name for e in entries}
    if list(items) == ["all"]:
        items = [e.name for e in entries if e.kind == "bundled"]
    chosen: dict[str, StyleChoice] = {}
    for item in items:
        if Path(item).suffix.lower() == ".onnx":
            path = Path(item)
            if not path.is_file():
                raise ModelError(
                    f"model {item} not found; pass an .onnx file or a style name (see `vstyle styles`)"
                )
            chosen.setdefault(str(path.resolve()), StyleChoice(path.stem, model=path))
        elif item in known:
            chosen.setdefault(item, StyleChoice(item, style=item))
        else:
            raise ModelError(
                f"unknown style {item!r}; available styles: {', '.join(sorted(known)) or 'none found'} "
                "(see `vstyle styles`), or an .onnx file"
            )
    return list(chosen.values())


def resolve_model(model: Path | None, style: str | None) -> Path:
    """The ONNX file to run for a model path or style name (``None`` for both: the default style).

    A ``.pt`` checkpoint or a teacher folder is exported to ONNX in the cache first.
    """
    if model is not None:
        model = Path(model)
        if not model.exists():
            raise ModelError(
                f"model {model} not found; pass an .onnx file, a .pt checkpoint or a teacher folder"
            )
        if model.is_file() and model.suffix.lower() == ".onnx":
            return model
        from vstyle.models.zoo import cached_onnx

        return cached_onnx(model)
    name = style or default_style()
    for entry in available_styles():
        if entry.name == name:
            if entry.kind == "bundled":
                return entry.path
            from vstyle.models.zoo import teacher_onnx

            return teacher_onnx(name)
    names = ", ".join(e.name for e in available_styles()) or "none found"
    raise ModelError(f"unknown style {name!r}; available styles: {names} (see `vstyle styles`)")

"""Import the Engstrom fast-style-transfer teachers from their ml5 / TF.js per-variable dumps.

A teacher folder holds ``manifest.json`` (``{"Variable_7": {"filename": ..., "shape": [...]}, ...}``)
and one raw little-endian float32 file per variable, ``Variable``, ``Variable_1`` … ``Variable_47``.
Each of the 16 layers is three variables: the conv weight (TF ``HWIO``; transposed convs
``H, W, out, in``), then the instance-norm shift, then its scale. The layers are the Johnson layout,
which :data:`~vstyle.models.spec.ENGSTROM` describes with TensorFlow's exact semantics ("SAME" zero
padding, transposed convs, instance norm with eps 1e-3 after every conv).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vstyle.errors import ModelError
from vstyle.models.spec import ENGSTROM

if TYPE_CHECKING:
    from vstyle.models.stylenet import StyleNet

logger = logging.getLogger(__name__)

NUM_VARIABLES = 48
MANIFEST = "manifest.json"


def variable_name(index: int) -> str:
    """TF's name for the ``index``-th variable: ``Variable``, ``Variable_1``, …"""
    return "Variable" if index == 0 else f"Variable_{index}"


def _layers() -> list[tuple[str, str, tuple[int, ...]]]:
    """``(module path, kind, TF weight shape)`` for the 16 layers, in variable order."""
    s = ENGSTROM
    layers: list[tuple[str, str, tuple[int, ...]]] = [
        ("stem", "conv", (s.stem_kernel, s.stem_kernel, 3, s.stem_channels))
    ]
    chans = [s.stem_channels, *s.down_channels]
    for i in range(len(s.down_channels)):
        layers.append((f"down.{i}", "conv", (s.down_kernel, s.down_kernel, chans[i], chans[i + 1])))
    c, k = s.res_channels, s.res_kernel
    for i in range(s.res_blocks):
        layers.append((f"res.{i}.conv1", "conv", (k, k, c, c)))
        layers.append((f"res.{i}.conv2", "conv", (k, k, c, c)))
    ups = [c, *s.up_channels]
    for i in range(len(s.up_channels)):
        # Transposed conv weights are H, W, out, in.
        layers.append((f"up.{i}", "deconv", (s.up_kernel, s.up_kernel, ups[i + 1], ups[i])))
    layers.append(("out", "conv", (s.out_kernel, s.out_kernel, ups[-1], 3)))
    return layers


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Variable name → shape the format must have (weight, shift, scale per layer)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (_, kind, wshape) in enumerate(_layers()):
        out_channels = wshape[2] if kind == "deconv" else wshape[3]
        shapes[variable_name(3 * i)] = wshape
        shapes[variable_name(3 * i + 1)] = (out_channels,)
        shapes[variable_name(3 * i + 2)] = (out_channels,)
    return shapes


def list_teachers(root: Path) -> list[str]:
    """Names of the teacher folders under ``root`` (those with a ``manifest.json``), sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file())


def read_teacher_variables(folder: Path) -> dict[str, np.ndarray]:
    """Read and validate the 48 raw float32 variables of a teacher folder.

    Returns:
        Variable name → ``float32`` array in its TF shape.

    Raises:
        ModelError: the folder, its manifest or a variable is missing or malformed; the message says
            what was expected, what was found and what to do.
    """
    folder = Path(folder)
    fix = (
        "point at a folder copied unchanged from ml5's fast-style-transfer models "
        "(see ../shared/data/README.md)"
    )
    if not folder.is_dir():
        raise ModelError(f"teacher folder {folder} does not exist; {fix}")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"teacher folder {folder} has no {MANIFEST}; {fix}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{manifest_path} is not valid JSON ({exc}); {fix}") from exc
    if not isinstance(manifest, dict):
        raise ModelError(
            f"{manifest_path}: expected a JSON object of variables, found {type(manifest).__name__}; {fix}"
        )
    expected = expected_shapes()
    missing = [name for name in expected if name not in manifest]
    if missing:
        raise ModelError(
            f"{manifest_path}: expected {NUM_VARIABLES} variables Variable … Variable_{NUM_VARIABLES - 1}, "
            f"found {len(manifest)} (missing {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}); "
            "this is not an Engstrom style network"
        )
    variables: dict[str, np.ndarray] = {}
    for name, shape in expected.items():
        entry = manifest[name]
        found = tuple(entry.get("shape", ())) if isinstance(entry, dict) else None
        if found != shape:
            raise ModelError(
                f"{manifest_path}: {name} should have shape {list(shape)} (the Johnson layout), found "
                f"{list(found) if found is not None else entry!r}; this is not an Engstrom style network"
            )
        path = folder / str(entry.get("filename", name))
        if not path.is_file():
            raise ModelError(f"{folder}: variable file {path.name} listed in the manifest is missing; {fix}")
        size = path.stat().st_size
        want = 4 * int(np.prod(shape))
        if size != want:
            raise ModelError(
                f"{path}: expected {want} bytes (float32 × {list(shape)}), found {size}; "
                f"the file is truncated or corrupt, copy it again"
            )
        variables[name] = np.fromfile(path, dtype="<f4").reshape(shape)
    return variables


def load_teacher(folder: Path) -> StyleNet:
    """Import a teacher folder into a :class:`~vstyle.models.stylenet.StyleNet` with the ``engstrom`` spec.

    Args:
        folder: e.g. ``../shared/data/teachers/scream``.

    Returns:
        The network in eval mode, float32 on the CPU, with exactly the teacher's semantics.

    Raises:
        ModelError: see :func:`read_teacher_variables`.
    """
    import torch

    from vstyle.models.stylenet import StyleNet

    variables = read_teacher_variables(folder)
    net = StyleNet(ENGSTROM)
    modules = dict(net.named_modules())
    with torch.no_grad():
        for i, (path, _, _) in enumerate(_layers()):
            weight = torch.from_numpy(variables[variable_name(3 * i)].copy())
            shift = torch.from_numpy(variables[variable_name(3 * i + 1)].copy())
            scale = torch.from_numpy(variables[variable_name(3 * i + 2)].copy())
            layer = modules[path]
            # HWIO → OIHW for convs; (H, W, out, in) → (in, out, H, W) for transposed convs: the same
            # permutation. Neither flips the kernel: PyTorch's ConvTranspose2d, like TF's
            # conv2d_transpose, is the adjoint of a conv with that very weight.
            layer.conv.weight.copy_(weight.permute(3, 2, 0, 1))
            layer.norm.weight.copy_(scale)
            layer.norm.bias.copy_(shift)
    logger.debug("imported teacher %s", folder)
    return net.eval()

"""Middlebury ``.flo`` optical-flow files: read and write.

The format (Baker et al., "A Database and Evaluation Methodology for Optical Flow"): a little-endian
float32 magic ``202021.25`` (the bytes spell ``PIEH``), int32 width, int32 height, then
``height × width × 2`` float32 values, row-major, ``(u, v)`` interleaved. Components larger than
``1e9`` in magnitude mark pixels whose flow is unknown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vstyle.errors import DataError

#: The float32 tag at the start of every ``.flo`` file.
FLO_MAGIC = np.float32(202021.25)
#: Components above this (in magnitude) mean "unknown flow".
UNKNOWN_THRESHOLD = 1e9
#: What :func:`write_flo` stores for pixels marked invalid.
UNKNOWN_VALUE = np.float32(1e10)
_HEADER_BYTES = 12
_MAX_SIDE = 100_000  # a sanity bound: a larger side means the header is not what we think it is


def read_flo(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a Middlebury ``.flo`` file.

    Args:
        path: the file.

    Returns:
        ``(flow, valid)``: the flow in pixels (``flow[y, x] = (dx, dy)``) and a float32 mask, 1 where
        the flow is known and 0 where the file marks it unknown. Unknown pixels hold 0 in ``flow``.

    Shape:
        - flow: :math:`(H, W, 2)`, float32.
        - valid: :math:`(H, W)`, float32.

    Raises:
        DataError: the file is not a ``.flo`` file (bad magic) or its size does not match its header.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < _HEADER_BYTES:
        raise DataError(
            f"{path} is not a .flo file: expected a 12-byte header (magic, width, height), "
            f"found only {len(data)} bytes. Check that the file is complete"
        )
    magic = np.frombuffer(data, "<f4", count=1)[0]
    if magic != FLO_MAGIC:
        raise DataError(
            f"{path} is not a Middlebury .flo file: expected the float32 magic {float(FLO_MAGIC)} "
            f"(bytes b'PIEH'), found {float(magic)!r} (bytes {data[:4]!r}). Pass a .flo optical-flow file"
        )
    width, height = (int(v) for v in np.frombuffer(data, "<i4", count=2, offset=4))
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        raise DataError(
            f"{path} has an impossible size in its header: expected 1…{_MAX_SIDE} pixels a side, "
            f"found width {width}, height {height}. The file is damaged"
        )
    expected = _HEADER_BYTES + 4 * 2 * width * height
    if len(data) != expected:
        raise DataError(
            f"{path} does not match its header: a {width}×{height} flow needs {expected} bytes, "
            f"found {len(data)}. The file is truncated or damaged"
        )
    flow = np.frombuffer(data, "<f4", offset=_HEADER_BYTES).reshape(height, width, 2).astype(np.float32)
    unknown = (np.abs(flow) > UNKNOWN_THRESHOLD).any(axis=2) | ~np.isfinite(flow).all(axis=2)
    flow[unknown] = 0.0
    return flow, (~unknown).astype(np.float32)


def write_flo(path: str | Path, flow: np.ndarray, valid: np.ndarray | None = None) -> Path:
    """Write a flow field as a Middlebury ``.flo`` file.

    Args:
        path: the file to write (its folder must exist).
        flow: flow in pixels, ``flow[y, x] = (dx, dy)``.
        valid: optional mask; where it is 0 the file stores "unknown" (``1e10``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Shape:
        - flow: :math:`(H, W, 2)`, any real dtype (stored as float32).
        - valid: :math:`(H, W)`.

    Raises:
        ValueError: ``flow`` or ``valid`` has the wrong shape.
    """
    path = Path(path)
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2 or flow.shape[0] == 0 or flow.shape[1] == 0:
        raise ValueError(f"flow must be an H×W×2 array of (dx, dy). Got shape {flow.shape}")
    out = flow.astype("<f4", copy=True)
    if valid is not None:
        valid = np.asarray(valid)
        if valid.shape != flow.shape[:2]:
            raise ValueError(
                f"valid must be an H×W mask matching flow {flow.shape[:2]}. Got shape {valid.shape}"
            )
        out[valid == 0] = UNKNOWN_VALUE
    height, width = flow.shape[:2]
    with path.open("wb") as f:
        f.write(np.array([FLO_MAGIC], "<f4").tobytes())
        f.write(np.array([width, height], "<i4").tobytes())
        f.write(np.ascontiguousarray(out).tobytes())
    return path

"""Which pixels a backward warp can trust: the occlusion / consistency mask of Ruder et al. (2016).

"Artistic style transfer for videos" (Ruder, Dosovitskiy, Brox, GCPR 2016), section 3.2. Let ``w``
be the flow that is used to warp (on frame *a*'s grid, ``frame_b(x + w(x)) ≈ frame_a(x)``) and
``ŵ`` the flow the other way (on *b*'s grid). Sample the reverse flow where ``w`` points,
``w̃(x) = ŵ(x + w(x))``. A pixel of *a* is marked invalid (0) where

* forward and backward disagree (a disocclusion):
  ``|w + w̃|² > 0.01 (|w|² + |w̃|²) + 0.5``;
* it sits on a motion boundary (flow is unreliable there):
  ``|∇u|² + |∇v|² > 0.01 |w|² + 0.002`` with ``(u, v) = w``;
* ``x + w(x)`` falls outside frame *b* (nothing there to compare with).

Everything else is valid (1). The paper writes the same test with the roles named the other way
round (``ŵ`` warps, ``w`` is sampled); the maths is identical.
"""

from __future__ import annotations

import cv2
import numpy as np

from vstyle.temporal.warp import _sample_maps

#: Relative and absolute tolerance of the forward-backward test, as in the paper.
CONSISTENCY_REL, CONSISTENCY_ABS = 0.01, 0.5
#: Relative and absolute tolerance of the motion-boundary test, as in the paper.
BOUNDARY_REL, BOUNDARY_ABS = 0.01, 0.002


def _check_pair(flow: np.ndarray, reverse_flow: np.ndarray) -> None:
    for name, f in (("flow", flow), ("reverse_flow", reverse_flow)):
        if not isinstance(f, np.ndarray) or f.ndim != 3 or f.shape[2] != 2:
            got = f"shape {f.shape}" if isinstance(f, np.ndarray) else type(f).__name__
            raise ValueError(f"{name} must be an H×W×2 array of (dx, dy) in pixels. Got {got}")
    if flow.shape != reverse_flow.shape:
        raise ValueError(
            f"flow and reverse_flow must have the same shape. Got {flow.shape} and {reverse_flow.shape}"
        )


def consistency_mask(flow: np.ndarray, reverse_flow: np.ndarray) -> np.ndarray:
    """The forward-backward check alone (plus samples that leave the frame).

    Args:
        flow: ``w``, the flow on frame *a*'s grid used to warp frame *b* onto *a*.
        reverse_flow: ``ŵ``, the flow from *b* to *a* on frame *b*'s grid.

    Returns:
        float32 mask, 1 where ``w`` and ``ŵ`` agree and ``x + w(x)`` is inside the frame.

    Shape:
        - flow, reverse_flow: :math:`(H, W, 2)`.
        - output: :math:`(H, W)`.
    """
    _check_pair(flow, reverse_flow)
    w = flow.astype(np.float32, copy=False)
    height, width = w.shape[:2]
    map_x, map_y = _sample_maps(w)
    w_tilde = cv2.remap(
        reverse_flow.astype(np.float32, copy=False), map_x, map_y, cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )  # fmt: skip
    # Squared norms from split channels: NumPy's reduction over a trailing axis of 2 is several
    # times slower than the arithmetic itself, and this runs per frame in the stabilizer.
    agree = _norm_sq(w + w_tilde) <= (CONSISTENCY_REL * (_norm_sq(w) + _norm_sq(w_tilde)) + CONSISTENCY_ABS)
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return (agree & inside).astype(np.float32)


def _norm_sq(vectors: np.ndarray) -> np.ndarray:
    """``|v|²`` of an ``H×W×2`` float32 field, ``H×W``."""
    dx, dy = cv2.split(vectors)
    return dx * dx + dy * dy


def motion_boundary_mask(flow: np.ndarray) -> np.ndarray:
    """The motion-boundary check alone: 0 where the flow changes sharply.

    Gradients are central differences (one-sided at the border), as :func:`numpy.gradient`.

    Args:
        flow: ``w``, ``(dx, dy)`` in pixels.

    Returns:
        float32 mask, 0 on motion boundaries and 1 elsewhere.

    Shape:
        - flow: :math:`(H, W, 2)`.
        - output: :math:`(H, W)`.
    """
    _check_pair(flow, flow)
    w = flow.astype(np.float32)
    grad_sq = np.zeros(w.shape[:2], np.float32)
    for c in range(2):
        gy, gx = np.gradient(w[..., c])
        grad_sq += gx**2 + gy**2
    boundary = grad_sq > BOUNDARY_REL * np.sum(w**2, axis=2) + BOUNDARY_ABS
    return (~boundary).astype(np.float32)


def occlusion_mask(flow: np.ndarray, reverse_flow: np.ndarray) -> np.ndarray:
    """Ruder et al.'s mask of pixels a backward warp with ``flow`` can trust (1 = valid).

    The product of :func:`consistency_mask` and :func:`motion_boundary_mask`.

    Args:
        flow: ``w``, the flow on frame *a*'s grid with ``frame_b(x + w(x)) ≈ frame_a(x)``
            (e.g. ``estimate_flow(frame_a, frame_b)``).
        reverse_flow: ``ŵ``, the flow from *b* to *a* (``estimate_flow(frame_b, frame_a)``).

    Returns:
        float32 mask on frame *a*'s grid: 1 = valid, 0 = occluded, on a motion boundary, or
        warped from outside the frame.

    Shape:
        - flow, reverse_flow: :math:`(H, W, 2)`.
        - output: :math:`(H, W)`.

    Raises:
        ValueError: the flows are not ``H×W×2`` of the same size.
    """
    return consistency_mask(flow, reverse_flow) * motion_boundary_mask(flow)

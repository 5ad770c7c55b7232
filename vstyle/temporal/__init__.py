"""Time between frames: optical flow, warping, occlusion masks and the warping error.

Convention for every flow here: ``F[y, x] = (dx, dy)`` in pixels on frame *a*'s grid with
``frame_b(x + F(x)) ≈ frame_a(x)``; ``backward_warp(frame_b, F) ≈ frame_a``.

* :func:`estimate_flow` / :class:`DISFlow` — OpenCV DIS flow between two RGB frames.
* :func:`backward_warp`, :func:`in_frame_mask` (NumPy/OpenCV) and :func:`backward_warp_torch`,
  :func:`in_frame_mask_torch` (PyTorch, imported lazily).
* :func:`occlusion_mask` — Ruder et al. (2016) forward-backward and motion-boundary mask.
* :func:`read_flo` / :func:`write_flo` — Middlebury ``.flo`` files.
* :func:`warping_error` — Lai et al. (2018) temporal-stability metric, with the input's own error;
  :func:`warping_error_from_flow` the same with given flows (e.g. ground truth) instead of DIS.
"""

from __future__ import annotations

from vstyle.temporal.flo import read_flo, write_flo
from vstyle.temporal.flow import DISFlow, estimate_flow
from vstyle.temporal.occlusion import consistency_mask, motion_boundary_mask, occlusion_mask
from vstyle.temporal.warp import backward_warp, backward_warp_torch, in_frame_mask, in_frame_mask_torch
from vstyle.temporal.warping_error import WarpingError, warping_error, warping_error_from_flow

__all__ = [
    "DISFlow",
    "WarpingError",
    "backward_warp",
    "backward_warp_torch",
    "consistency_mask",
    "estimate_flow",
    "in_frame_mask",
    "in_frame_mask_torch",
    "motion_boundary_mask",
    "occlusion_mask",
    "read_flo",
    "warping_error",
    "warping_error_from_flow",
    "write_flo",
]

"""Backward warping of an image by a dense flow field, and the mask of samples that left the frame.

Convention (the one used throughout :mod:`vstyle.temporal`): given a flow ``F`` with
``F[y, x] = (dx, dy)`` in pixels,

    ``backward_warp(image, F)[y, x] = image(x + dx, y + dy)``

sampled bilinearly. So if ``F`` is the flow from frame *a* to frame *b* (``frame_b(x + F(x)) ≈
frame_a(x)``, what :func:`vstyle.temporal.flow.estimate_flow` returns), ``backward_warp(frame_b, F)``
is frame *b* brought into frame *a*'s pixel grid. Pixel centres are at integer coordinates; a sample
is in the frame when ``0 ≤ x + dx ≤ W − 1`` and ``0 ≤ y + dy ≤ H − 1`` (that is, PyTorch's
``align_corners=True``). Samples outside read zeros there; use :func:`in_frame_mask` to ignore them.

The NumPy functions use OpenCV; the ``*_torch`` twins use ``grid_sample`` (differentiable, for
training) and import PyTorch only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import torch


def _check_flow(flow: np.ndarray) -> np.ndarray:
    if not isinstance(flow, np.ndarray) or flow.ndim != 3 or flow.shape[2] != 2:
        got = f"shape {flow.shape}" if isinstance(flow, np.ndarray) else type(flow).__name__
        raise ValueError(f"flow must be an H×W×2 array of (dx, dy) in pixels. Got {got}")
    return flow


def _sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = flow.shape[:2]
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    return xs + flow[..., 0].astype(np.float32), ys + flow[..., 1].astype(np.float32)


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``x + flow(x)`` with bilinear interpolation.

    Args:
        image: the image to warp (uint8 or float; up to 4 channels).
        flow: ``flow[y, x] = (dx, dy)`` in pixels, on the output's pixel grid.

    Returns:
        The warped image, same dtype and channels as ``image``; samples outside the frame read 0.

    Shape:
        - image: :math:`(H, W)` or :math:`(H, W, C)`.
        - flow: :math:`(H, W, 2)`.
        - output: like ``image``.

    Raises:
        ValueError: the shapes do not match.
    """
    _check_flow(flow)
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.shape[:2] != flow.shape[:2]:
        got = f"shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be H×W or H×W×C with H×W = {flow.shape[:2]} (the flow's). Got {got}")
    map_x, map_y = _sample_maps(flow)
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped.reshape(image.shape)  # remap drops a trailing channel axis of size 1


def in_frame_mask(flow: np.ndarray) -> np.ndarray:
    """Where ``x + flow(x)`` lies inside the frame (1) or outside it (0).

    Args:
        flow: ``flow[y, x] = (dx, dy)`` in pixels.

    Returns:
        float32 mask, 1 where ``0 ≤ x + dx ≤ W − 1`` and ``0 ≤ y + dy ≤ H − 1``.

    Shape:
        - flow: :math:`(H, W, 2)`.
        - output: :math:`(H, W)`.
    """
    _check_flow(flow)
    height, width = flow.shape[:2]
    map_x, map_y = _sample_maps(flow)
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return inside.astype(np.float32)


def _sample_grid_torch(flow: torch.Tensor) -> torch.Tensor:
    import torch

    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(
            f"flow must be an N×2×H×W tensor of (dx, dy) in pixels. Got shape {tuple(flow.shape)}"
        )
    _, _, height, width = flow.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=flow.dtype, device=flow.device),
        torch.arange(width, dtype=flow.dtype, device=flow.device),
        indexing="ij",
    )
    return torch.stack((xs + flow[:, 0], ys + flow[:, 1]), dim=-1)  # N×H×W×2, in pixels


def backward_warp_torch(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Differentiable :func:`backward_warp` for batches of tensors (``grid_sample``, bilinear).

    Args:
        image: images to warp, float.
        flow: ``flow[n, :, y, x] = (dx, dy)`` in pixels, same dtype and device as ``image``.

    Returns:
        The warped images; samples outside the frame read 0.

    Shape:
        - image: :math:`(N, C, H, W)`.
        - flow: :math:`(N, 2, H, W)`.
        - output: :math:`(N, C, H, W)`.

    Raises:
        ValueError: the shapes do not match.
    """
    import torch.nn.functional as F

    same_size = image.shape[0] == flow.shape[0] and image.shape[2:] == flow.shape[2:]
    if image.ndim != 4 or flow.ndim != 4 or not same_size:
        raise ValueError(
            "image must be N×C×H×W and flow N×2×H×W with the same N, H, W. "
            f"Got image {tuple(image.shape)}, flow {tuple(flow.shape)}"
        )
    height, width = image.shape[2:]
    grid = _sample_grid_torch(flow)
    # align_corners=True maps -1 and +1 to the centres of the first and last pixels, matching the
    # integer-centre convention of the OpenCV version.
    scale = grid.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    return F.grid_sample(image, grid * scale - 1.0, mode="bilinear", padding_mode="zeros", align_corners=True)


def in_frame_mask_torch(flow: torch.Tensor) -> torch.Tensor:
    """:func:`in_frame_mask` for a batch of flow tensors.

    Shape:
        - flow: :math:`(N, 2, H, W)`.
        - output: :math:`(N, 1, H, W)`, same dtype as ``flow``.
    """
    height, width = flow.shape[2:]
    grid = _sample_grid_torch(flow)
    x, y = grid[..., 0], grid[..., 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return inside.unsqueeze(1).to(flow.dtype)

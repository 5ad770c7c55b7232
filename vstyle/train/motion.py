"""Synthetic motion: a still photo moved by a known flow gives a frame pair with exact flow and mask.

For a batch of crops ``b`` a random flow ``F`` is drawn (a global affine motion — small rotation,
zoom and shift — plus a smooth local deformation) and the first frame is ``a(x) = b(x + F(x))``,
i.e. ``a = backward_warp(b, F)``. That is vstyle's flow convention (see
:mod:`vstyle.temporal.flow`), so a temporal loss can compare ``S(a)`` with ``warp(S(b), F)``
exactly. The only occlusion is content that enters from outside the frame; :func:`synthetic_pairs`
returns it as the mask (1 where ``x + F(x)`` lies inside ``b``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vstyle.errors import ConfigError
from vstyle.temporal.warp import backward_warp_torch, in_frame_mask_torch


@dataclass(frozen=True)
class MotionConfig:
    """How far the synthetic camera and scene move between the two frames.

    Attributes:
        max_shift: largest global shift, pixels.
        max_rotate: largest rotation, degrees.
        max_zoom: largest relative zoom (0.03 is ±3 %).
        local: amplitude of the smooth local deformation, pixels.
        local_cells: the deformation is random on a ``local_cells²`` grid, bicubically upsampled.
        noise: std of Gaussian noise added to the moved frame (0–255 scale): sensor noise the
            network must not amplify into flicker.
        brightness: largest global brightness change of the moved frame (0.05 is ±5 %).
    """

    max_shift: float = 6.0
    max_rotate: float = 2.0
    max_zoom: float = 0.03
    local: float = 1.5
    local_cells: int = 4
    noise: float = 2.0
    brightness: float = 0.04

    def __post_init__(self) -> None:
        for name in ("max_shift", "max_rotate", "max_zoom", "local", "noise", "brightness"):
            if getattr(self, name) < 0:
                raise ConfigError(f"motion {name} must be >= 0, got {getattr(self, name)}")
        if self.local_cells < 2:
            raise ConfigError(f"motion local_cells must be >= 2, got {self.local_cells}")


def random_flow(
    n: int, height: int, width: int, config: MotionConfig, generator: torch.Generator
) -> torch.Tensor:
    """Random smooth flow fields: affine motion about the centre plus a bicubic local deformation.

    Shape:
        - output: :math:`(n, 2, height, width)` float32, ``(dx, dy)`` in pixels.
    """

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator) * 2.0 - 1.0

    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32) - (height - 1) / 2,
        torch.arange(width, dtype=torch.float32) - (width - 1) / 2,
        indexing="ij",
    )
    angle = uniform(n) * math.radians(config.max_rotate)
    zoom = 1.0 + uniform(n) * config.max_zoom
    shift = uniform(n, 2) * config.max_shift
    cos, sin = (torch.cos(angle) * zoom).view(n, 1, 1), (torch.sin(angle) * zoom).view(n, 1, 1)
    dx = cos * xs - sin * ys - xs + shift[:, 0].view(n, 1, 1)
    dy = sin * xs + cos * ys - ys + shift[:, 1].view(n, 1, 1)
    flow = torch.stack((dx, dy), dim=1)
    if config.local > 0:
        cells = uniform(n, 2, config.local_cells, config.local_cells) * config.local
        flow = flow + F.interpolate(cells, size=(height, width), mode="bicubic", align_corners=True)
    return flow


def synthetic_pairs(
    frames: torch.Tensor,
    config: MotionConfig,
    generator: torch.Generator,
    *,
    margin: int = 0,
    extra: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
    """Make a frame pair from each of ``frames`` by a random known motion.

    With ``margin > 0`` the motion is applied to the whole of ``frames`` and both frames are then
    cropped by ``margin`` on every side, so content that moves into view is real picture rather
    than a black border; the mask still marks it, as it is not visible in ``b``.

    Args:
        frames: the pictures, RGB float 0–255.
        config: the motion range.
        generator: the seeded source of randomness.
        margin: pixels cropped from every side after the motion.
        extra: images moved by the same motion without noise or brightness change (a teacher's
            output for ``frames``, so the distillation target of ``a`` is consistent by construction).

    Returns:
        ``(a, b, flow, mask)``: the earlier frames (with noise and brightness change applied, clamped
        to 0–255), the later frames, the exact flow with ``a ≈ warp(b, flow)`` inside the mask, and
        the mask (1 where ``x + flow(x)`` lies inside ``b``), and ``(extra_a, extra_b)`` or None.

    Shape:
        - frames: :math:`(N, 3, H, W)`.
        - a, b: :math:`(N, 3, H - 2m, W - 2m)`; flow: :math:`(N, 2, H - 2m, W - 2m)`;
          mask: :math:`(N, 1, H - 2m, W - 2m)`.
    """
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must be N×3×H×W. Got {tuple(frames.shape)}")
    n, _, h, w = frames.shape
    if margin < 0 or 2 * margin >= min(h, w):
        raise ValueError(f"margin must be >= 0 and leave a picture of {h}×{w}. Got {margin}")
    flow = random_flow(n, h, w, config, generator).to(frames.dtype)
    a = backward_warp_torch(frames, flow)
    b = frames
    moved = None if extra is None else (backward_warp_torch(extra, flow), extra)
    if margin:
        crop = (slice(None), slice(None), slice(margin, h - margin), slice(margin, w - margin))
        a, b, flow = a[crop], b[crop], flow[crop]
        moved = None if moved is None else (moved[0][crop], moved[1][crop])
    mask = in_frame_mask_torch(flow)
    if config.brightness > 0:
        gain = 1.0 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * config.brightness
        a = a * gain.to(frames.dtype)
    if config.noise > 0:
        a = a + torch.randn(a.shape, generator=generator).to(frames.dtype) * config.noise
    return a.clamp(0.0, 255.0), b, flow, mask, moved

"""Dense optical flow between two RGB frames with OpenCV's DIS (Kroeger et al. 2016).

Convention: ``estimate_flow(frame_a, frame_b)`` returns ``F`` with ``F[y, x] = (dx, dy)`` in pixels
such that

    ``frame_b(x + dx, y + dy) ≈ frame_a(x, y)``

— the forward flow from *a* to *b*, defined on *a*'s pixel grid (the same as Middlebury's
``flow10.flo``: frame10 → frame11). It is the flow that *backward-warps* *b* onto *a*:
``backward_warp(frame_b, F) ≈ frame_a`` (see :mod:`vstyle.temporal.warp`). This is what a warping
error between consecutive frames needs.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vstyle.errors import ConfigError
from vstyle.frames import check_image

Preset = Literal["ultrafast", "fast", "medium"]
#: OpenCV DIS presets by name.
PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class DISFlow:
    """A reusable DIS flow estimator (one OpenCV object; not thread-safe, use one per thread).

    Args:
        preset: OpenCV's speed/quality preset, ``"ultrafast"``, ``"fast"`` or ``"medium"``.

    Raises:
        ConfigError: an unknown preset.
    """

    def __init__(self, preset: Preset = "medium") -> None:
        if preset not in PRESETS:
            raise ConfigError(f"DIS preset must be one of {', '.join(PRESETS)}. Got {preset!r}")
        self.preset = preset
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        """Flow from ``frame_a`` to ``frame_b`` (see the module docstring for the convention).

        Args:
            frame_a: the reference frame, RGB uint8.
            frame_b: the frame to match, RGB uint8, same size.

        Returns:
            float32 flow, ``flow[y, x] = (dx, dy)`` in pixels, with ``frame_b(x + flow(x)) ≈ frame_a(x)``.

        Shape:
            - frame_a, frame_b: :math:`(H, W, 3)`.
            - output: :math:`(H, W, 2)`.

        Raises:
            ValueError: a frame is not ``H×W×3 uint8`` or the sizes differ.
        """
        check_image(frame_a, "frame_a")
        check_image(frame_b, "frame_b")
        if frame_a.shape != frame_b.shape:
            raise ValueError(f"frames must have the same size. Got {frame_a.shape} and {frame_b.shape}")
        gray_a = cv2.cvtColor(frame_a, cv2.COLOR_RGB2GRAY)
        gray_b = cv2.cvtColor(frame_b, cv2.COLOR_RGB2GRAY)
        # OpenCV's calc(I0, I1) returns w with I0(x) ≈ I1(x + w(x)): exactly our convention.
        flow = self._dis.calc(gray_a, gray_b, None)
        return np.ascontiguousarray(flow, dtype=np.float32)


def estimate_flow(frame_a: np.ndarray, frame_b: np.ndarray, preset: Preset = "medium") -> np.ndarray:
    """One-off :class:`DISFlow`: the flow ``F`` with ``frame_b(x + F(x)) ≈ frame_a(x)``.

    Shape:
        - frame_a, frame_b: :math:`(H, W, 3)` uint8 RGB.
        - output: :math:`(H, W, 2)` float32, ``(dx, dy)`` in pixels.
    """
    return DISFlow(preset)(frame_a, frame_b)

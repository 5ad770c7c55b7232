"""An inference-time stabilizer: flow-guided, occlusion-aware blending with the previous output.

The trained networks are stable on their own (the temporal loss); this is an optional extra for the
CPU path, in the spirit of the blind video-consistency post-processing of Lai et al. (2018) but
without a learned network: each stylized frame is blended with the previous *output* warped along
the optical flow of the *input* frames,

    ``out_t = styled_t + w · (warp(out_{t-1}, F_{t→t-1}) − styled_t)``,

with a per-pixel weight ``w = strength · exp(−(e / sigma)²) · c`` where ``e`` is the photometric
error of the warped previous input against the current input and ``c`` Ruder et al.'s
forward–backward flow consistency. Where the flow is right (the scene just
moved), ``e`` is small and the output follows the previous one; where it is wrong, something was
uncovered, or the scene cut, ``e`` is large and the fresh stylized frame shows through, so nothing
ghosts. Flow comes from OpenCV's DIS on small grey frames, so the cost is about 8 ms per
frame at 640×360 on one core (two DIS calls, two remaps, one blend; benchmarks/RESULTS.md).

Frames must come in order; one instance per stream (it keeps the previous frame). In live mode a
dropped frame only makes the motion between the kept frames larger.
"""

from __future__ import annotations

import cv2
import numpy as np

from vstyle.errors import ConfigError
from vstyle.frames import check_image
from vstyle.temporal.flow import PRESETS, Preset
from vstyle.temporal.occlusion import consistency_mask


class Stabilizer:
    """Blends each stylized frame with the flow-warped previous output where the flow is trusted.

    Args:
        strength: the most weight the previous output gets, in ``[0, 1)``; 0 turns blending off.
            Higher is steadier but lags more on motion the flow misses.
        sigma: photometric error (0–255 grey levels) at which the weight falls to ``1/e`` of
            ``strength``; below the noise of real video (a few levels) every pixel blends.
        flow_height: height of the grey frames the flow is computed on (smaller is faster).
        preset: DIS preset, ``"ultrafast"`` (default), ``"fast"`` or ``"medium"``.

    Raises:
        ConfigError: a setting out of range.
    """

    def __init__(
        self,
        strength: float = 0.6,
        *,
        sigma: float = 10.0,
        flow_height: int = 180,
        preset: Preset = "ultrafast",
    ) -> None:
        if not 0.0 <= strength < 1.0:
            raise ConfigError(f"stabilizer strength must be in [0, 1), got {strength}")
        if sigma <= 0:
            raise ConfigError(f"stabilizer sigma must be > 0, got {sigma}")
        if flow_height < 16:
            raise ConfigError(f"stabilizer flow height must be at least 16 px, got {flow_height}")
        if preset not in PRESETS:
            raise ConfigError(f"DIS preset must be one of {', '.join(PRESETS)}. Got {preset!r}")
        self.strength = float(strength)
        self.sigma = float(sigma)
        self.flow_height = int(flow_height)
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])
        self._prev_grey: np.ndarray | None = None
        self._prev_out: np.ndarray | None = None
        self._grids: dict[tuple[int, int], np.ndarray] = {}
        #: mean blending weight of the last frame (0 on the first frame or after a reset).
        self.last_weight = 0.0

    def _grid(self, height: int, width: int) -> np.ndarray:
        """The pixel coordinates ``(x, y)`` of an ``height × width`` frame, float32, cached."""
        grid = self._grids.get((height, width))
        if grid is None:
            ys, xs = np.mgrid[:height, :width].astype(np.float32)
            grid = self._grids[(height, width)] = np.dstack([xs, ys])
        return grid

    def reset(self) -> None:
        """Forget the previous frame (a new stream or a seek)."""
        self._prev_grey = None
        self._prev_out = None
        self.last_weight = 0.0

    def _grey(self, source: np.ndarray, width: int, height: int) -> np.ndarray:
        small_h = min(self.flow_height, height)
        small_w = max(1, round(width * small_h / height))
        grey = cv2.cvtColor(source, cv2.COLOR_RGB2GRAY)
        if grey.shape != (small_h, small_w):
            grey = cv2.resize(grey, (small_w, small_h), interpolation=cv2.INTER_AREA)
        return grey

    def __call__(self, source: np.ndarray, styled: np.ndarray) -> np.ndarray:
        """The stabilized version of ``styled``.

        Args:
            source: the input frame the network stylized (any size; only its motion is used).
            styled: the network's output for it.

        Returns:
            uint8 RGB, the size of ``styled``.

        Shape:
            - source: :math:`(H_s, W_s, 3)` uint8, the same aspect ratio as ``styled``.
            - styled, output: :math:`(H, W, 3)` uint8.
        """
        check_image(source, "source frame")
        check_image(styled, "stylized frame")
        height, width = styled.shape[:2]
        grey = self._grey(source, width, height)
        prev_grey, prev_out = self._prev_grey, self._prev_out
        self._prev_grey = grey
        fresh = (
            prev_grey is None
            or prev_out is None
            or prev_grey.shape != grey.shape
            or prev_out.shape != styled.shape
        )
        if self.strength == 0.0 or fresh:
            self._prev_out = styled
            self.last_weight = 0.0
            return styled
        small_h, small_w = grey.shape
        # DIS calc(I0, I1) gives F with I1(x + F(x)) ≈ I0(x): here the previous frame seen from this one.
        flow = self._dis.calc(grey, prev_grey, None)
        reverse = self._dis.calc(prev_grey, grey, None)
        warped_grey = cv2.remap(
            prev_grey, cv2.add(flow, self._grid(small_h, small_w)), None, cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        error = cv2.absdiff(warped_grey, grey).astype(np.float32)
        # Ruder et al.'s forward-backward check (also 0 outside the frame): a flow that merely
        # finds similar grey levels (a scene cut into similar texture) does not agree with itself.
        trusted = consistency_mask(flow, reverse)
        weight = (self.strength * np.exp(-np.square(error / self.sigma)) * trusted).astype(np.float32)
        if (small_h, small_w) != (height, width):
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= width / small_w
            flow[..., 1] *= height / small_h
            weight = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
        # Full-size work stays in OpenCV's vectorised kernels (one remap, one weighted blend):
        # numpy temporaries of H×W×3 floats cost more than the flow itself at 640×360 and above.
        warped = cv2.remap(
            prev_out, cv2.add(flow, self._grid(height, width)), None, cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        out = cv2.blendLinear(warped, np.ascontiguousarray(styled), weight, np.float32(1.0) - weight)
        self._prev_out = out
        self.last_weight = float(weight.mean())
        return out

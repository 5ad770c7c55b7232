"""Temporal stability of a stylized video: the warping error of Lai et al. (2018).

"Learning Blind Video Temporal Consistency" (Lai et al., ECCV 2018), section 5.1. For consecutive
frames ``t, t+1``, flow is computed on the *input* video, ``F = estimate_flow(I_t, I_{t+1})``, and
the output frame ``t+1`` is backward-warped onto frame ``t``. With images in ``[0, 1]`` and ``M_t``
the non-occlusion mask (:func:`vstyle.temporal.occlusion.occlusion_mask` of ``F`` and the reverse
flow),

    ``E_t = Σ_x M_t(x) ‖O_t(x) − warp(O_{t+1}, F)(x)‖² / Σ_x M_t(x)``

(the squared norm sums the three colour channels) and ``E = mean_t E_t``. The same number for the
input video itself (``O = I``) is the floor that flow errors and lighting leave; the ratio
output/input says how much flicker the stylization adds.

Where the true flow is known (Middlebury's ``flow10.flo``, synthetic motion),
:func:`warping_error_from_flow` uses it instead of DIS; its mask is the flow's own validity (unknown
pixels) times the in-frame mask, since a ground-truth file comes without the reverse flow that the
occlusion test needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vstyle.frames import check_image
from vstyle.temporal.flow import DISFlow, Preset
from vstyle.temporal.occlusion import occlusion_mask
from vstyle.temporal.warp import backward_warp, in_frame_mask


@dataclass(frozen=True)
class WarpingError:
    """Warping errors of an output video and of the input it came from.

    Attributes:
        output_per_pair: ``E_t`` of the output for each consecutive pair ``(t, t+1)``.
        input_per_pair: ``E_t`` of the input video itself, same pairs and masks.
        valid_fraction: fraction of pixels the mask kept, per pair.
    """

    output_per_pair: tuple[float, ...]
    input_per_pair: tuple[float, ...]
    valid_fraction: tuple[float, ...]

    @property
    def output(self) -> float:
        """Mean warping error of the output video."""
        return float(np.mean(self.output_per_pair))

    @property
    def input(self) -> float:
        """Mean warping error of the input video (the floor)."""
        return float(np.mean(self.input_per_pair))

    @property
    def ratio(self) -> float:
        """``output / input``: 1 adds no flicker; ``inf`` if only the input is 0, ``nan`` if both are."""
        if self.input == 0.0:
            return float("nan") if self.output == 0.0 else float("inf")
        return self.output / self.input


def _pair_error(a: np.ndarray, b: np.ndarray, flow: np.ndarray, mask: np.ndarray, total: float) -> float:
    warped = backward_warp(b, flow).astype(np.float32) / 255.0
    diff = np.sum((a.astype(np.float32) / 255.0 - warped) ** 2, axis=2)
    return float(np.sum(mask * diff) / total) if total > 0 else 0.0


def _check_frames(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> tuple[int, ...]:
    if len(inputs) != len(outputs):
        raise ValueError(
            f"need one output frame per input frame. Got {len(inputs)} inputs and {len(outputs)} outputs"
        )
    if len(inputs) < 2:
        raise ValueError(f"the warping error needs at least two frames. Got {len(inputs)}")
    shape = check_image(inputs[0], "input frame 0").shape
    for i, (x, y) in enumerate(zip(inputs, outputs)):
        for what, img in ((f"input frame {i}", x), (f"output frame {i}", y)):
            if check_image(img, what).shape != shape:
                raise ValueError(f"all frames must be {shape[1]}×{shape[0]}. Got {what} of shape {img.shape}")
    return shape


def warping_error(
    inputs: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    preset: Preset = "medium",
) -> WarpingError:
    """Warping error of ``outputs`` (frame by frame results of ``inputs``), and of ``inputs`` itself.

    Args:
        inputs: the input video's frames, RGB uint8, in order.
        outputs: the output frames, RGB uint8, one per input frame and of the same size.
        preset: the DIS preset used for the flow (see :class:`vstyle.temporal.flow.DISFlow`).

    Returns:
        A :class:`WarpingError` with per-pair values, means and the output/input ratio.
        A pair whose mask keeps no pixel counts as 0.

    Shape:
        - each frame: :math:`(H, W, 3)` uint8.

    Raises:
        ValueError: fewer than two frames, different counts, or frames of different sizes.
    """
    _check_frames(inputs, outputs)
    dis = DISFlow(preset)
    out_e, in_e, kept = [], [], []
    for t in range(len(inputs) - 1):
        forward = dis(inputs[t], inputs[t + 1])
        backward = dis(inputs[t + 1], inputs[t])
        mask = occlusion_mask(forward, backward)
        total = float(mask.sum())
        out_e.append(_pair_error(outputs[t], outputs[t + 1], forward, mask, total))
        in_e.append(_pair_error(inputs[t], inputs[t + 1], forward, mask, total))
        kept.append(total / mask.size)
    return WarpingError(tuple(out_e), tuple(in_e), tuple(kept))


def warping_error_from_flow(
    inputs: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    flows: Sequence[np.ndarray],
    valid: Sequence[np.ndarray | None] | None = None,
) -> WarpingError:
    """Warping error with given (e.g. ground-truth) flows instead of DIS estimates.

    For each pair ``(t, t+1)`` the mask is ``valid[t]`` (1 where the flow is known, as
    :func:`vstyle.temporal.flo.read_flo` returns it) times the in-frame mask of ``flows[t]``; there is
    no forward-backward occlusion test, since a ground-truth file carries no reverse flow.

    Args:
        inputs: the input video's frames, RGB uint8, in order.
        outputs: the output frames, RGB uint8, one per input frame and of the same size.
        flows: ``flows[t]`` is the flow from frame ``t`` to ``t+1`` on frame ``t``'s grid
            (``I_{t+1}(x + F(x)) ≈ I_t(x)``, the convention of :mod:`vstyle.temporal.flow`).
        valid: optional per-pair validity masks (1 = flow known); ``None`` (or a ``None`` entry)
            trusts every pixel of that flow.

    Returns:
        A :class:`WarpingError`; a pair whose mask keeps no pixel counts as 0.

    Shape:
        - each frame: :math:`(H, W, 3)` uint8.
        - each flow: :math:`(H, W, 2)` float, ``(dx, dy)`` in pixels.
        - each mask: :math:`(H, W)`.

    Raises:
        ValueError: fewer than two frames, counts that do not match (``T`` frames need ``T − 1``
            flows and masks), or sizes that differ.
    """
    shape = _check_frames(inputs, outputs)
    pairs = len(inputs) - 1
    masks = [None] * pairs if valid is None else list(valid)
    if len(flows) != pairs or len(masks) != pairs:
        raise ValueError(
            f"{len(inputs)} frames need {pairs} flows and masks (one per consecutive pair). "
            f"Got {len(flows)} flows and {len(masks)} masks"
        )
    out_e, in_e, kept = [], [], []
    for t in range(pairs):
        flow = flows[t]
        if not isinstance(flow, np.ndarray) or flow.shape != (*shape[:2], 2):
            got = f"shape {flow.shape}" if isinstance(flow, np.ndarray) else type(flow).__name__
            raise ValueError(f"flow {t} must be {shape[0]}×{shape[1]}×2 like the frames. Got {got}")
        mask = in_frame_mask(flow)
        if masks[t] is not None:
            m = np.asarray(masks[t])
            if m.shape != shape[:2]:
                raise ValueError(
                    f"mask {t} must be {shape[0]}×{shape[1]} like the frames. Got shape {m.shape}"
                )
            mask = mask * (m > 0).astype(np.float32)
        total = float(mask.sum())
        out_e.append(_pair_error(outputs[t], outputs[t + 1], flow, mask, total))
        in_e.append(_pair_error(inputs[t], inputs[t + 1], flow, mask, total))
        kept.append(total / mask.size)
    return WarpingError(tuple(out_e), tuple(in_e), tuple(kept))

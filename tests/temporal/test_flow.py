"""DIS optical flow: direction convention, a synthetic shift, and accuracy on Middlebury."""

from __future__ import annotations

import numpy as np
import pytest
from temporal_frames import read_rgb, textured

from vstyle.errors import ConfigError
from vstyle.temporal.flo import read_flo
from vstyle.temporal.flow import DISFlow, estimate_flow
from vstyle.temporal.warp import backward_warp

DX, DY = 3, 2  # frame_b(x + DX, y + DY) = frame_a(x, y)
#: Measured mean end-point error of the "medium" preset over the 8 Middlebury "other" sequences
#: with ground truth: 0.61 px (worst sequence Urban3, 2.01 px). The bounds leave some room.
MEAN_EPE_BOUND, WORST_EPE_BOUND = 1.0, 3.0


@pytest.mark.parametrize("preset", ["ultrafast", "fast", "medium"])
def test_recovers_a_whole_pixel_shift(preset: str) -> None:
    a = textured(120, 160)
    b = np.roll(a, (DY, DX), axis=(0, 1))
    flow = estimate_flow(a, b, preset)
    assert flow.shape == (120, 160, 2) and flow.dtype == np.float32
    interior = flow[16:-16, 16:-16].reshape(-1, 2)
    err = np.linalg.norm(interior - [DX, DY], axis=1)
    assert np.median(err) < 0.25, f"median error {np.median(err):.3f} px"


def test_flow_backward_warps_b_onto_a() -> None:
    a = textured(96, 128, seed=3)
    b = np.roll(a, (DY, DX), axis=(0, 1))
    flow = DISFlow()(a, b)
    warped = backward_warp(b, flow).astype(np.float32)
    inner = (slice(16, -16), slice(16, -16))
    unwarped = np.abs(b[inner].astype(np.float32) - a[inner]).mean()
    assert np.abs(warped[inner] - a[inner]).mean() < 0.25 * unwarped


def test_rejects_bad_frames_and_presets() -> None:
    a = textured(32, 32)
    with pytest.raises(ValueError, match="uint8 RGB"):
        estimate_flow(a.astype(np.float32), a)
    with pytest.raises(ValueError, match="same size"):
        estimate_flow(a, a[:16])
    with pytest.raises(ConfigError, match="preset"):
        DISFlow("slow")  # type: ignore[arg-type]


def test_end_point_error_on_middlebury(middlebury) -> None:
    dis = DISFlow("medium")
    epes = {}
    for seq, f10, f11, flo in middlebury:
        gt, valid = read_flo(flo)
        flow = dis(read_rgb(f10), read_rgb(f11))
        epes[seq] = float(np.linalg.norm(flow - gt, axis=2)[valid > 0].mean())
    report = ", ".join(f"{s} {e:.2f}" for s, e in epes.items())
    print(f"DIS medium EPE on Middlebury other: mean {np.mean(list(epes.values())):.3f} px ({report})")
    assert np.mean(list(epes.values())) < MEAN_EPE_BOUND, report
    assert max(epes.values()) < WORST_EPE_BOUND, report

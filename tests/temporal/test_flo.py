"""Middlebury .flo files: round trip, unknown values, and clear errors for damaged files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vstyle.errors import DataError, VStyleError
from vstyle.temporal.flo import read_flo, write_flo


def _flow(height: int = 5, width: int = 7) -> np.ndarray:
    return np.random.default_rng(0).normal(0, 10, (height, width, 2)).astype(np.float32)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    flow = _flow()
    flow_read, valid = read_flo(write_flo(tmp_path / "f.flo", flow))
    np.testing.assert_array_equal(flow_read, flow)
    np.testing.assert_array_equal(valid, np.ones((5, 7), np.float32))
    assert flow_read.dtype == np.float32 and valid.dtype == np.float32


def test_file_layout_matches_the_format(tmp_path: Path) -> None:
    raw = write_flo(tmp_path / "f.flo", _flow(3, 4)).read_bytes()
    assert raw[:4] == b"PIEH"
    assert np.frombuffer(raw, "<i4", count=2, offset=4).tolist() == [4, 3]  # width, then height
    assert len(raw) == 12 + 3 * 4 * 2 * 4


def test_unknown_values_are_masked(tmp_path: Path) -> None:
    flow = _flow()
    valid = np.ones((5, 7), np.float32)
    valid[1, 2] = valid[4, 6] = 0
    flow_read, valid_read = read_flo(write_flo(tmp_path / "f.flo", flow, valid))
    np.testing.assert_array_equal(valid_read, valid)
    assert (flow_read[valid == 0] == 0).all()
    np.testing.assert_array_equal(flow_read[valid == 1], flow[valid == 1])


def test_unknown_in_one_component_masks_the_pixel(tmp_path: Path) -> None:
    flow = _flow()
    flow[2, 3, 1] = 1e10
    _, valid = read_flo(write_flo(tmp_path / "f.flo", flow))
    assert valid[2, 3] == 0 and valid.sum() == 5 * 7 - 1


def test_bad_magic_raises_helpful_error(tmp_path: Path) -> None:
    path = tmp_path / "not.flo"
    path.write_bytes(b"\x89PNG" + bytes(100))
    with pytest.raises(DataError, match=r"expected the float32 magic 202021\.25.*found") as info:
        read_flo(path)
    assert isinstance(info.value, ValueError) and isinstance(info.value, VStyleError)
    assert "not.flo" in str(info.value)


def test_truncated_file_raises(tmp_path: Path) -> None:
    path = write_flo(tmp_path / "f.flo", _flow())
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataError, match="needs .* bytes, found"):
        read_flo(path)


def test_short_header_raises(tmp_path: Path) -> None:
    path = tmp_path / "f.flo"
    path.write_bytes(b"PIEH")
    with pytest.raises(DataError, match="12-byte header"):
        read_flo(path)


def test_write_rejects_wrong_shape(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="H×W×2"):
        write_flo(tmp_path / "f.flo", np.zeros((4, 4, 3), np.float32))


def test_reads_every_middlebury_ground_truth(middlebury) -> None:
    for seq, f10, _, flo in middlebury:
        flow, valid = read_flo(flo)
        assert flow.ndim == 3 and flow.shape[2] == 2, seq
        assert 0.5 < valid.mean() <= 1.0, f"{seq}: only {valid.mean():.0%} of the flow is known"
        assert np.abs(flow).max() < 1e3, seq

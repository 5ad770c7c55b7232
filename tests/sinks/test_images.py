"""ImageSequenceSink: numbered images, staged writes, refusal of an existing sequence."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from media import pattern

from vstyle.capture.base import SourceInfo
from vstyle.errors import SinkError
from vstyle.frames import Frame
from vstyle.sinks import ImageSequenceSink

INFO = SourceInfo(width=64, height=48)


def read_rgb(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]


def write(target: str | Path, indices: list[int], **options: object) -> ImageSequenceSink:
    with ImageSequenceSink(target, **options) as sink:
        sink.open(INFO)
        for index in indices:
            sink.write(Frame(pattern(index), index))
    return sink


def test_png_round_trip_in_a_folder_is_lossless_and_named_by_index(tmp_path: Path) -> None:
    sink = write(f"{tmp_path}/frames/", [0, 1, 2, 7])
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["000000.png", "000001.png", "000002.png", "000007.png"]
    assert sink.frames_written == 4
    for index in (0, 1, 2, 7):
        np.testing.assert_array_equal(read_rgb(tmp_path / "frames" / f"{index:06d}.png"), pattern(index))


def test_a_pattern_picks_names_and_jpeg_by_extension(tmp_path: Path) -> None:
    write(tmp_path / "shot_%04d.jpg", [3, 4])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot_0003.jpg", "shot_0004.jpg"]
    assert (tmp_path / "shot_0003.jpg").read_bytes()[:2] == b"\xff\xd8"  # a JPEG, not a PNG
    assert np.abs(read_rgb(tmp_path / "shot_0003.jpg").astype(int) - pattern(3).astype(int)).mean() < 12


def test_an_existing_sequence_is_refused_without_overwrite(tmp_path: Path) -> None:
    write(f"{tmp_path}/", [0, 1])
    with pytest.raises(SinkError, match=r"already holds 2 image\(s\).*pass --overwrite"):
        ImageSequenceSink(f"{tmp_path}/").open(INFO)


def test_other_files_in_the_folder_are_not_a_conflict(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    (tmp_path / "00001.png").write_bytes(b"")  # five digits: not this pattern's names
    write(f"{tmp_path}/", [0])
    assert (tmp_path / "notes.txt").read_text() == "keep" and (tmp_path / "00001.png").exists()


def test_overwrite_leaves_exactly_the_new_sequence(tmp_path: Path) -> None:
    write(f"{tmp_path}/", [0, 1, 2, 3])
    write(f"{tmp_path}/", [0, 1], overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000.png", "000001.png"]


def test_abort_removes_what_this_run_wrote_and_the_folder_it_made(tmp_path: Path) -> None:
    (tmp_path / "keep.png").write_bytes(b"x")
    with pytest.raises(RuntimeError), ImageSequenceSink(tmp_path / "new" / "deeper" / "%03d.png") as sink:
        sink.open(INFO)
        sink.write(Frame(pattern(0), 0))
        assert (tmp_path / "new" / "deeper" / "000.png").exists()
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    write(f"{tmp_path}/", list(range(5)))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_repeated_index_is_refused(tmp_path: Path) -> None:
    with ImageSequenceSink(f"{tmp_path}/") as sink:
        sink.open(INFO)
        sink.write(Frame(pattern(0), 5))
        with pytest.raises(SinkError, match="frame index 5 came twice"):
            sink.write(Frame(pattern(1), 5))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("out/frame.png", "exactly one frame-number field"),
        ("out/%d_%d.png", "exactly one frame-number field"),
        ("out/%06d.gifx", "must end in one of"),
        ("out%d/%06d.png", "in the file name, not the folder"),
    ],
)
def test_bad_patterns_are_refused_when_built(tmp_path: Path, target: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImageSequenceSink(tmp_path / target)

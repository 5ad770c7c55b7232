"""ImageSequenceSource: natural order, RGB, one size, clear errors naming the file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from vstyle.capture import ImageSequenceSource
from vstyle.capture.images import natural_key
from vstyle.errors import ConfigError, SourceError


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def numbered_folder(
    folder: Path, numbers: list[int], suffix: str = ".png", size: tuple[int, int] = (40, 30)
) -> None:
    """``frame{n}{suffix}`` whose red channel is ``n`` (so content tells the order)."""
    folder.mkdir(exist_ok=True)
    width, height = size
    for n in numbers:
        image = np.zeros((height, width, 3), np.uint8)
        image[..., 0] = n
        image[..., 2] = 200
        write_rgb(folder / f"frame{n}{suffix}", image)


def red_values(source: ImageSequenceSource) -> list[int]:
    return [int(frame.image[0, 0, 0]) for frame in source]


def test_folder_is_read_in_natural_order_as_rgb(tmp_path: Path) -> None:
    numbered_folder(tmp_path / "seq", [10, 2, 1, 100, 20])
    (tmp_path / "seq" / "notes.txt").write_text("not an image, not listed")
    with ImageSequenceSource(tmp_path / "seq", fps=25) as source:
        info = source.info
        frames = list(source)
    assert [int(f.image[0, 0, 0]) for f in frames] == [1, 2, 10, 20, 100]
    assert all(int(f.image[0, 0, 2]) == 200 and int(f.image[0, 0, 1]) == 0 for f in frames)  # RGB order
    assert (info.width, info.height, info.frame_count, info.fps) == (40, 30, 5, 25)
    assert [f.pts for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.time_base == Fraction(1, 25) for f in frames)
    assert frames[3].time == pytest.approx(3 / 25)


def test_glob_picks_only_matching_files(tmp_path: Path) -> None:
    numbered_folder(tmp_path, [3, 1, 2], suffix=".png")
    numbered_folder(tmp_path, [9], suffix=".jpg")
    with ImageSequenceSource(str(tmp_path / "frame*.png")) as source:
        assert red_values(source) == [1, 2, 3]


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["img10.png", "img2.png", "IMG1.png", "img2b.png", "img1_10.png", "img1_9.png"]
    assert sorted(names, key=natural_key) == [
        "IMG1.png",
        "img1_9.png",
        "img1_10.png",
        "img2.png",
        "img2b.png",
        "img10.png",
    ]


def test_gray_and_alpha_images_become_three_channel_rgb(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a1.png"), np.full((8, 8), 77, np.uint8))
    cv2.imwrite(str(tmp_path / "a2.png"), np.full((8, 8, 4), (10, 20, 30, 128), np.uint8))  # BGRA
    with ImageSequenceSource(tmp_path) as source:
        gray, alpha = (f.image for f in source)
    assert gray.shape == alpha.shape == (8, 8, 3) and gray.dtype == np.uint8
    assert gray[0, 0].tolist() == [77, 77, 77]
    assert alpha[0, 0].tolist() == [30, 20, 10]


def test_image_of_another_size_is_named(tmp_path: Path) -> None:
    numbered_folder(tmp_path, [1, 2])
    numbered_folder(tmp_path, [3], size=(41, 30))
    with ImageSequenceSource(tmp_path) as source:
        iterator = iter(source)
        assert len([next(iterator), next(iterator)]) == 2
        with pytest.raises(SourceError, match=r"frame3\.png is 41×30 but the sequence is 40×30"):
            next(iterator)


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    numbered_folder(tmp_path, [1, 3])
    (tmp_path / "frame2.png").write_bytes(b"definitely not a png")
    with ImageSequenceSource(tmp_path) as source, pytest.raises(SourceError, match=r"frame2\.png"):
        list(source)


def test_empty_folder_and_unmatched_glob_are_errors(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(SourceError, match="no images found"):
        ImageSequenceSource(tmp_path).open()
    with pytest.raises(SourceError, match="no images found"):
        ImageSequenceSource(str(tmp_path / "*.png")).open()
    with pytest.raises(SourceError, match="not found"):
        ImageSequenceSource(tmp_path / "missing").open()


def test_bad_fps_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        ImageSequenceSource(tmp_path, fps=0)


def test_stop_and_close(tmp_path: Path) -> None:
    numbered_folder(tmp_path, [1, 2, 3, 4])
    source = ImageSequenceSource(tmp_path)
    with source:
        seen = []
        for frame in source:
            seen.append(frame.index)
            source.stop()
        assert seen == [0]
    source.close()
    with pytest.raises(RuntimeError, match="not open"):
        _ = source.info


def test_a_photo_is_upright_as_its_exif_orientation_says_and_lists_its_file(tmp_path: Path) -> None:
    from PIL import Image  # Pillow comes with matplotlib in the test extra

    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = 255  # left half white as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write portrait shots
    photo = tmp_path / "portrait.jpg"
    Image.fromarray(stored).save(photo, exif=exif, quality=100)
    with ImageSequenceSource(photo) as source:
        assert (source.info.width, source.info.height, source.info.frame_count) == (20, 40, 1)
        assert source.info.files == (photo,)
        (frame,) = list(source)
    # rotated clockwise, the stored left half is on top
    assert frame.image[:15].mean() > 240 and frame.image[25:].mean() < 15

"""open_source: each input spec maps to the right source, with its options checked."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from capture_clips import Clip

from vstyle.capture import CameraSource, FileSource, ImageSequenceSource, SyntheticSource, open_source
from vstyle.errors import ConfigError


def test_synthetic_specs() -> None:
    plain = open_source("synthetic", num_frames=2)
    assert isinstance(plain, SyntheticSource) and (plain.width, plain.height) == (640, 360)
    sized = open_source("synthetic:320x180")
    assert (sized.width, sized.height, sized.fps) == (320, 180, 30)
    paced = open_source("Synthetic:1280x720@59.94", realtime=True)
    assert (paced.width, paced.height, paced.realtime) == (1280, 720, True)
    assert paced.fps == Fraction(2997, 50)
    with open_source("synthetic:64x48@60", num_frames=3) as source:
        assert len(list(source)) == 3 and source.info.fps == 60


@pytest.mark.parametrize("spec", [0, "0", "camera:0", "CAMERA:0"])
def test_camera_specs(spec: object) -> None:
    source = open_source(spec, width=1280)
    assert isinstance(source, CameraSource) and source.device == 0 and source.requested[0] == 1280


@pytest.mark.parametrize("spec", ["/dev/video2", "rtsp://camera.local/stream", "http://cam.local/live.m3u8"])
def test_device_paths_and_stream_urls_are_live(spec: str) -> None:
    source = open_source(spec)
    assert isinstance(source, CameraSource) and source.device == spec


def test_video_path_folder_glob_and_single_image(tmp_path: Path, h264_clip: Clip) -> None:
    assert isinstance(open_source(h264_clip.path), FileSource)
    assert isinstance(open_source(str(h264_clip.path)), FileSource)
    assert isinstance(open_source(tmp_path / "missing.mp4"), FileSource)  # FileSource reports "not found"
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4, 3), np.uint8))
    folder = open_source(tmp_path, fps=12)
    assert isinstance(folder, ImageSequenceSource) and folder.fps == 12
    assert isinstance(open_source(str(tmp_path / "*.png")), ImageSequenceSource)
    single = open_source(tmp_path / "a.png")
    assert isinstance(single, ImageSequenceSource)
    with single:
        assert single.info.frame_count == 1


def test_digit_named_file_wins_over_camera_index(tmp_path: Path, h264_clip: Clip, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("3").write_bytes(h264_clip.path.read_bytes())
    assert isinstance(open_source("3"), FileSource)
    assert isinstance(open_source("camera:3"), CameraSource)


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("synthetic:640x", {}, "synthetic:WxH@FPS"),
        ("camera:front", {}, "camera:N"),
        ("synthetic:64x48", {"width": 32}, "given both"),
        ("synthetic", {"colour": "red"}, "SyntheticSource does not take option"),
        ("clip.mp4", {"fps": 30}, "FileSource does not take option"),
        (True, {}, "Got True"),
    ],
)
def test_bad_specs_and_options_are_config_errors(spec: object, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_source(spec, **options)  # type: ignore[arg-type]

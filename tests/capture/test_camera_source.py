"""CameraSource without a camera.

These machines have no camera. The real OpenCV code path (``VideoCapture``, the reader thread,
newest-frame-only hand-over, BGR→RGB, monotonic pts) is exercised by opening a video FILE through
the same class, which accepts a path exactly as it accepts ``/dev/video0``. What only a device
does (V4L2 backend, the order of property requests, a device that stops delivering) is checked
against a recording stand-in for ``cv2.VideoCapture``.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest
from capture_clips import MakeVideo, write_video

from vstyle.capture import CameraSource
from vstyle.errors import ConfigError, SourceError


def solid_clip(path: Path, count: int, rgb: tuple[int, int, int] = (220, 30, 40)) -> Path:
    frames = [np.full((48, 64, 3), rgb, np.uint8) for _ in range(count)]
    return write_video(path, frames, options={"qp": "0"}).path


def test_a_video_file_read_through_the_camera_path_gives_live_rgb_frames(tmp_path: Path) -> None:
    """A file stands in for the camera: same VideoCapture, thread and conversion code."""
    path = solid_clip(tmp_path / "red.mp4", count=20)
    before = time.monotonic()
    with CameraSource(str(path)) as source:
        info = source.info
        frames = list(source)
        delivered, dropped = source.delivered, source.dropped
    assert info.live and info.frame_count is None
    assert (info.width, info.height) == (64, 48) and info.fps == 30
    assert info.time_base == pytest.approx(1e-6)
    assert delivered == 20
    assert len(frames) + dropped == 20  # every delivered frame was either yielded or counted as dropped
    assert frames[-1].index == 19  # the newest frame is never lost at the end
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))
    for frame in frames:
        red, green, blue = frame.image.reshape(-1, 3).mean(axis=0)
        assert red > 200 and green < 50 and blue < 60  # RGB, not OpenCV's BGR
        assert frame.pts == round(frame.captured_at * 1_000_000)
        assert before <= frame.captured_at <= time.monotonic()
    assert [f.pts for f in frames] == sorted(f.pts for f in frames)


def test_slow_consumer_gets_only_the_newest_frame_and_drops_are_counted(make_video: MakeVideo) -> None:
    clip = make_video("clip.mp4", count=40)
    taken = []
    with CameraSource(clip.path) as source:
        for frame in source:
            taken.append(frame.index)
            time.sleep(0.02)  # the reader outpaces us; it must overwrite, not queue
        dropped = source.dropped
    gaps = sum(b - a - 1 for a, b in itertools.pairwise(taken)) + taken[0]
    assert dropped == gaps == 40 - len(taken)
    assert taken[-1] == 39


def test_stop_from_another_thread_ends_iteration(make_video: MakeVideo) -> None:
    clip = make_video("clip.mp4", count=30)
    with CameraSource(clip.path) as source:
        iterator = iter(source)
        next(iterator)
        stopper = threading.Thread(target=source.stop)
        stopper.start()
        stopper.join()
        assert list(iterator) == []


def test_missing_camera_index_says_how_to_find_devices() -> None:
    with pytest.raises(SourceError, match=r"no camera at index 97 .*v4l2-ctl --list-devices.*--input FILE"):
        CameraSource(97).open()


def test_missing_path_or_device_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        CameraSource(tmp_path / "nothing.mp4").open()
    with pytest.raises(SourceError, match=r"camera device /dev/video97 not found.*v4l2-ctl"):
        CameraSource("/dev/video97").open()


@pytest.mark.parametrize("kwargs", [{"device": -1}, {"device": 0, "width": 0}, {"device": 0, "fps": -5}])
def test_bad_settings_are_config_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        CameraSource(**kwargs)


class ExplodingCamera(CameraSource):
    """A camera whose third read raises, as a driver error inside the reader thread would."""

    def _read(self) -> tuple[bool, np.ndarray | None]:
        if self.delivered >= 2:
            raise RuntimeError("driver exploded")
        return super()._read()


def test_reader_thread_error_is_reraised_from_frames_not_lost(make_video: MakeVideo) -> None:
    clip = make_video("clip.mp4", count=10)
    with ExplodingCamera(clip.path) as source, pytest.raises(RuntimeError, match="driver exploded"):
        for _ in source:
            pass


class FakeCapture:
    """Stands in for ``cv2.VideoCapture`` on a device: records requests, serves ``frames`` frames."""

    calls: ClassVar[list[tuple]] = []
    frames: ClassVar[int] = 3

    def __init__(self, device: object, backend: int) -> None:
        self.calls.append(("open", device, backend))
        self.remaining = self.frames

    def isOpened(self) -> bool:
        return True

    def set(self, prop: int, value: float) -> bool:
        self.calls.append(("set", prop, value))
        return True

    def get(self, prop: int) -> float:
        return 60.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def getBackendName(self) -> str:
        return "FAKE"

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.remaining == 0:
            return False, None  # a device that stops delivering (unplugged)
        self.remaining -= 1
        return True, np.zeros((720, 1280, 3), np.uint8)

    def release(self) -> None:
        self.calls.append(("release",))


@pytest.fixture
def fake_capture(monkeypatch: pytest.MonkeyPatch) -> type[FakeCapture]:
    FakeCapture.calls = []
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    monkeypatch.setattr("sys.platform", "linux")
    return FakeCapture


def test_device_requests_mjpg_before_size_and_a_one_frame_buffer(fake_capture: type[FakeCapture]) -> None:
    with CameraSource(2, width=1280, height=720, fps=60) as source:
        assert source.info.fps == 60 and (source.info.width, source.info.height) == (1280, 720)
    opened, *sets = [c for c in fake_capture.calls if c[0] != "release"]
    assert opened == ("open", 2, cv2.CAP_V4L2)
    props = [prop for _, prop, _ in sets]
    assert props[0] == cv2.CAP_PROP_FOURCC
    assert sets[0][2] == cv2.VideoWriter_fourcc(*"MJPG")
    assert props.index(cv2.CAP_PROP_FOURCC) < props.index(cv2.CAP_PROP_FRAME_WIDTH)
    assert props.index(cv2.CAP_PROP_FOURCC) < props.index(cv2.CAP_PROP_FRAME_HEIGHT)
    assert ("set", cv2.CAP_PROP_BUFFERSIZE, 1) in sets
    assert ("set", cv2.CAP_PROP_FPS, 60) in sets


def test_device_that_stops_delivering_is_an_error(fake_capture: type[FakeCapture]) -> None:
    source = CameraSource(0)
    with source, pytest.raises(SourceError, match="stopped delivering frames after 3"):
        for _ in source:
            pass


def test_close_is_idempotent_and_releases_once(fake_capture: type[FakeCapture]) -> None:
    source = CameraSource(0)
    source.open()
    source.close()
    source.close()
    assert fake_capture.calls.count(("release",)) == 1
    with pytest.raises(RuntimeError, match="not open"):
        _ = source.info

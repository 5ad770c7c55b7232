"""Frames from a live camera (or a network stream) through OpenCV, newest frame only."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vstyle.capture.base import Source, SourceInfo
from vstyle.errors import ConfigError, SourceError
from vstyle.frames import Frame

logger = logging.getLogger(__name__)

__all__ = ["CameraSource"]

#: Camera frames carry ``pts`` in microseconds of the monotonic clock.
CAMERA_TIME_BASE = Fraction(1, 1_000_000)
#: How long :meth:`CameraSource.close` waits for the reader thread (one ``read()`` at most).
_JOIN_TIMEOUT_S = 5.0


class CameraSource(Source):
    """A live camera read by a background thread that keeps only the newest frame.

    The reader thread grabs frames as fast as the device delivers them; a frame the consumer has
    not taken by the time the next one arrives is overwritten and counted in :attr:`dropped`, so
    latency stays bounded by one frame however slow the consumer is. :meth:`frames` yields each
    newest unseen frame, converted from OpenCV's BGR to RGB once; ``index`` counts every frame the
    device delivered, so drops show as gaps. ``pts`` is the capture time on the monotonic clock in
    microseconds (``time_base`` 1/1 000 000), ``captured_at`` the same instant in seconds.

    An error in the reader thread is never lost: it ends the stream and :meth:`frames` re-raises it.

    Args:
        device: a camera index or device path (opened with V4L2 on Linux), or a video file or
            stream URL (opened with OpenCV's FFmpeg backend). A file goes through exactly the same code,
            which is how this class is tested on machines without a camera; its end is the end of
            the stream, whereas a camera that stops delivering is an error.
        width, height: requested capture size in pixels; the device may choose another, and
            :attr:`info` reports what it delivers.
        fps: requested frame rate.
    """

    def __init__(
        self,
        device: int | str | os.PathLike[str],
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
    ) -> None:
        super().__init__()
        if isinstance(device, bool) or not isinstance(device, (int, str, os.PathLike)):
            raise ConfigError(f"camera device must be an index, a path or a URL. Got {device!r}")
        if isinstance(device, int) and device < 0:
            raise ConfigError(f"camera index must be >= 0. Got {device}")
        for name, value in (("width", width), ("height", height)):
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ConfigError(f"camera {name} must be a positive number of pixels. Got {value!r}")
        if fps is not None and not fps > 0:
            raise ConfigError(f"camera fps must be positive. Got {fps!r}")
        self.device: int | str = device if isinstance(device, int) else os.fspath(device)
        self.requested = (width, height, fps)
        self._capture: cv2.VideoCapture | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        # guarded by _cond:
        self._pending: tuple[int, np.ndarray, float] | None = None  # (index, BGR image, captured_at)
        self._delivered = 0
        self._dropped = 0
        self._finished = False
        self._error: BaseException | None = None

    @property
    def is_device(self) -> bool:
        """``True`` for a camera (index or ``/dev/…``) rather than a file or stream URL."""
        return isinstance(self.device, int) or str(self.device).startswith("/dev/")

    # -- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        if self._capture is not None:
            return
        capture = self._open_capture()
        try:
            self._configure(capture)
            ok, image = capture.read()
            captured_at = time.monotonic()
            if not ok or image is None:
                raise SourceError(
                    f"{self._name()} opened but delivered no frame; close other programs using it, "
                    "or check the file/stream"
                )
        except BaseException:
            capture.release()
            raise
        self._capture = capture
        height, width = image.shape[:2]
        asked_w, asked_h, _ = self.requested
        if (asked_w is not None and asked_w != width) or (asked_h is not None and asked_h != height):
            logger.warning(
                "%s: asked for %s×%s, it delivers %d×%d (a size it does not offer)",
                self._name(), asked_w or "any", asked_h or "any", width, height,
            )  # fmt: skip
        reported_fps = capture.get(cv2.CAP_PROP_FPS)
        rate = reported_fps if reported_fps and reported_fps > 0 else self.requested[2]
        self._info = SourceInfo(
            width=int(width),
            height=int(height),
            fps=Fraction(rate).limit_denominator(1001) if rate else None,
            frame_count=None,
            time_base=CAMERA_TIME_BASE,
            live=True,
            path=None,
            description=f"{self._name()} ({capture.getBackendName()}) {width}×{height}",
        )
        self._stop.clear()
        with self._cond:
            self._pending = None
            self._delivered = self._dropped = 0
            self._finished = False
            self._error = None
            self._publish(image, captured_at)
        self._thread = threading.Thread(
            target=self._read_loop,
            name=f"vstyle-camera-{self.device}",
            # daemon so that a forgotten close() cannot hang interpreter exit; errors are still
            # never lost: the loop stores every exception for frames() to re-raise
            daemon=True,
        )
        self._thread.start()
        logger.info("opened %s", self._info.description)

    def _open_capture(self) -> cv2.VideoCapture:
        device = self.device
        if self.is_device:  # an index or /dev/videoN: the platform's camera API
            backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
            if not isinstance(device, int) and not Path(device).exists():
                raise SourceError(
                    f"camera device {device} not found; list devices with `v4l2-ctl --list-devices` "
                    "or pass --input FILE"
                )
        else:
            if "://" not in device and not Path(device).exists():
                raise SourceError(
                    f"{device} not found; expected a camera device, a video file or a stream URL"
                )
            backend = cv2.CAP_FFMPEG
        # OpenCV prints its own warnings about a missing device; the error below says it in one line.
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            capture = cv2.VideoCapture(device, backend)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not capture.isOpened():
            capture.release()
            if isinstance(device, int):
                raise SourceError(
                    f"no camera at index {device} (or it is busy); list devices with "
                    "`v4l2-ctl --list-devices` or pass --input FILE"
                )
            raise SourceError(
                f"OpenCV could not open {device}; expected a camera device, video file or stream URL"
            )
        return capture

    def _configure(self, capture: cv2.VideoCapture) -> None:
        width, height, fps = self.requested
        # MJPG must be asked for before the size: most USB cameras reach HD at full rate only in MJPG,
        # and some reset the size when the format changes. A file or stream ignores all of these.
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if width is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height is not None:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps is not None:
            capture.set(cv2.CAP_PROP_FPS, fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # don't let the driver queue stale frames

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                # releasing the device under a thread blocked in read() can crash OpenCV; leak it instead
                logger.warning(
                    "%s: reader thread did not stop within %.0f s; leaving the device unreleased",
                    self._name(),
                    _JOIN_TIMEOUT_S,
                )
                self._capture = self._info = None
                return
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()
        self._info = None

    def stop(self) -> None:
        super().stop()
        with self._cond:
            self._cond.notify_all()

    # -- reading ---------------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Frames the device delivered that were overwritten before :meth:`frames` took them."""
        with self._cond:
            return self._dropped

    @property
    def delivered(self) -> int:
        """Frames the device delivered so far (yielded + dropped + at most one pending)."""
        with self._cond:
            return self._delivered

    def frames(self) -> Iterator[Frame]:
        self.info
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        while True:
            with self._cond:
                while self._pending is None and not self._finished and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                pending, self._pending = self._pending, None
                if pending is None:  # finished, nothing left
                    if self._error is not None:
                        raise self._error
                    return
            index, bgr, captured_at = pending
            yield Frame(
                image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
                index=index,
                pts=round(captured_at * 1_000_000),
                time_base=CAMERA_TIME_BASE,
                captured_at=captured_at,
            )

    def _read(self) -> tuple[bool, np.ndarray | None]:
        """One ``VideoCapture.read()``; a seam for tests."""
        assert self._capture is not None
        return self._capture.read()

    def _read_loop(self) -> None:
        try:
            while not self._stop.is_set():
                ok, image = self._read()
                captured_at = time.monotonic()
                if not ok or image is None:
                    if self.is_device and not self._stop.is_set():
                        raise SourceError(
                            f"{self._name()} stopped delivering frames after {self._delivered}; "
                            "was it unplugged or taken by another program?"
                        )
                    return  # end of a file or stream
                with self._cond:
                    self._publish(image, captured_at)
        except BaseException as error:
            logger.debug("%s: reader thread failed", self._name(), exc_info=True)
            with self._cond:
                self._error = error
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _publish(self, image: np.ndarray, captured_at: float) -> None:
        """Make ``image`` the newest frame (caller holds ``_cond``)."""
        if self._pending is not None:
            self._dropped += 1
        self._pending = (self._delivered, image, captured_at)
        self._delivered += 1
        self._cond.notify_all()

    def _name(self) -> str:
        return f"camera {self.device}" if isinstance(self.device, int) else str(self.device)

"""A virtual camera that video-call and streaming apps can pick as a webcam (pyvirtualcam)."""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

import numpy as np

from vstyle.capture.base import SourceInfo
from vstyle.errors import BackendUnavailableError, SinkError
from vstyle.frames import Frame, check_image
from vstyle.sinks.base import Sink

logger = logging.getLogger(__name__)

#: Rate announced to the camera when neither the caller nor the source gives one.
FALLBACK_FPS = 30.0

_INSTALL = (
    "the virtual camera needs pyvirtualcam: pip install 'vstyle[virtualcam]' "
    "(plus a camera driver: v4l2loopback on Linux, OBS Studio's virtual camera on Windows and macOS)"
)


class VirtualCameraSink(Sink):
    """Sends frames to a virtual camera device.

    pyvirtualcam is imported by :meth:`open`, never at import time. The camera itself starts with the
    first frame, whose size it keeps; frames of another size are refused.

    Args:
        fps: the rate announced to apps; default the source's, else 30.
        device: camera device to use (e.g. ``/dev/video10``), default pyvirtualcam's choice.
    """

    def __init__(self, fps: float | None = None, *, device: str | None = None) -> None:
        if fps is not None and fps <= 0:
            raise ValueError(f"fps must be positive. Got {fps}")
        self.fps = fps
        self.device = device
        self.frames_sent = 0
        self._module: Any = None
        self._camera: Any = None
        self._rate = FALLBACK_FPS
        self._size: tuple[int, int] | None = None

    def open(self, info: SourceInfo) -> None:
        """Check that pyvirtualcam is installed and settle the rate.

        Raises:
            BackendUnavailableError: pyvirtualcam is not installed.
        """
        try:
            import pyvirtualcam
        except ImportError as error:
            raise BackendUnavailableError(_INSTALL) from error
        self._module = pyvirtualcam
        self._rate = float(self.fps or (Fraction(info.fps) if info.fps else FALLBACK_FPS))

    def write(self, frame: Frame) -> None:
        """Send one frame (the first one starts the camera at its size)."""
        if self._module is None:
            raise RuntimeError("VirtualCameraSink.write() needs an open sink; call open() first")
        image = check_image(frame.image)
        size = (image.shape[1], image.shape[0])
        if self._camera is None:
            self._start(*size)
        elif size != self._size:
            assert self._size is not None
            raise SinkError(
                f"frame {frame.index} is {size[0]}x{size[1]} but the virtual camera runs at "
                f"{self._size[0]}x{self._size[1]} (set by the first frame); give every frame one size"
            )
        self._camera.send(np.ascontiguousarray(image))
        self.frames_sent += 1

    def close(self) -> None:
        """Stop the camera; idempotent."""
        camera, self._camera = self._camera, None
        self._module = None
        if camera is not None:
            camera.close()

    def _start(self, width: int, height: int) -> None:
        pyvirtualcam = self._module
        try:
            self._camera = pyvirtualcam.Camera(
                width, height, self._rate, fmt=pyvirtualcam.PixelFormat.RGB, device=self.device
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise SinkError(
                f"cannot start a {width}x{height} virtual camera ({error}); check that a virtual camera "
                "driver is installed and not in use"
            ) from error
        self._size = (width, height)
        logger.info(
            "virtual camera %s started at %dx%d, %.3g fps", self._camera.device, width, height, self._rate
        )

"""A deterministic moving test scene: a source that needs no file and no camera."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from vstyle.capture.base import Source, SourceInfo
from vstyle.errors import ConfigError
from vstyle.frames import Frame

__all__ = ["SyntheticScene", "SyntheticSource"]

_MIN_SIDE = 16
#: The largest side of a synthetic frame (8K UHD is 7680 wide).
_MAX_SIDE = 7680
_SHIFT = 4  # cv2 drawing: sub-pixel coordinates in 1/16 px, so motion is smooth
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class _Shape:
    kind: str  # "circle", "ring", "ellipse" or "polygon"
    color: tuple[int, int, int]
    radius: float
    sides: int
    center: tuple[float, float]
    amplitude: tuple[float, float]
    frequency: tuple[float, float]  # radians per frame
    phase: tuple[float, float]
    spin: float  # radians per frame
    angle0: float


class SyntheticScene:
    """Renders frame ``k`` of a moving scene that depends only on ``(seed, k, width, height)``.

    The scene gives a style network and optical flow real structure to work on: a colour gradient
    with tileable multi-scale texture scrolling sideways, a dark band whose edges sweep across it,
    filled and outlined shapes moving on Lissajous paths while rotating, a checkerboard sprite
    bouncing off the borders, and the frame number. Everything that does not depend on ``k`` is
    precomputed, so a 640×360 frame costs about a millisecond.

    Args:
        width, height: frame size in pixels (at least 16).
        seed: chooses colours, shapes and paths.
    """

    def __init__(self, width: int, height: int, seed: int = 0) -> None:
        self.width, self.height, self.seed = width, height, seed
        rng = np.random.default_rng(seed)
        background = _background(width, height, rng)
        # two copies side by side: frame k's background is a plain slice of this, no wrap-around copy
        self._tile = np.ascontiguousarray(np.concatenate([background, background], axis=1))
        side = min(width, height)
        self._scroll = max(1, round(width / 320))  # background pixels per frame
        self._band_width = max(4, width // 8)
        self._band_speed = max(1, round(width / 160))
        self._shapes = [_random_shape(rng, width, height, side, i) for i in range(7)]
        self._sprite = _checker_sprite(max(8, side // 5), rng)
        self._sprite_velocity = (max(1.0, width / 220), max(1.0, height / 170))
        self._font_scale = max(0.3, side / 500)

    def render(self, k: int) -> np.ndarray:
        """Frame ``k`` as a new ``height×width×3 uint8`` RGB array."""
        width, height = self.width, self.height
        offset = (k * self._scroll) % width
        image = self._tile[:, offset : offset + width].copy()

        # a dark band sweeping left to right: two strong vertical edges moving over the texture
        period = width + self._band_width
        left = (k * self._band_speed) % period - self._band_width
        band = image[:, max(0, left) : max(0, left + self._band_width)]
        np.right_shift(band, 1, out=band)

        for shape in self._shapes:
            _draw(image, shape, k)

        sprite = self._sprite
        size = sprite.shape[0]
        x = _bounce(k * self._sprite_velocity[0] + 0.3 * width, width - size)
        y = _bounce(k * self._sprite_velocity[1] + 0.6 * height, height - size)
        if size <= min(width, height):
            image[y : y + size, x : x + size] = sprite

        cv2.putText(
            image,
            f"{k}",
            (max(2, width // 60), height - max(4, height // 30)),
            cv2.FONT_HERSHEY_SIMPLEX,
            self._font_scale,
            (255, 255, 255),
            max(1, round(self._font_scale * 2)),
            cv2.LINE_AA,
        )
        return image


class SyntheticSource(Source):
    """Frames of a :class:`SyntheticScene`: reproducible input for tests, demos and benchmarks.

    Frame ``k`` depends only on ``(seed, k, width, height)``. With ``realtime=True`` frame ``k`` is
    released at ``k / fps`` seconds after the first on the monotonic clock and :attr:`info` says
    ``live``: a stand-in for a camera in latency benchmarks. Otherwise frames come as fast as they
    are asked for. ``pts`` is the frame index and ``time_base`` is ``1/fps``.

    Args:
        width, height: frame size in pixels (at least 16).
        fps: nominal (and, in real time, actual) frame rate.
        num_frames: how many frames to yield; ``None`` for an endless stream (until :meth:`stop`).
        realtime: pace frames at ``fps``.
        seed: chooses the scene.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 360,
        fps: float | Fraction = 30,
        num_frames: int | None = None,
        realtime: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or isinstance(value, bool) or not _MIN_SIDE <= value <= _MAX_SIDE:
                raise ConfigError(
                    f"synthetic {name} must be a whole number of pixels from {_MIN_SIDE} to {_MAX_SIDE}. Got {value!r}"
                )
        if not isinstance(fps, (int, float, Fraction)) or isinstance(fps, bool) or not fps > 0:
            raise ConfigError(f"synthetic fps must be a positive number. Got {fps!r}")
        if num_frames is not None and (not isinstance(num_frames, int) or num_frames < 0):
            raise ConfigError(
                f"synthetic num_frames must be None (endless) or an integer >= 0. Got {num_frames!r}"
            )
        self.width, self.height = width, height
        self.fps = Fraction(fps).limit_denominator(1001)
        self.num_frames = num_frames
        self.realtime = bool(realtime)
        self.seed = int(seed)
        self._scene: SyntheticScene | None = None

    def open(self) -> None:
        if self._scene is not None:
            return
        self._scene = SyntheticScene(self.width, self.height, self.seed)
        self._stop.clear()
        self._info = SourceInfo(
            width=self.width,
            height=self.height,
            fps=self.fps,
            frame_count=self.num_frames,
            time_base=1 / self.fps,
            live=self.realtime,
            path=None,
            description=(
                f"synthetic {self.width}×{self.height}@{float(self.fps):g} seed {self.seed}"
                + (" (real time)" if self.realtime else "")
            ),
        )

    def close(self) -> None:
        self._stop.set()
        self._scene = None
        self._info = None

    def frames(self) -> Iterator[Frame]:
        info = self.info
        assert self._scene is not None
        return self._frames(self._scene, info)

    def _frames(self, scene: SyntheticScene, info: SourceInfo) -> Iterator[Frame]:
        period = 1 / float(self.fps)
        start: float | None = None
        k = 0
        while self.num_frames is None or k < self.num_frames:
            if self._stop.is_set():
                return
            image = scene.render(k)
            if self.realtime:
                now = time.monotonic()
                if start is None:
                    start = now
                delay = start + k * period - now
                if delay > 0 and self._stop.wait(delay):
                    return
            yield Frame(image=image, index=k, pts=k, time_base=info.time_base, captured_at=time.monotonic())
            k += 1


# -- scene construction (once per source) ---------------------------------------------------------


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Vertical colour gradient plus texture that tiles horizontally (period ``width``)."""
    top, bottom = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    image = (1 - t) * top.astype(np.float32) + t * bottom.astype(np.float32)  # H×1×3

    # smooth blobs: random low frequencies, periodic by construction (inverse FFT)
    spectrum = np.zeros((height, width // 2 + 1), np.complex64)
    fy, fx = min(6, height // 2), min(10, width // 2)
    for rows in (slice(0, fy), slice(height - fy + 1, height)):
        block = spectrum[rows, :fx]
        block[:] = rng.normal(size=block.shape) + 1j * rng.normal(size=block.shape)
    spectrum[0, 0] = 0
    blobs = np.fft.irfft2(spectrum, s=(height, width)).astype(np.float32)
    blobs *= 40.0 / (np.abs(blobs).max() + 1e-6)

    # fine grain and diagonal stripes (an integer number of periods across the width)
    grain = rng.normal(0.0, 6.0, (height, width)).astype(np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    stripes = 10.0 * np.sin(2 * np.pi * (x * max(1, width // 40) / width + y / 23.0))

    texture = (blobs + grain + stripes)[..., None] * np.array([1.0, 0.8, 1.2], np.float32)
    return np.clip(image + texture, 0, 255).astype(np.uint8)


def _random_shape(rng: np.random.Generator, width: int, height: int, side: int, i: int) -> _Shape:
    kinds = ("circle", "polygon", "ellipse", "polygon", "ring", "polygon", "circle")
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    color = color if max(color) - min(color) > 80 else (color[0], 255 - color[1], color[2])
    radius = float(rng.uniform(0.06, 0.16) * side)
    return _Shape(
        kind=kinds[i % len(kinds)],
        color=color,  # type: ignore[arg-type]
        radius=radius,
        sides=int(rng.integers(3, 7)),
        center=(float(rng.uniform(0.25, 0.75) * width), float(rng.uniform(0.25, 0.75) * height)),
        amplitude=(float(rng.uniform(0.1, 0.35) * width), float(rng.uniform(0.1, 0.35) * height)),
        frequency=(float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.01, 0.05))),
        phase=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))),
        spin=float(rng.uniform(-0.08, 0.08)),
        angle0=float(rng.uniform(0, 2 * np.pi)),
    )


def _checker_sprite(size: int, rng: np.random.Generator) -> np.ndarray:
    cells = 4
    yy, xx = np.mgrid[0:size, 0:size] * cells // size
    light, dark = rng.integers(150, 256, 3), rng.integers(0, 90, 3)
    sprite = np.where(((yy + xx) % 2 == 0)[..., None], light, dark).astype(np.uint8)
    cv2.rectangle(sprite, (0, 0), (size - 1, size - 1), (255, 255, 255), 1)
    return sprite


# -- per-frame drawing ----------------------------------------------------------------------------


def _draw(image: np.ndarray, shape: _Shape, k: int) -> None:
    cx = shape.center[0] + shape.amplitude[0] * math.sin(shape.frequency[0] * k + shape.phase[0])
    cy = shape.center[1] + shape.amplitude[1] * math.sin(shape.frequency[1] * k + shape.phase[1])
    angle = shape.angle0 + shape.spin * k
    center = (round(cx * _ONE), round(cy * _ONE))
    radius = shape.radius
    if shape.kind == "circle":
        cv2.circle(image, center, round(radius * _ONE), shape.color, -1, cv2.LINE_AA, _SHIFT)
    elif shape.kind == "ring":
        thickness = max(2, round(radius / 4))
        cv2.circle(image, center, round(radius * _ONE), shape.color, thickness, cv2.LINE_AA, _SHIFT)
    elif shape.kind == "ellipse":
        axes = (round(radius * _ONE), round(radius * 0.45 * _ONE))
        cv2.ellipse(image, center, axes, math.degrees(angle), 0, 360, shape.color, -1, cv2.LINE_AA, _SHIFT)
    else:
        theta = angle + np.arange(shape.sides) * (2 * np.pi / shape.sides)
        points = np.stack([cx + radius * np.cos(theta), cy + radius * np.sin(theta)], axis=1)
        cv2.fillPoly(image, [np.round(points * _ONE).astype(np.int32)], shape.color, cv2.LINE_AA, _SHIFT)


def _bounce(position: float, span: int) -> int:
    """Triangle wave: ``position`` folded into ``[0, span]``, as a ball bouncing between walls."""
    if span <= 0:
        return 0
    phase = position % (2 * span)
    return int(phase if phase <= span else 2 * span - phase)

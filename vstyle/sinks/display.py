"""A window that shows frames as they are produced, drawn through SDL2 (pygame).

Why not ``cv2.imshow``: vstyle depends on ``opencv-python-headless``, whose wheel has no GUI backend
(``imshow`` raises) precisely so that it installs on servers without X11/GTK libraries. Adding
``opencv-python`` for the window would put a second ``cv2`` package into the same environment, and
the two overwrite each other's files. pygame's wheel bundles SDL2, needs no system GUI packages, and
coexists with the headless ``cv2``; it is the optional extra ``vstyle[display]`` and is imported only
when a window opens, never when vstyle is imported.

SDL wants its window used from one thread: call :meth:`DisplaySink.open`, :meth:`~DisplaySink.write`
and :meth:`~DisplaySink.close` from the same thread.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from vstyle.capture.base import SourceInfo
from vstyle.contact import save_png
from vstyle.errors import BackendUnavailableError, SinkError
from vstyle.frames import Frame, check_image
from vstyle.sinks.base import Sink

logger = logging.getLogger(__name__)

#: Weight of the newest frame interval in the smoothed frame rate (an exponential moving average).
FPS_SMOOTHING = 0.1
#: Seconds a notice (a saved snapshot) stays on the picture.
NOTICE_S = 2.0


def import_pygame() -> ModuleType:
    """Import pygame, or explain how to install it.

    Raises:
        BackendUnavailableError: pygame is not installed.
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # its import banner would print on stdout
    try:
        import pygame
    except ImportError as error:
        raise BackendUnavailableError("the window needs pygame: pip install 'vstyle[display]'") from error
    return pygame


class DisplaySink(Sink):
    """Shows frames in a window; pressing ``q`` or ``Esc``, or closing the window, sets :attr:`wants_stop`.

    Frames larger than ``max_width`` × ``max_height`` are scaled down to fit (aspect kept). With
    ``show_fps`` the top-left corner shows the smoothed rate at which frames arrive and, when frames
    carry a capture time, the end-to-end latency from capture to display (after ``caption()``'s text).

    Other keys go to ``on_key`` as actions: ``n``/``→``/space ``"next"``, ``p``/``←``/backspace
    ``"previous"``, ``o``/``0`` ``"original"``, ``+``/``=`` ``"stronger"``, ``-`` ``"weaker"``, and
    ``1``-``9`` the number (a live filter switches styles with them:
    :class:`~vstyle.switcher.StyleSwitcher`). ``f`` toggles full screen (the picture scaled to fill it,
    aspect kept, black bars where it does not). ``m`` toggles :attr:`mirror`. ``s`` saves the frame
    on show, without the overlay, at its own size and as it was made (not mirrored), as
    ``vstyle-snapshot-NNN.png`` in ``snapshot_dir`` (never over an earlier one).

    Args:
        title: window title.
        show_fps: draw the frame rate (and latency) over the picture.
        max_width, max_height: largest window size, in pixels.
        on_key: called on the window's thread with each key's action.
        caption: text drawn before the frame rate (e.g. the current style's name).
        snapshot_dir: where ``s`` saves snapshots (default the working folder).
        mirror: show the picture flipped left to right, as a mirror shows a face (a self-view; what
            other sinks get is unchanged, as video calls send the unmirrored picture).
    """

    def __init__(
        self,
        title: str = "vstyle",
        *,
        show_fps: bool = True,
        max_width: int = 1600,
        max_height: int = 900,
        on_key: Callable[[str | int], None] | None = None,
        caption: Callable[[], str] | None = None,
        snapshot_dir: str | os.PathLike[str] = ".",
        mirror: bool = False,
    ) -> None:
        if max_width < 16 or max_height < 16:
            raise ValueError(
                f"max_width and max_height must be at least 16 pixels. Got {max_width}x{max_height}"
            )
        self.title = title
        self.show_fps = show_fps
        self.max_width = max_width
        self.max_height = max_height
        self.on_key = on_key
        self.caption = caption
        self.snapshot_dir = Path(snapshot_dir)
        #: Whether the picture is shown mirrored (``m`` toggles it).
        self.mirror = mirror
        #: Snapshots saved with ``s``, in order.
        self.snapshots: list[Path] = []
        self._last_image: np.ndarray | None = None
        self._notice: tuple[str, float] | None = None  # a message shown under the label, until when
        self._fullscreen = False
        self._offset = (0, 0)  # where the picture sits on the screen (full screen centres it)
        self.frames_shown = 0
        self.fps: float | None = None
        self._pygame: Any = None
        self._screen: Any = None
        self._window_size: tuple[int, int] | None = None
        self._last_shown: float | None = None
        self._wants_stop = False

    @property
    def wants_stop(self) -> bool:
        """``True`` once the user pressed ``q``/``Esc`` or closed the window (seen at the next write)."""
        return self._wants_stop

    def open(self, info: SourceInfo) -> None:
        """Open the window at the source's size (scaled to fit).

        Raises:
            BackendUnavailableError: pygame is not installed.
            SinkError: SDL cannot open a window (no display; set ``SDL_VIDEODRIVER`` or use another sink).
        """
        if self._pygame is not None:
            raise RuntimeError("DisplaySink.open() was called twice; make a new sink for each window")
        pygame = import_pygame()
        try:
            pygame.display.init()
        except pygame.error as error:
            raise SinkError(
                f"cannot open a window: SDL found no display ({error}); run where a desktop is available, "
                "or write to a file or 'null' instead"
            ) from error
        self._pygame = pygame
        pygame.display.set_caption(self.title)
        if info.width > 0 and info.height > 0:
            self._resize(info.width, info.height)

    def write(self, frame: Frame) -> None:
        """Show one frame, then handle the window's pending events (key presses, close button)."""
        pygame = self._pygame
        if pygame is None:
            raise RuntimeError("DisplaySink.write() needs an open window; call open() first")
        image = check_image(frame.image)
        self._last_image = image  # frames are never written into: a reference is a snapshot
        self._resize(image.shape[1], image.shape[0])
        assert self._window_size is not None
        width, height = self._window_size
        if (width, height) != (image.shape[1], image.shape[0]):
            shrink = width < image.shape[1]
            image = cv2.resize(
                image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            )
        if self.mirror:
            image = image[:, ::-1]  # a view; the label is drawn on a copy, the right way round
        now = time.monotonic()
        self._update_fps(now)
        lines = []
        if self.show_fps and self.fps is not None:
            latency = now - frame.captured_at if frame.captured_at > 0 else None
            text = _label(self.fps, latency)
            if self.caption is not None:
                text = f"{self.caption()}  {text}"
            lines.append(text)
        if self._notice is not None and now < self._notice[1]:
            lines.append(self._notice[0])
        if lines:
            image = _draw_label(image, *lines)
        surface = pygame.image.frombuffer(np.ascontiguousarray(image), (width, height), "RGB")
        self._screen.blit(surface, self._offset)
        pygame.display.flip()
        self.frames_shown += 1
        self._handle_events()

    def close(self) -> None:
        """Close the window; idempotent."""
        pygame, self._pygame = self._pygame, None
        if pygame is not None:
            self._screen = None
            pygame.display.quit()

    # -- internals -----------------------------------------------------------------------------

    def _resize(self, width: int, height: int) -> None:
        pygame = self._pygame
        if self._fullscreen:
            screen_w, screen_h = pygame.display.get_desktop_sizes()[0]
            scale = min(screen_w / width, screen_h / height)
        else:
            screen_w = screen_h = 0
            scale = min(1.0, self.max_width / width, self.max_height / height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size == self._window_size:
            return
        if self._fullscreen:
            self._screen = pygame.display.set_mode((screen_w, screen_h), pygame.FULLSCREEN)
            self._screen.fill((0, 0, 0))
            self._offset = ((screen_w - size[0]) // 2, (screen_h - size[1]) // 2)
        else:
            self._screen = pygame.display.set_mode(size)
            if self._screen.get_size() != size:
                # Leaving full screen, SDL can keep the old size for one call (seen with its dummy
                # driver); asking again gets the window.
                self._screen = pygame.display.set_mode(size)
            self._offset = (0, 0)
            if scale < 1.0:
                logger.info("showing %dx%d frames scaled to %dx%d", width, height, *size)
        self._window_size = size

    def _toggle_fullscreen(self) -> None:
        self._fullscreen = not self._fullscreen
        self._window_size = None  # the next frame sets the new mode
        if self._last_image is not None:
            self._resize(self._last_image.shape[1], self._last_image.shape[0])

    def _update_fps(self, now: float) -> None:
        if self._last_shown is not None:
            interval = now - self._last_shown
            if interval > 0:
                rate = 1.0 / interval
                self.fps = rate if self.fps is None else self.fps + FPS_SMOOTHING * (rate - self.fps)
        self._last_shown = now

    def _handle_events(self) -> None:
        pygame = self._pygame
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (
                event.type == pygame.KEYDOWN and event.key in (pygame.K_q, pygame.K_ESCAPE)
            ):
                self._wants_stop = True
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_s:
                self._snapshot()
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_f:
                self._toggle_fullscreen()
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_m:
                self.mirror = not self.mirror
            elif event.type == pygame.KEYDOWN and self.on_key is not None:
                action = _action(pygame, event.key)
                if action is not None:
                    self.on_key(action)

    def _snapshot(self) -> None:
        if self._last_image is None:
            return
        n = len(self.snapshots) + 1
        while (path := self.snapshot_dir / f"vstyle-snapshot-{n:03d}.png").exists():
            n += 1
        try:
            save_png(path, self._last_image)
        except OSError as error:  # a full disk must not end a live stream
            logger.warning("could not save a snapshot to %s: %s", path, error)
            self._notice = (f"could not save {path.name}", time.monotonic() + NOTICE_S)
            return
        self.snapshots.append(path)
        logger.info("saved %s", path)
        self._notice = (f"saved {path.name}", time.monotonic() + NOTICE_S)


def _action(pygame: ModuleType, key: int) -> str | int | None:
    """The action a key stands for (see :class:`DisplaySink`), ``None`` for other keys."""
    if pygame.K_1 <= key <= pygame.K_9:
        return key - pygame.K_0
    if pygame.K_KP1 <= key <= pygame.K_KP9:
        return key - pygame.K_KP1 + 1
    actions = {
        pygame.K_n: "next", pygame.K_RIGHT: "next", pygame.K_SPACE: "next",
        pygame.K_p: "previous", pygame.K_LEFT: "previous", pygame.K_BACKSPACE: "previous",
        pygame.K_o: "original", pygame.K_0: "original", pygame.K_KP0: "original",
        pygame.K_PLUS: "stronger", pygame.K_EQUALS: "stronger", pygame.K_KP_PLUS: "stronger",
        pygame.K_MINUS: "weaker", pygame.K_KP_MINUS: "weaker",
    }  # fmt: skip
    return actions.get(key)


def _label(fps: float, latency: float | None) -> str:
    text = f"{fps:5.1f} fps"
    if latency is not None:
        text += f"  {latency * 1000:4.0f} ms"
    return text


def _draw_label(image: np.ndarray, *lines: str) -> np.ndarray:
    """``image`` with ``lines`` in its top-left corner (a copy: the frame may be shared with other sinks)."""
    out = image.copy()
    scale = max(0.4, min(out.shape[0], out.shape[1]) / 720)
    thickness = max(1, round(scale * 2))
    step = round(30 * scale)
    for row, text in enumerate(lines):
        origin = (8, 8 + round(22 * scale) + row * step)
        # Dark outline under light text stays legible on any picture.
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(
            out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA
        )
    return out

"""Several styles for one live stream, switched from the keyboard while it runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from types import TracebackType

import cv2
import numpy as np

from vstyle.config import StylizeConfig
from vstyle.errors import VStyleError
from vstyle.frames import check_image
from vstyle.stylizer import Stylizer

log = logging.getLogger(__name__)

#: What :meth:`StyleSwitcher.on_key` understands besides a style number (1-based).
ACTIONS: tuple[str, ...] = ("next", "previous", "original", "stronger", "weaker")
#: How much ``"stronger"``/``"weaker"`` change the style's share of the picture.
STRENGTH_STEP = 0.1


class StyleSwitcher:
    """Stylizes with one of several styles at a time; :meth:`on_key` changes which (thread-safe).

    The first style's :class:`Stylizer` is open before the stream starts; each other one opens the
    first time it is chosen, on the worker that needs it (a pause of one model load, during which a
    live stream drops frames rather than queueing them). A style that fails to open is reported and
    the previous one stays. ``"original"`` toggles showing the input, scaled as the styles' output
    is, so the effect can be compared on the live picture; ``"stronger"``/``"weaker"`` change the
    style's share of the picture (:attr:`Stylizer.strength`) for every style in steps of 10 %.

    Args:
        first: the open stylizer of the first style (the caller owns and closes it).
        names: a display name for each style, the first style's first.
        configs: how to open each of the other styles (``len(names) - 1`` of them).
        fit: ``(width, height, fps)`` of the source when the first style's height was fitted to its
            rate (``live --height auto``): each other style is fitted too when it opens, up to the
            first style's output height, and its pictures are scaled to the first style's size, so
            a heavier style stays smooth at a lower resolution and the output size never changes
            (a recording or virtual camera needs one size).

    Example:
        >>> with Stylizer(a) as first, StyleSwitcher(first, ["a", "b"], [b]) as styles:  # doctest: +SKIP
        ...     styles.on_key("next")
        ...     painted = styles.stylize_batch([frame])
    """

    def __init__(
        self,
        first: Stylizer,
        names: Sequence[str],
        configs: Sequence[StylizeConfig],
        *,
        fit: tuple[int, int, float] | None = None,
    ) -> None:
        if len(names) != len(configs) + 1:
            raise ValueError(f"need a name for the first style and each of the {len(configs)} others")
        self.fit = fit
        self.names = list(names)
        self._configs: list[StylizeConfig | None] = [None, *configs]
        self._stylizers: list[Stylizer | None] = [first, *([None] * len(configs))]
        self._failed: set[int] = set()
        self._current = 0
        self._original = False
        self.strength = first.strength
        self._lock = threading.Lock()  # guards the choice and opening (one model load at a time)
        self._stack = ExitStack()
        self.switches = 0

    @property
    def first(self) -> Stylizer:
        first = self._stylizers[0]
        assert first is not None
        return first

    @property
    def workers(self) -> int:
        return self.first.workers

    def caption(self) -> str:
        """What the window shows: the current style and its number, or ``original``."""
        if self._original:
            return "original"
        text = f"{self.names[self._current]} {self._current + 1}/{len(self.names)}"
        return text if self.strength >= 1.0 else f"{text} at {self.strength:.0%}"

    def on_key(self, action: str | int) -> None:
        """``"next"``, ``"previous"``, ``"original"`` (toggle), ``"stronger"``, ``"weaker"`` or a
        style number from 1."""
        with self._lock:
            count = len(self.names)
            if action in ("stronger", "weaker"):
                step = STRENGTH_STEP if action == "stronger" else -STRENGTH_STEP
                self.strength = round(min(1.0, max(0.0, self.strength + step)), 2)
                for stylizer in self._stylizers:
                    if stylizer is not None:
                        stylizer.strength = self.strength
            elif action == "original":
                self._original = not self._original
            elif action in ("next", "previous"):
                self._current = (self._current + (1 if action == "next" else -1)) % count
                self._original = False
            elif isinstance(action, int) and 1 <= action <= count:
                self._current = action - 1
                self._original = False
            else:
                return  # a number past the list, or a key with no meaning: ignored, like any other key
            self.switches += 1
        log.info("showing %s", self.caption())

    def stylize_batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Stylize with the current style (see :meth:`Stylizer.stylize_batch`), or pass the input through."""
        if not images:
            return []
        if self._original:
            return self._passthrough(images)
        stylizer = self._stylizer()
        painted = stylizer.stylize_batch(images)
        if stylizer is self.first:
            return painted
        height, width = check_image(images[0]).shape[:2]
        size = self.first.output_size(width, height)
        if painted[0].shape[1::-1] == size:
            return painted
        return [cv2.resize(image, size, interpolation=cv2.INTER_LINEAR) for image in painted]

    def cancel(self) -> None:
        """End the inferences in flight of every style opened (:meth:`Stylizer.cancel`)."""
        for stylizer in list(self._stylizers):
            if stylizer is not None:
                stylizer.cancel()

    def close(self) -> None:
        """Close the styles opened while running (not the first: its owner closes it)."""
        self._stack.close()
        self._stylizers[1:] = [None] * (len(self._stylizers) - 1)

    def __enter__(self) -> StyleSwitcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _stylizer(self) -> Stylizer:
        index = self._current
        stylizer = self._stylizers[index]
        if stylizer is not None:
            return stylizer
        with self._lock:
            stylizer = self._stylizers[index]
            if stylizer is None and index not in self._failed:
                config = self._configs[index]
                assert config is not None
                try:
                    stylizer = self._stack.enter_context(Stylizer(config))
                    stylizer.strength = self.strength
                    if self.fit is not None:
                        width, height, fps = self.fit
                        limit = self.first.output_size(width, height)[1]
                        stylizer.fit_height(width, height, fps, max_height=limit)
                    self._stylizers[index] = stylizer
                except VStyleError as error:
                    # A live stream keeps going on the style it had: one bad model must not end it.
                    log.error("cannot switch to %s: %s", self.names[index], error)
                    self._failed.add(index)
            if stylizer is None:
                fallback = next(i for i, s in enumerate(self._stylizers) if s is not None)
                self._current = fallback
                stylizer = self._stylizers[fallback]
            assert stylizer is not None
            return stylizer

    def _passthrough(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        height, width = check_image(images[0]).shape[:2]
        size = self.first.output_size(width, height)
        if size == (width, height):
            return [image.copy() for image in images]
        return [cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images]

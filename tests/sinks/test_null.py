"""NullSink counts and keeps nothing."""

from __future__ import annotations

import numpy as np
import pytest

from vstyle.capture.base import SourceInfo
from vstyle.frames import Frame
from vstyle.sinks import NullSink


def test_counts_frames_and_bytes() -> None:
    with NullSink() as sink:
        sink.open(SourceInfo(width=8, height=4))
        for index in range(5):
            sink.write(Frame(np.zeros((4, 8, 3), np.uint8), index))
    assert (sink.frames, sink.bytes) == (5, 5 * 4 * 8 * 3)
    assert not hasattr(sink, "image") and not sink.wants_stop


def test_rejects_what_is_not_an_rgb_image() -> None:
    sink = NullSink()
    sink.open(SourceInfo(width=8, height=4))
    with pytest.raises(ValueError, match="H×W×3 uint8"):
        sink.write(Frame(np.zeros((4, 8), np.float32), 0))

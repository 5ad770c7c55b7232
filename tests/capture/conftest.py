"""Fixtures of the capture tests: small videos written in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest
from capture_clips import Clip, MakeVideo, scene_frames, write_video


@pytest.fixture
def make_video(tmp_path: Path) -> MakeVideo:
    """``make_video(name, count=10, width=96, height=64, **write_video_options) -> Clip`` in ``tmp_path``."""

    def make(name: str, count: int = 10, width: int = 96, height: int = 64, **options: object) -> Clip:
        return write_video(tmp_path / name, scene_frames(count, width, height), **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def h264_clip(make_video: MakeVideo) -> Clip:
    """Twelve 96×64 H.264 yuv420p frames at 30 fps in an mp4."""
    return make_video("clip.mp4", count=12, options={"crf": "12"})

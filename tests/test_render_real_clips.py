"""Every real clip in ../shared/data/video renders end to end with nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from media import read_streams

from vstyle.cli import main

CLIPS = ["fox", "sam2_01_dog", "sam2_04_coffee", "sam2_05_default_juggle", "sam2_bedroom"]


@pytest.mark.parametrize("name", CLIPS)
def test_real_clip_renders_every_frame_with_its_timestamps_and_streams(
    name: str, videos_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    clip = videos_dir / f"{name}.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent")
    out = tmp_path / f"{name}.mp4"
    # A small processing height keeps this quick; the I/O path (decode, timestamps, audio copy,
    # encode) is the same at any size.
    assert (
        main(
            [
                "render",
                str(clip),
                "-o",
                str(out),
                "--model",
                str(tiny_model),
                "--height",
                "144",
                "--no-progress",
            ]
        )
        == 0
    )
    src = {r.kind: r for r in read_streams(clip)}
    dst = {r.kind: r for r in read_streams(out)}
    assert dst["video"].times == src["video"].times, "every frame, each at its own time"
    if "audio" in src:
        assert dst["audio"].payloads == src["audio"].payloads, "audio is copied unchanged"

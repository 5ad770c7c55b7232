"""FileSource on the real H.264 clips in ../shared/data/video (skipped where absent)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from vstyle.capture import FileSource


def test_every_real_clip_yields_the_frames_and_size_pyav_reports(videos_dir: Path) -> None:
    clips = sorted(videos_dir.glob("*.mp4"))
    assert clips, f"no .mp4 clips in {videos_dir}"
    for path in clips:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            expected = (stream.frames, stream.width, stream.height)
        count, last_pts = 0, -1
        with FileSource(path) as source:
            info = source.info
            for frame in source:
                assert frame.image.shape == (info.height, info.width, 3), path.name
                assert frame.pts > last_pts, f"{path.name}: pts not increasing at frame {frame.index}"
                last_pts = frame.pts
                count += 1
            last_image = frame.image
        assert (count, info.width, info.height) == expected, path.name
        assert info.frame_count == count and info.fps is not None and 15 < info.fps < 61
        assert last_image.dtype == np.uint8 and last_image.std() > 5, f"{path.name}: blank last frame"

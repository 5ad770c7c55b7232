"""open_sink: which sink a user's output spec names."""

from __future__ import annotations

from pathlib import Path

import pytest

from vstyle.errors import ConfigError
from vstyle.sinks import (
    DisplaySink,
    ImageFileSink,
    ImageSequenceSink,
    NullSink,
    VideoFileSink,
    VirtualCameraSink,
    open_sink,
)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("null", NullSink),
        ("window", DisplaySink),
        ("virtualcam", VirtualCameraSink),
        ("out.mp4", VideoFileSink),
        ("clips/out.MKV", VideoFileSink),
        ("frames/", ImageSequenceSink),
        ("out/%06d.png", ImageSequenceSink),
        ("out/%04d.JPG", ImageSequenceSink),
        ("still.png", ImageFileSink),
        ("photos/still.JPEG", ImageFileSink),
    ],
)
def test_each_spec_gets_its_sink(spec: str, kind: type) -> None:
    assert type(open_sink(spec)) is kind


def test_an_existing_folder_is_an_image_sequence(tmp_path: Path) -> None:
    sink = open_sink(tmp_path)
    assert isinstance(sink, ImageSequenceSink) and sink.pattern == tmp_path / "%06d.png"


def test_options_reach_the_sink() -> None:
    sink = open_sink("out.mp4", overwrite=True, crf=23)
    assert isinstance(sink, VideoFileSink) and sink.overwrite and sink.crf == 23
    assert open_sink("window", title="preview").title == "preview"  # type: ignore[attr-defined]


def test_an_option_the_sink_does_not_take_is_named() -> None:
    with pytest.raises(ConfigError, match=r"NullSink does not take option\(s\) crf"):
        open_sink("null", crf=18)


def test_a_single_image_takes_the_image_options() -> None:
    sink = open_sink("still.jpg", overwrite=True, jpeg_quality=80)
    assert isinstance(sink, ImageFileSink) and sink.overwrite and sink.jpeg_quality == 80
    with pytest.raises(ConfigError, match=r"ImageFileSink does not take option\(s\) crf"):
        open_sink("still.png", crf=18)

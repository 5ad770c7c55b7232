"""StyleSwitcher: one live stream, several styles, switched from the window's keys."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
from media import pattern

from vstyle.capture import SyntheticScene
from vstyle.config import StylizeConfig
from vstyle.frames import Frame
from vstyle.render import live
from vstyle.styles import resolve_model
from vstyle.stylizer import Stylizer
from vstyle.switcher import StyleSwitcher


@pytest.fixture(scope="module")
def other_model() -> Path:
    """A second style: the bundled ``scream-tiny`` network."""
    return resolve_model(None, "scream-tiny")


def reference(model: Path, images: list[np.ndarray], height: int | None = None) -> list[np.ndarray]:
    with Stylizer(StylizeConfig(model=model, height=height, workers=1)) as stylizer:
        return [stylizer(image) for image in images]


def test_keys_switch_styles_lazily_and_show_the_original(tiny_model: Path, other_model: Path) -> None:
    images = [pattern(i) for i in range(2)]
    a, b = reference(tiny_model, images), reference(other_model, images)
    assert not np.array_equal(a[0], b[0]), "the two styles must differ for this test to mean anything"
    with (
        Stylizer(StylizeConfig(model=tiny_model)) as first,
        StyleSwitcher(first, ["a", "b"], [StylizeConfig(model=other_model)]) as styles,
    ):
        for got, want in zip(styles.stylize_batch(images), a, strict=True):
            np.testing.assert_array_equal(got, want)
        assert styles._stylizers[1] is None, "a style opens when it is first chosen, not before"
        assert styles.caption() == "a 1/2"

        styles.on_key("next")
        assert styles.caption() == "b 2/2"
        for got, want in zip(styles.stylize_batch(images), b, strict=True):
            np.testing.assert_array_equal(got, want)

        styles.on_key("original")
        assert styles.caption() == "original"
        for got, image in zip(styles.stylize_batch(images), images, strict=True):
            np.testing.assert_array_equal(got, image)
        styles.on_key("original")  # a toggle: back to the style it was on
        np.testing.assert_array_equal(styles.stylize_batch(images[:1])[0], b[0])

        styles.on_key("next")  # wraps around
        np.testing.assert_array_equal(styles.stylize_batch(images[:1])[0], a[0])
        styles.on_key("previous")
        np.testing.assert_array_equal(styles.stylize_batch(images[:1])[0], b[0])
        styles.on_key(1)
        np.testing.assert_array_equal(styles.stylize_batch(images[:1])[0], a[0])
        switches = styles.switches
        styles.on_key(3)  # no third style
        styles.on_key("louder")
        assert styles.switches == switches and styles.caption() == "a 1/2"


def test_stronger_and_weaker_reach_every_style_opened_or_not(tiny_model: Path, other_model: Path) -> None:
    with (
        Stylizer(StylizeConfig(model=tiny_model)) as first,
        StyleSwitcher(first, ["a", "b"], [StylizeConfig(model=other_model)]) as styles,
    ):
        styles.on_key("stronger")  # already full
        assert first.strength == 1.0 and styles.caption() == "a 1/2"
        for _ in range(3):
            styles.on_key("weaker")
        assert first.strength == styles.strength == 0.7
        assert styles.caption() == "a 1/2 at 70%"
        styles.on_key("next")
        styles.stylize_batch([pattern(0)])  # opens b, at the strength chosen before
        second = styles._stylizers[1]
        assert second is not None and second.strength == 0.7
        for _ in range(12):
            styles.on_key("weaker")
        assert first.strength == second.strength == 0.0  # clamped, and the picture is the input
        np.testing.assert_array_equal(styles.stylize_batch([pattern(1)])[0], pattern(1))


def test_the_original_is_scaled_like_the_styles(tiny_model: Path) -> None:
    image = pattern(0, height=96, width=128)
    with (
        Stylizer(StylizeConfig(model=tiny_model, height=48)) as first,
        StyleSwitcher(first, ["a"], []) as styles,
    ):
        styled = styles.stylize_batch([image])[0]
        styles.on_key("original")
        original = styles.stylize_batch([image])[0]
    assert original.shape == styled.shape == (48, 64, 3)


def test_a_fitted_stream_fits_each_style_as_it_opens_and_keeps_one_size(
    tiny_model: Path, other_model: Path
) -> None:
    """With ``fit`` every style opened later is fitted to the source's rate up to the first style's
    height; its pictures come out at the first style's size. A rate no network can keep up with
    (a million frames a second) makes the fit choose the lowest height, whatever this machine is."""
    from vstyle.stylizer import MIN_FIT_HEIGHT

    images = [pattern(i, 192, 256) for i in range(2)]
    second_config = StylizeConfig(model=other_model, height=176)
    with (
        Stylizer(StylizeConfig(model=tiny_model, height=176)) as first,
        StyleSwitcher(first, ["a", "b"], [second_config], fit=(256, 192, 1e6)) as styles,
    ):
        assert [im.shape for im in styles.stylize_batch(images)] == [(176, 234, 3)] * 2
        styles.on_key("next")
        painted = styles.stylize_batch(images)
        second = styles._stylizers[1]
        assert second is not None and second.config.height == MIN_FIT_HEIGHT
        assert [im.shape for im in painted] == [(176, 234, 3)] * 2, "the output size never changes"
        low = reference(other_model, images[:1], height=MIN_FIT_HEIGHT)[0]
        assert low.shape == (144, 192, 3)
        import cv2

        np.testing.assert_array_equal(painted[0], cv2.resize(low, (234, 176), interpolation=cv2.INTER_LINEAR))


def test_a_style_that_fails_to_open_is_reported_and_the_stream_stays(
    tiny_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_text("not a model")
    image = pattern(0)
    want = reference(tiny_model, [image])[0]
    with (
        Stylizer(StylizeConfig(model=tiny_model)) as first,
        StyleSwitcher(first, ["a", "broken"], [StylizeConfig(model=broken)]) as styles,
        caplog.at_level(logging.ERROR, logger="vstyle.switcher"),
    ):
        styles.on_key("next")
        np.testing.assert_array_equal(styles.stylize_batch([image])[0], want)
        assert styles.caption() == "a 1/2"
        assert "cannot switch to broken" in caplog.text
        styles.on_key(2)  # chosen again: the same fallback, and no second attempt
        np.testing.assert_array_equal(styles.stylize_batch([image])[0], want)
        assert caplog.text.count("cannot switch to broken") == 1


def test_workers_switching_at_once_open_the_new_style_once(tiny_model: Path, other_model: Path) -> None:
    images = [pattern(i) for i in range(4)]
    want = reference(other_model, images)
    results: list[list[np.ndarray]] = []
    with (
        Stylizer(StylizeConfig(model=tiny_model, workers=2)) as first,
        StyleSwitcher(first, ["a", "b"], [StylizeConfig(model=other_model)]) as styles,
    ):
        styles.on_key("next")
        opened: set[int] = set()

        def work() -> None:
            results.append(styles.stylize_batch(images))
            opened.add(id(styles._stylizers[1]))

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 2 and len(opened) == 1
    for result in results:
        for got, expected in zip(result, want, strict=True):
            np.testing.assert_array_equal(got, expected)


def test_live_window_switches_style_on_a_key_press(
    tiny_model: Path, other_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pygame = pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    frames: list[Frame] = []

    def on_frame(frame: Frame) -> None:  # the window's thread: the key goes into its event queue
        frames.append(frame)
        if len(frames) == 5:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_n))

    metrics = live(
        "synthetic:64x48@30", "window", stylize=StylizeConfig(model=tiny_model),
        max_frames=40, on_frame=on_frame, switch_styles=[str(other_model)],
    )  # fmt: skip
    assert metrics.extra["styles"] == ["tiny", "scream-tiny"] and metrics.extra["style_switches"] == 1
    scene = SyntheticScene(64, 48)
    early = frames[:5]
    late = frames[-5:]
    for frame, want in zip(early, reference(tiny_model, [scene.render(f.index) for f in early]), strict=True):
        np.testing.assert_array_equal(frame.image, want)
    for frame, want in zip(late, reference(other_model, [scene.render(f.index) for f in late]), strict=True):
        np.testing.assert_array_equal(frame.image, want)

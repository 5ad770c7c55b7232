"""DisplaySink under SDL's dummy video driver: a real window without a screen."""

from __future__ import annotations

import sys
from fractions import Fraction

import cv2
import numpy as np
import pytest
from media import pattern

from vstyle.capture.base import SourceInfo
from vstyle.errors import BackendUnavailableError
from vstyle.frames import Frame
from vstyle.sinks import DisplaySink

pygame = pytest.importorskip("pygame")

INFO = SourceInfo(width=64, height=48, fps=Fraction(25))


@pytest.fixture(autouse=True)
def _dummy_video_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


def shown() -> np.ndarray:
    """The window's pixels as ``H×W×3`` RGB."""
    return pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)


def test_frames_are_shown_unchanged_without_the_overlay() -> None:
    with DisplaySink(show_fps=False) as sink:
        sink.open(INFO)
        for index in range(3):
            sink.write(Frame(pattern(index), index))
            np.testing.assert_array_equal(shown(), pattern(index))
        assert sink.frames_shown == 3
        assert not sink.wants_stop
    assert not pygame.display.get_init()


def test_the_fps_overlay_draws_on_a_copy_and_smooths_the_rate() -> None:
    image = pattern(0)
    original = image.copy()
    with DisplaySink() as sink:
        sink.open(INFO)
        for index in range(4):
            sink.write(Frame(image, index, captured_at=1.0))
        assert sink.fps is not None and sink.fps > 0
        assert not np.array_equal(shown(), original)  # the label is drawn on the window...
    np.testing.assert_array_equal(image, original)  # ...not on the frame other sinks may share


@pytest.mark.parametrize(
    "event",
    [
        {"type": "QUIT"},
        {"type": "KEYDOWN", "key": "K_q"},
        {"type": "KEYDOWN", "key": "K_ESCAPE"},
    ],
    ids=["window-closed", "q", "escape"],
)
def test_closing_the_window_or_pressing_q_or_escape_asks_to_stop(event: dict[str, str]) -> None:
    with DisplaySink() as sink:
        sink.open(INFO)
        sink.write(Frame(pattern(0), 0))
        assert not sink.wants_stop
        extra = {"key": getattr(pygame, event["key"])} if "key" in event else {}
        pygame.event.post(pygame.event.Event(getattr(pygame, event["type"]), **extra))
        sink.write(Frame(pattern(1), 1))
        assert sink.wants_stop


def test_other_keys_do_not_stop() -> None:
    with DisplaySink() as sink:
        sink.open(INFO)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
        sink.write(Frame(pattern(0), 0))
        assert not sink.wants_stop


def test_keys_reach_on_key_as_actions_and_the_caption_is_drawn() -> None:
    actions: list[str | int] = []
    captions: list[str] = []

    def caption() -> str:
        captions.append("scream 1/3")
        return captions[-1]

    keys = ["K_n", "K_RIGHT", "K_SPACE", "K_p", "K_LEFT", "K_o", "K_0", "K_3", "K_KP4", "K_x", "K_EQUALS",
            "K_MINUS"]  # fmt: skip
    with DisplaySink(on_key=actions.append, caption=caption) as sink:
        sink.open(INFO)
        for key in keys:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=getattr(pygame, key)))
        for index in range(2):
            sink.write(Frame(pattern(index), index))
        assert not sink.wants_stop
    assert actions == ["next", "next", "next", "previous", "previous", "original", "original", 3, 4,
                       "stronger", "weaker"]  # fmt: skip
    assert captions, "the caption is asked for while the overlay is drawn"


def test_s_saves_the_frame_at_its_size_never_over_an_earlier_one_and_says_so(tmp_path) -> None:
    import cv2

    (tmp_path / "vstyle-snapshot-001.png").write_bytes(b"the user's own")
    frames = [pattern(i, height=96, width=128) for i in range(3)]
    small = [cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA) for f in frames]
    with DisplaySink(show_fps=False, snapshot_dir=tmp_path, max_width=64, max_height=48) as sink:
        sink.open(SourceInfo(width=128, height=96, fps=Fraction(25)))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_s))
        sink.write(Frame(frames[0], 0))  # shown, then the key is read: this frame is saved
        np.testing.assert_array_equal(shown(), small[0])
        sink.write(Frame(frames[1], 1))
        assert not np.array_equal(shown(), small[1]), "the next frames say what was saved"
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_s))
        sink.write(Frame(frames[2], 2))
    assert sink.snapshots == [tmp_path / "vstyle-snapshot-002.png", tmp_path / "vstyle-snapshot-003.png"]
    assert (tmp_path / "vstyle-snapshot-001.png").read_bytes() == b"the user's own"
    for path, frame in zip(sink.snapshots, [frames[0], frames[2]], strict=True):
        np.testing.assert_array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), frame)
    assert len(list(tmp_path.iterdir())) == 3  # no temporary file left


def test_f_fills_the_screen_keeping_the_aspect_and_again_returns_to_the_window() -> None:
    image = pattern(0, height=48, width=128)  # wider than the dummy driver's 1024×768 screen
    with DisplaySink(show_fps=False) as sink:
        sink.open(SourceInfo(width=128, height=48, fps=Fraction(25)))
        sink.write(Frame(image, 0))
        assert shown().shape == (48, 128, 3)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_f))
        sink.write(Frame(image, 1))  # the key is read after this frame
        sink.write(Frame(image, 2))
        screen = shown()
        assert screen.shape == (768, 1024, 3)
        # 128×48 scaled by 8 is 1024×384, centred: black bars above and below
        assert screen[:192].max() == 0 and screen[-192:].max() == 0
        assert screen[192:576].max() > 0
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_f))
        sink.write(Frame(image, 3))
        sink.write(Frame(image, 4))
        np.testing.assert_array_equal(shown(), image)


def test_mirror_flips_what_is_shown_not_the_frame_and_m_toggles_it(tmp_path) -> None:
    frame = Frame(pattern(0), 0)
    with DisplaySink(show_fps=False, mirror=True, snapshot_dir=tmp_path) as sink:
        sink.open(INFO)
        sink.write(frame)
        np.testing.assert_array_equal(shown(), pattern(0)[:, ::-1])
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_s))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_m))
        sink.write(frame)  # the keys are handled after this frame is shown
        sink.write(frame)
        below_notice = slice(32, None)  # the top rows say "saved vstyle-snapshot-001.png"
        np.testing.assert_array_equal(shown()[below_notice], pattern(0)[below_notice])
        assert not sink.mirror
    np.testing.assert_array_equal(frame.image, pattern(0))
    saved = cv2.cvtColor(cv2.imread(str(sink.snapshots[0])), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(saved, pattern(0))  # a snapshot is the frame as made, not mirrored


def test_a_large_frame_is_scaled_down_to_fit() -> None:
    big = np.full((1200, 3200, 3), 90, np.uint8)
    with DisplaySink(show_fps=False, max_width=1600, max_height=900) as sink:
        sink.open(SourceInfo(width=3200, height=1200))
        sink.write(Frame(big, 0))
        assert pygame.display.get_surface().get_size() == (1600, 600)
        assert (shown() == 90).all()


def test_close_is_idempotent() -> None:
    sink = DisplaySink()
    sink.open(INFO)
    sink.close()
    sink.close()


def test_missing_pygame_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)  # makes `import pygame` fail
    with pytest.raises(BackendUnavailableError, match=r"pip install 'vstyle\[display\]'"):
        DisplaySink().open(INFO)

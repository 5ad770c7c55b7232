"""Flicker measures: x–t slices, the warping error under given flow, clips read for evaluation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from media import make_clip, pattern

from vstyle.config import StylizeConfig
from vstyle.errors import ConfigError, SourceError
from vstyle.evaluate import clip_flicker, gt_flow_flicker, load_clip, middlebury_pairs, xt_image, xt_slice
from vstyle.evaluate.flicker import FlowPair
from vstyle.stylizer import Stylizer
from vstyle.temporal.flo import read_flo, write_flo
from vstyle.temporal.warping_error import warping_error_from_flow

H, W = 40, 56


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (height, width, 3)).astype(np.float32), (0, 0), 1.5)
    return np.round((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)


def shifted_pair(shift: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames cut from one wide texture ``shift`` pixels apart, and their exact flow ``(shift, 0)``.

    ``second(x + shift) = scene(x + shift + 5 - shift) = first(x)``: the flow from first to second.
    """
    scene = textured(H, W + 10, seed)
    first = np.ascontiguousarray(scene[:, 5 : 5 + W])
    second = np.ascontiguousarray(scene[:, 5 - shift : 5 - shift + W])
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0] = shift
    return first, second, flow


def invert(frame: np.ndarray) -> np.ndarray:
    """A per-pixel 'style': perfectly stable under motion."""
    return np.ascontiguousarray(255 - frame[..., ::-1])


# -- x–t slices --------------------------------------------------------------------------------------


def test_xt_slice_takes_one_column_per_frame() -> None:
    frames = [pattern(i, H, W) for i in range(7)]
    xt = xt_slice(frames)
    assert xt.shape == (H, 7, 3) and xt.dtype == np.uint8
    for t, f in enumerate(frames):
        np.testing.assert_array_equal(xt[:, t], f[:, W // 2])
    np.testing.assert_array_equal(xt_slice(frames, column=3)[:, 4], frames[4][:, 3])


def test_xt_slice_of_a_static_video_is_constant_along_time_and_flicker_is_not() -> None:
    still = [textured(H, W)] * 6
    xt = xt_slice(still).astype(int)
    assert np.all(xt == xt[:, :1])  # every time step equals the first: horizontal streaks only
    flicker = [np.clip(f.astype(int) + 30 * (t % 2), 0, 255).astype(np.uint8) for t, f in enumerate(still)]
    assert np.abs(np.diff(xt_slice(flicker).astype(int), axis=1)).mean() > 20


def test_xt_image_puts_panels_side_by_side_scaled_in_time() -> None:
    inputs = [pattern(i, H, W) for i in range(5)]
    outputs = [invert(f) for f in inputs]
    image = xt_image([inputs, outputs], frame_width=4, gap=3)
    assert image.shape == (H, 2 * 5 * 4 + 3, 3)
    np.testing.assert_array_equal(image[:, :20], np.repeat(xt_slice(inputs), 4, axis=1))
    assert np.all(image[:, 20:23] == 255)  # the white gap
    np.testing.assert_array_equal(image[:, 23:], np.repeat(xt_slice(outputs), 4, axis=1))


def test_xt_rejects_bad_input() -> None:
    frames = [pattern(i, H, W) for i in range(3)]
    with pytest.raises(ValueError, match="column must be in 0"):
        xt_slice(frames, column=W)
    with pytest.raises(ValueError, match="at least one frame"):
        xt_slice([])
    with pytest.raises(ValueError, match="same number of frames"):
        xt_image([frames, frames[:2]])
    with pytest.raises(ValueError, match="all frames must be"):
        xt_slice([frames[0], frames[1][:, :-2]])


# -- warping error under a given flow -----------------------------------------------------------------


def test_whole_pixel_shift_with_its_exact_flow_has_zero_error() -> None:
    first, second, flow = shifted_pair()
    result = warping_error_from_flow([first, second], [invert(first), invert(second)], [flow])
    assert result.output == 0.0 and result.input == 0.0
    # The 3 columns whose samples leave the frame are the only ones masked out.
    assert result.valid_fraction[0] == pytest.approx((W - 3) / W)
    wrong = np.zeros_like(flow)
    assert warping_error_from_flow([first, second], [first, second], [wrong]).input > 1e-3


def test_validity_mask_from_a_flo_file_is_honoured(tmp_path: Path) -> None:
    first, second, flow = shifted_pair(shift=2, seed=4)
    outputs = [invert(first), invert(second)]
    damaged = outputs[0].copy()
    damaged[10:20, 10:20] = 0  # garbage the flow file marks as unknown
    valid = np.ones((H, W), np.float32)
    valid[8:22, 8:22] = 0
    flow_read, valid_read = read_flo(write_flo(tmp_path / "pair.flo", flow, valid))
    masked = warping_error_from_flow([first, second], [damaged, outputs[1]], [flow_read], [valid_read])
    assert masked.output == 0.0
    assert masked.valid_fraction[0] == pytest.approx(((W - 2) * H - 14 * 14) / (W * H))
    unmasked = warping_error_from_flow([first, second], [damaged, outputs[1]], [flow_read])
    assert unmasked.output > 1e-3


def test_given_flow_rejects_wrong_counts_and_sizes() -> None:
    first, second, flow = shifted_pair()
    with pytest.raises(ValueError, match="need 1 flows and masks"):
        warping_error_from_flow([first, second], [first, second], [flow, flow])
    with pytest.raises(ValueError, match="flow 0 must be"):
        warping_error_from_flow([first, second], [first, second], [flow[:-1]])
    with pytest.raises(ValueError, match="mask 0 must be"):
        warping_error_from_flow([first, second], [first, second], [flow], [np.ones((H, W - 1))])


def test_middlebury_ground_truth_beats_no_motion(shared_data: Path) -> None:
    root = shared_data / "flow" / "middlebury"
    if not (root / "other-gt-flow").is_dir():
        pytest.skip(f"{root / 'other-gt-flow'} is absent")
    pairs = middlebury_pairs(root)
    assert len(pairs) >= 1 and all(p.flow.shape[:2] == p.first.shape[:2] for p in pairs)
    for pair in pairs:
        frames = [pair.first, pair.second]
        truth = warping_error_from_flow(frames, frames, [pair.flow], [pair.valid]).input
        still = warping_error_from_flow(frames, frames, [np.zeros_like(pair.flow)], [pair.valid]).input
        assert truth < 0.5 * still, pair.name


def test_gt_flow_flicker_refuses_a_resizing_stylizer(tiny_model: Path) -> None:
    first, second, flow = shifted_pair()
    pair = FlowPair("shifted", first, second, flow, np.ones((H, W), np.float32))
    with Stylizer(StylizeConfig(model=tiny_model, height=32, workers=1)) as stylize:
        with pytest.raises(ConfigError, match="only exact at the frames' own size"):
            gt_flow_flicker(stylize, pair)
    with Stylizer(StylizeConfig(model=tiny_model, workers=1)) as stylize:
        result = gt_flow_flicker(stylize, pair)
    assert result.input == 0.0 and len(result.output_per_pair) == 1


# -- clips ------------------------------------------------------------------------------------------


def test_load_clip_scales_like_the_stylizer_and_stops_early(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "clip.mp4", frames=10, size=(96, 64), audio=None)
    clip = load_clip(path, frames=4, height=32)
    assert clip.name == "clip" and len(clip.frames) == 4 and clip.size == (48, 32)
    assert len(load_clip(path, frames=50, height=None).frames) == 10  # a short video gives what it has


def test_load_clip_refuses_missing_and_too_short_clips(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a video file and not a clip name"):
        load_clip(tmp_path / "nope.mp4")
    with pytest.raises(SourceError, match="not a clip name"):
        load_clip("no_such_clip_name")
    single = make_clip(tmp_path / "one.mp4", frames=1, audio=None)
    with pytest.raises(SourceError, match="at least 2 consecutive"):
        load_clip(single)
    with pytest.raises(ConfigError, match="at least 2 frames"):
        load_clip(single, frames=1)


def test_shared_clip_by_name(videos_dir: Path) -> None:
    if not (videos_dir / "fox.mp4").is_file():
        pytest.skip("fox.mp4 is absent")
    clip = load_clip("fox", frames=2, height=64)
    assert clip.path == videos_dir / "fox.mp4" and clip.size == (64, 64) and len(clip.frames) == 2


def test_clip_flicker_measures_at_the_network_size(tiny_model: Path, tmp_path: Path) -> None:
    clip = load_clip(
        make_clip(tmp_path / "c.mp4", frames=4, size=(96, 64), audio=None), frames=4, height=None
    )
    with Stylizer(StylizeConfig(model=tiny_model, height=32, workers=1)) as stylize:
        run = clip_flicker(stylize, clip.frames)
    assert [f.shape for f in run.inputs] == [(32, 48, 3)] * 4
    assert [f.shape for f in run.outputs] == [(32, 48, 3)] * 4
    assert len(run.error.output_per_pair) == 3 and run.error.input > 0.0 and run.error.output > 0.0

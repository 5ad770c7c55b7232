"""Temporal stability of a style network: warping errors on clips and Middlebury pairs, x–t slices.

* :func:`load_clip` reads the first frames of a clip (a path, or a name in the shared ``video/``
  folder) at the processing height.
* :func:`clip_flicker` stylizes them one by one and measures the warping error of Lai et al. (2018)
  with DIS flow on the *input* frames (:func:`vstyle.temporal.warping_error.warping_error`).
* :func:`middlebury_pairs` and :func:`gt_flow_flicker` do the same on Middlebury's frame pairs with
  their ground-truth flow, at the pairs' native size (the flow is exact only there).
* :func:`xt_slice` and :func:`xt_image` show flicker: one pixel column over time, where a stable
  video draws smooth horizontal streaks and flicker draws vertical ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vstyle.capture.images import read_rgb
from vstyle.data import shared_data_dir
from vstyle.errors import ConfigError, DataError, SourceError
from vstyle.frames import check_image
from vstyle.stylizer import Stylizer, scaled_size
from vstyle.temporal.flo import read_flo
from vstyle.temporal.flow import Preset
from vstyle.temporal.warping_error import WarpingError, warping_error, warping_error_from_flow

#: Clips of the shared ``video/`` folder evaluated when none are named.
DEFAULT_CLIPS: tuple[str, ...] = ("fox", "sam2_bedroom", "sam2_04_coffee")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")


def shared_clips() -> dict[str, Path]:
    """``{name: path}`` of the clips in the shared ``video/`` folder (empty where there is none)."""
    root = shared_data_dir()
    folder = root / "video" if root is not None else None
    if folder is None or not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES}


def resolve_clip(clip: str | Path) -> Path:
    """The video file a clip argument means: an existing path, else a name in the shared ``video/``.

    Raises:
        SourceError: neither a file nor a shared clip name (the message lists the names).
    """
    path = Path(clip)
    if path.is_file():
        return path
    known = shared_clips()
    if str(clip) in known:
        return known[str(clip)]
    names = ", ".join(known) or "none: no shared video/ folder"
    raise SourceError(
        f"clip {str(clip)!r} not found: not a video file and not a clip name in the shared video/ "
        f"folder (names: {names}); pass a video path or one of those names"
    )


@dataclass(frozen=True, eq=False)
class Clip:
    """The first frames of a video, at the size the network sees.

    Attributes:
        name: a short name (the file's stem), used in reports and file names.
        path: the video file.
        frames: consecutive frames, ``H×W×3 uint8`` RGB, all the same size.
    """

    name: str
    path: Path
    frames: tuple[np.ndarray, ...]

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames."""
        return int(self.frames[0].shape[1]), int(self.frames[0].shape[0])


def load_clip(clip: str | Path, frames: int = 24, height: int | None = 180) -> Clip:
    """Decode the first ``frames`` frames of a clip and scale them to ``height`` (aspect kept).

    Frames are scaled exactly as :class:`~vstyle.stylizer.Stylizer` scales them (``scaled_size``,
    area interpolation), so a stylizer with ``height=None`` sees the same pixels as one configured
    with this height would, and the warping error's flow is computed on what the network saw.

    Args:
        clip: a video path, or a name in the shared ``video/`` folder (``fox``…).
        frames: how many consecutive frames (at least 2).
        height: processing height; ``None`` keeps the clip's size.

    Returns:
        A :class:`Clip` (shorter than ``frames`` if the video is).

    Raises:
        ConfigError: ``frames`` below 2.
        SourceError: the clip is missing or unreadable, or has fewer than two frames.
    """
    if frames < 2:
        raise ConfigError(f"the warping error needs at least 2 frames per clip. Got {frames}")
    from vstyle.capture.file import FileSource

    path = resolve_clip(clip)
    images: list[np.ndarray] = []
    with FileSource(path) as source:
        for frame in source.frames():
            image = frame.image
            size = scaled_size(image.shape[1], image.shape[0], height)
            if size != (image.shape[1], image.shape[0]):
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            images.append(image)
            if len(images) == frames:
                break
    if len(images) < 2:
        raise SourceError(
            f"clip {path} has {len(images)} frame(s); the warping error needs at least 2 consecutive "
            "frames - pass a longer clip"
        )
    return Clip(path.stem, path, tuple(images))


@dataclass(frozen=True, eq=False)
class ClipFlicker:
    """A clip's frames as the network saw them, its outputs, and their warping error.

    Attributes:
        inputs: the input frames at the network's size.
        outputs: the stylized frames, one per input.
        error: the warping error (output, input, ratio; per pair and mean).
    """

    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]
    error: WarpingError


def clip_flicker(stylizer: Stylizer, frames: Sequence[np.ndarray], preset: Preset = "medium") -> ClipFlicker:
    """Stylize consecutive frames one by one and measure the warping error of the result.

    Flow comes from the *input* frames at the size the network saw (the stylizer's own resize
    applied here too), as Lai et al. (2018) prescribe, and is occlusion-masked.

    Args:
        stylizer: an open :class:`~vstyle.stylizer.Stylizer` (``workers=1`` keeps frames in order).
        frames: consecutive RGB frames, any size the stylizer accepts.
        preset: DIS preset of the flow.

    Returns:
        A :class:`ClipFlicker`.

    Shape:
        - frames: each :math:`(H, W, 3)` uint8.
        - inputs, outputs: each :math:`(H', W', 3)` uint8, ``(W', H') = stylizer.output_size(W, H)``.

    Raises:
        ValueError: fewer than two frames or frames of different sizes.
    """
    if len(frames) < 2:
        raise ValueError(f"the warping error needs at least two frames. Got {len(frames)}")
    height, width = check_image(frames[0], "frame 0").shape[:2]
    size = stylizer.output_size(width, height)
    inputs = [
        f if (f.shape[1], f.shape[0]) == size else cv2.resize(f, size, interpolation=cv2.INTER_AREA)
        for f in frames
    ]
    outputs = [stylizer(f) for f in frames]
    return ClipFlicker(tuple(inputs), tuple(outputs), warping_error(inputs, outputs, preset=preset))


@dataclass(frozen=True, eq=False)
class FlowPair:
    """Two frames and the ground-truth flow from the first to the second.

    Attributes:
        name: the sequence's name (``RubberWhale``…).
        first, second: the frames, ``H×W×3 uint8`` RGB.
        flow: ``second(x + flow(x)) ≈ first(x)``, ``(dx, dy)`` in pixels.
        valid: 1 where the flow is known.
    """

    name: str
    first: np.ndarray
    second: np.ndarray
    flow: np.ndarray
    valid: np.ndarray


def middlebury_root() -> Path | None:
    """``<shared data>/flow/middlebury`` where it holds ground truth, else ``None``."""
    root = shared_data_dir()
    if root is None or not (root / "flow" / "middlebury" / "other-gt-flow").is_dir():
        return None
    return root / "flow" / "middlebury"


def middlebury_pairs(root: Path) -> list[FlowPair]:
    """Every Middlebury "other" sequence with ground truth: ``frame10``, ``frame11``, ``flow10.flo``.

    Args:
        root: the folder holding ``other-data/<seq>/frame1{0,1}.png`` and
            ``other-gt-flow/<seq>/flow10.flo``.

    Returns:
        The pairs, sorted by sequence name.

    Raises:
        DataError: no sequence with ground truth, or a flow whose size differs from its frames.
        SourceError: a frame cannot be read.
    """
    root = Path(root)
    pairs = []
    for flo in sorted((root / "other-gt-flow").glob("*/flow10.flo")):
        seq = flo.parent.name
        data = root / "other-data" / seq
        first, second = read_rgb(data / "frame10.png"), read_rgb(data / "frame11.png")
        flow, valid = read_flo(flo)
        if flow.shape[:2] != first.shape[:2] or first.shape != second.shape:
            raise DataError(
                f"Middlebury {seq}: frames {first.shape[1]}×{first.shape[0]} and "
                f"{second.shape[1]}×{second.shape[0]} with flow {flow.shape[1]}×{flow.shape[0]}; "
                "all three must match - check the data folder"
            )
        pairs.append(FlowPair(seq, first, second, flow, valid))
    if not pairs:
        raise DataError(f"no <seq>/flow10.flo under {root / 'other-gt-flow'}; check the Middlebury folder")
    return pairs


def gt_flow_flicker(stylizer: Stylizer, pair: FlowPair) -> WarpingError:
    """Warping error of the stylized pair under its ground-truth flow (no flow estimation involved).

    The stylizer must keep the frame size (``height=None`` or the pair's height): the flow is exact
    only at the native size.

    Raises:
        ConfigError: the stylizer would resize the frames.
    """
    height, width = pair.first.shape[:2]
    if stylizer.output_size(width, height) != (width, height):
        out_w, out_h = stylizer.output_size(width, height)
        raise ConfigError(
            f"ground-truth flow is only exact at the frames' own size {width}×{height}; use a stylizer "
            f"without a processing height. Got one that outputs {out_w}×{out_h}"
        )
    outputs = [stylizer(pair.first), stylizer(pair.second)]
    return warping_error_from_flow([pair.first, pair.second], outputs, [pair.flow], [pair.valid])


def xt_slice(frames: Sequence[np.ndarray], column: int | None = None) -> np.ndarray:
    """One pixel column of every frame, side by side: time runs left to right.

    Args:
        frames: consecutive RGB frames of one size.
        column: which column (``x``); the centre ``W // 2`` by default.

    Returns:
        The x–t slice: column ``t`` is ``frames[t][:, column]``.

    Shape:
        - frames: each :math:`(H, W, 3)` uint8.
        - output: :math:`(H, T, 3)` uint8.

    Raises:
        ValueError: no frames, frames of different sizes, or a column outside the frame.
    """
    if not frames:
        raise ValueError("an x-t slice needs at least one frame. Got none")
    height, width = check_image(frames[0], "frame 0").shape[:2]
    column = width // 2 if column is None else column
    if not 0 <= column < width:
        raise ValueError(f"column must be in 0…{width - 1} (the frame's width). Got {column}")
    for i, f in enumerate(frames):
        if check_image(f, f"frame {i}").shape[:2] != (height, width):
            raise ValueError(
                f"all frames must be {width}×{height}. Got frame {i} of {f.shape[1]}×{f.shape[0]}"
            )
    return np.ascontiguousarray(np.stack([f[:, column] for f in frames], axis=1))


def xt_image(
    videos: Sequence[Sequence[np.ndarray]], column: int | None = None, frame_width: int = 4, gap: int = 4
) -> np.ndarray:
    """x–t slices of several videos of one size (e.g. input | output) side by side on white.

    Each frame becomes a ``frame_width`` pixels wide stripe so that a few dozen frames are visible.

    Args:
        videos: each a sequence of frames; all frames of all videos the same size, equal counts.
        column: the column sliced, centre by default.
        frame_width: pixels per frame along the time axis.
        gap: white pixels between panels.

    Returns:
        The panels in order.

    Shape:
        - videos: ``V`` videos of ``T`` frames :math:`(H, W, 3)` uint8.
        - output: :math:`(H, V·T·frame\\_width + (V-1)·gap, 3)` uint8.

    Raises:
        ValueError: no videos, unequal frame counts or sizes, or ``frame_width`` below 1.
    """
    if not videos:
        raise ValueError("xt_image needs at least one video. Got none")
    if frame_width < 1 or gap < 0:
        raise ValueError(f"frame_width must be ≥ 1 and gap ≥ 0. Got {frame_width} and {gap}")
    counts = {len(v) for v in videos}
    if len(counts) != 1:
        raise ValueError(f"all videos must have the same number of frames. Got {[len(v) for v in videos]}")
    slices = [np.repeat(xt_slice(v, column), frame_width, axis=1) for v in videos]
    if len({s.shape for s in slices}) != 1:
        raise ValueError(f"all videos must have frames of one size. Got slices {[s.shape for s in slices]}")
    height = slices[0].shape[0]
    white = np.full((height, gap, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for s in slices:
        parts += [s, white] if gap else [s]
    return np.ascontiguousarray(np.concatenate(parts[:-1] if gap else parts, axis=1))

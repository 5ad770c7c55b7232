"""Training data held in memory: photos (with a teacher's outputs) and real-clip frame pairs.

* :class:`PhotoBank` — training photos resized so the short side is ``photo_size``; in distillation
  the teacher's output for each whole photo, computed once with ONNX Runtime and cached on disk
  (keyed by teacher sha256, photo list and size), so crops of photo and target line up.
* :class:`ClipBank` — consecutive frame pairs from real clips with DIS flow (computed on the input
  frames) and Ruder et al.'s occlusion mask. Pairs come from frames ``skip`` onward so the first
  frames, where ``vstyle eval`` measures flicker, stay unseen.

Both sample random crops with a seeded :class:`torch.Generator`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from vstyle.capture.images import read_rgb
from vstyle.data import cache_dir
from vstyle.errors import DataError
from vstyle.temporal.flow import DISFlow
from vstyle.temporal.occlusion import occlusion_mask

logger = logging.getLogger(__name__)

#: Runs a network on one RGB uint8 image, returns RGB uint8 of the same size.
ImageFn = Callable[[np.ndarray], np.ndarray]


def resize_short(image: np.ndarray, short: int) -> np.ndarray:
    """Resize so the shorter side is ``short`` (area filter), aspect kept."""
    h, w = image.shape[:2]
    scale = short / min(h, w)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _to_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()


def _cached_outputs(key: str, images: Sequence[np.ndarray], fn: ImageFn, what: str) -> list[np.ndarray]:
    """``fn`` over ``images``, memoised in ``<cache>/train/<key>.npz`` (written atomically)."""
    path = cache_dir() / "train" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            outputs = [data[f"o{i}"] for i in range(len(images))]
        if all(o.shape == i.shape for o, i in zip(outputs, images)):
            logger.info("%s: %d teacher outputs from the cache (%s)", what, len(outputs), path)
            return outputs
    logger.info("%s: running the teacher on %d images (cached for later runs)", what, len(images))
    outputs = [fn(image) for image in images]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **{f"o{i}": o for i, o in enumerate(outputs)})
    tmp.replace(path)
    return outputs


class PhotoBank:
    """Training photos (and the teacher's outputs for them) as uint8 arrays in memory.

    Args:
        paths: photo files.
        photo_size: the short side every photo is resized to.
        teacher: the teacher network as an image function, or None (perceptual training).
        teacher_id: a string that identifies the teacher (its sha256), for the disk cache.
    """

    def __init__(
        self, paths: Sequence[Path], photo_size: int, teacher: ImageFn | None = None, teacher_id: str = ""
    ) -> None:
        if not paths:
            raise DataError("no training photos; pass a folder of .jpg/.png photos")
        self.photos = [resize_short(read_rgb(p), photo_size) for p in paths]
        self.targets: list[np.ndarray] | None = None
        if teacher is not None:
            digest = hashlib.sha256(f"{teacher_id}|{photo_size}".encode())
            for p in paths:
                digest.update(str(p).encode())
            self.targets = _cached_outputs(
                f"photos-{digest.hexdigest()[:20]}", self.photos, teacher, "photos"
            )

    def __len__(self) -> int:
        return len(self.photos)

    def sample(
        self, n: int, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` random ``size``² crops (random horizontal flips) and the teacher's matching crops.

        Shape:
            - each output: :math:`(n, 3, size, size)` float 0–255.
        """
        crops, targets = [], []
        for _ in range(n):
            i = int(torch.randint(len(self.photos), (1,), generator=generator))
            image = self.photos[i]
            h, w = image.shape[:2]
            if h < size or w < size:
                raise DataError(f"photo {i} is {w}×{h}, smaller than the {size}² crop; raise photo_size")
            y = int(torch.randint(h - size + 1, (1,), generator=generator))
            x = int(torch.randint(w - size + 1, (1,), generator=generator))
            flip = bool(torch.rand(1, generator=generator) < 0.5)
            window = (slice(y, y + size), slice(x, x + size))
            crop = image[window]
            crops.append(crop[:, ::-1] if flip else crop)
            if self.targets is not None:
                target = self.targets[i][window]
                targets.append(target[:, ::-1] if flip else target)
        return _to_tensor(crops), (_to_tensor(targets) if targets else None)


class ClipBank:
    """Consecutive-frame pairs from real clips with DIS flow and occlusion masks.

    Args:
        clips: video files.
        pairs_per_clip: pairs taken from each clip, evenly spaced from frame ``skip`` on.
        short: the short side frames are resized to.
        skip: frames at the start of each clip that are never used (kept for evaluation).
        teacher: as in :class:`PhotoBank`; both frames of each pair are stylized.
        teacher_id: identifies the teacher for the disk cache.
    """

    def __init__(
        self,
        clips: Sequence[Path],
        pairs_per_clip: int,
        short: int,
        *,
        skip: int = 60,
        teacher: ImageFn | None = None,
        teacher_id: str = "",
    ) -> None:
        from vstyle.capture.file import FileSource

        self.a: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self.flow: list[np.ndarray] = []
        self.mask: list[np.ndarray] = []
        dis = DISFlow("medium")
        for clip in clips:
            with FileSource(clip) as source:
                frames = [f.image for f in source.frames()]
            usable = len(frames) - skip - 1
            if usable < 1:
                raise DataError(
                    f"clip {clip} has {len(frames)} frames; temporal pairs need more than {skip + 1} "
                    "(the first frames are kept for evaluation): use a longer clip"
                )
            starts = np.linspace(skip, len(frames) - 2, num=min(pairs_per_clip, usable)).round().astype(int)
            for t in starts:
                a, b = resize_short(frames[t], short), resize_short(frames[t + 1], short)
                forward, backward = dis(a, b), dis(b, a)
                self.a.append(a)
                self.b.append(b)
                self.flow.append(forward.astype(np.float16))
                self.mask.append(occlusion_mask(forward, backward).astype(np.uint8))
        if not self.a:
            raise DataError("no clip pairs; pass at least one video clip or set real_fraction to 0")
        self.targets_a: list[np.ndarray] | None = None
        self.targets_b: list[np.ndarray] | None = None
        if teacher is not None:
            digest = hashlib.sha256(f"{teacher_id}|{short}|{pairs_per_clip}|{skip}".encode())
            for clip in clips:
                digest.update(str(clip).encode())
            key = digest.hexdigest()[:20]
            both = _cached_outputs(f"clips-{key}", self.a + self.b, teacher, "clip frames")
            self.targets_a, self.targets_b = both[: len(self.a)], both[len(self.a) :]

    def __len__(self) -> int:
        return len(self.a)

    def sample(
        self, n: int, size: int, generator: torch.Generator
    ) -> tuple[
        torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None
    ]:
        """``(a, b, flow, mask, (teacher_a, teacher_b) or None)``: ``n`` random aligned crops.

        Shape:
            - a, b, teacher outputs: :math:`(n, 3, size, size)` float 0–255.
            - flow: :math:`(n, 2, size, size)`; mask: :math:`(n, 1, size, size)`.
        """
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("a", "b", "flow", "mask", "ta", "tb")}
        for _ in range(n):
            i = int(torch.randint(len(self.a), (1,), generator=generator))
            h, w = self.a[i].shape[:2]
            if h < size or w < size:
                raise DataError(f"clip frames are {w}×{h}, smaller than the {size}² crop; raise photo_size")
            y = int(torch.randint(h - size + 1, (1,), generator=generator))
            x = int(torch.randint(w - size + 1, (1,), generator=generator))
            window = (slice(y, y + size), slice(x, x + size))
            cols["a"].append(self.a[i][window])
            cols["b"].append(self.b[i][window])
            cols["flow"].append(self.flow[i][window].astype(np.float32))
            cols["mask"].append(self.mask[i][window][..., None].astype(np.float32))
            if self.targets_a is not None and self.targets_b is not None:
                cols["ta"].append(self.targets_a[i][window])
                cols["tb"].append(self.targets_b[i][window])
        teacher = (_to_tensor(cols["ta"]), _to_tensor(cols["tb"])) if cols["ta"] else None
        return (
            _to_tensor(cols["a"]),
            _to_tensor(cols["b"]),
            _to_tensor(cols["flow"]),
            _to_tensor(cols["mask"]),
            teacher,
        )

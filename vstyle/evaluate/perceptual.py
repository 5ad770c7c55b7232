"""Feature-space scores on the partial VGG19 loss network: LPIPS-like ratio, Gram style and content loss.

Needs PyTorch and ``<shared data>/lossnet/vgg19_caffe_conv1_1-conv3_4.pth``;
:func:`perceptual_unavailable` says why not where either is missing, and nothing here imports torch
before a :class:`PerceptualScorer` is made. The layers are the ones training uses
(:data:`vstyle.train.losses.STYLE_LAYERS`, :data:`~vstyle.train.losses.CONTENT_LAYERS`,
:data:`~vstyle.train.losses.QUALITY_LAYERS`), each weighted 1.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vstyle.data import shared_data_dir
from vstyle.frames import check_image

LOSSNET_FILE = "vgg19_caffe_conv1_1-conv3_4.pth"


def default_lossnet() -> Path | None:
    """``<shared data>/lossnet/vgg19_caffe_conv1_1-conv3_4.pth``, or ``None`` without shared data."""
    root = shared_data_dir()
    return None if root is None else root / "lossnet" / LOSSNET_FILE


def perceptual_unavailable(lossnet: Path | None) -> str | None:
    """Why the feature-space scores cannot be computed, or ``None`` when they can."""
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed (pip install 'vstyle[torch]')"
    if lossnet is None:
        return "no shared data folder with the loss network (../shared/data/lossnet)"
    if not Path(lossnet).is_file():
        return f"loss network {lossnet} not found"
    return None


def short_side_to(image: np.ndarray, size: int) -> np.ndarray:
    """Scale ``image`` so its shorter side is ``size`` pixels (area interpolation, aspect kept).

    Shape:
        - image: :math:`(H, W, 3)` uint8.
        - output: :math:`(H', W', 3)` uint8 with ``min(H', W') = size``.
    """
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new == (width, height):
        return image
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, new, interpolation=interpolation)


class PerceptualScorer:
    """Scores stylized images on the partial Caffe VGG19.

    Args:
        lossnet: the partial VGG19 state dict.
        style_image: the painting the style loss compares with, or ``None`` (no style loss).
        style_size: the painting is scaled so its short side has this many pixels (the scale the
            outputs are judged at).

    Raises:
        ModelError: the loss network file is not a valid partial VGG19.
    """

    def __init__(self, lossnet: Path, style_image: np.ndarray | None = None, style_size: int = 256) -> None:
        import torch

        from vstyle.train.losses import CONTENT_LAYERS, QUALITY_LAYERS, STYLE_LAYERS, gram_matrix
        from vstyle.train.lossnet import load_partial_vgg19

        self._torch = torch
        self.layers: dict[str, tuple[str, ...]] = {
            "style": STYLE_LAYERS, "content": CONTENT_LAYERS, "lpips_like": QUALITY_LAYERS,
        }  # fmt: skip
        self._vgg = load_partial_vgg19(lossnet)
        self._grams: dict[str, Any] | None = None
        if style_image is not None:
            with torch.inference_mode():
                feats = self._vgg(self._tensor(short_side_to(style_image, style_size)), layers=STYLE_LAYERS)
                self._grams = {k: gram_matrix(v) for k, v in feats.items()}

    def _tensor(self, image: np.ndarray) -> Any:
        check_image(image, "image")
        return self._torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()[None]

    @property
    def has_style(self) -> bool:
        """Whether a style image was given (style loss available)."""
        return self._grams is not None

    def lpips_like_ratio(self, student: np.ndarray, teacher: np.ndarray, photo: np.ndarray) -> float:
        """``d(student, teacher) / d(photo, teacher)`` (``docs/quality-notes.md``): 0 best, 1 no better
        than the unstylized photo.

        Shape:
            - student, teacher, photo: :math:`(H, W, 3)` uint8, the same size.
        """
        from vstyle.train.losses import lpips_like_ratio

        with self._torch.inference_mode():
            ratio = lpips_like_ratio(
                self._tensor(student), self._tensor(teacher), self._tensor(photo), self._vgg,
                layers=self.layers["lpips_like"],
            )  # fmt: skip
        return float(ratio[0])

    def scores(self, output: np.ndarray, photo: np.ndarray) -> dict[str, float | None]:
        """Gram style loss against the style image and content loss against the photo.

        Returns:
            ``{"style_loss": …, "content_loss": …}``; ``style_loss`` is ``None`` without a style image.

        Shape:
            - output, photo: :math:`(H, W, 3)` uint8, the same size.
        """
        from vstyle.train.losses import content_loss, style_loss

        if output.shape != photo.shape:
            raise ValueError(
                f"output and photo must have the same size. Got {output.shape} and {photo.shape}"
            )
        wanted = sorted(set(self.layers["style"]) | set(self.layers["content"]))
        with self._torch.inference_mode():
            feats = self._vgg(self._torch.cat([self._tensor(output), self._tensor(photo)]), layers=wanted)
            out_feats = {k: v[:1] for k, v in feats.items()}
            photo_feats = {k: v[1:] for k, v in feats.items()}
            content = float(content_loss(out_feats, photo_feats, self.layers["content"]))
            style = None
            if self._grams is not None:
                weights = dict.fromkeys(self.layers["style"], 1.0)
                style = float(style_loss(out_feats, self._grams, weights))
        return {"style_loss": style, "content_loss": content}

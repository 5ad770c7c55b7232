"""Perceptual losses and the feature-space quality measure used to judge students.

* :func:`gram_matrix`, :func:`style_loss` — Gatys et al. style statistics on loss-network features.
* :func:`content_loss` — mean squared feature difference (Johnson et al.'s feature reconstruction).
* :func:`total_variation` — anisotropic L1 smoothness term.
* :func:`feature_distance`, :func:`lpips_like_ratio` — the LPIPS-like distance of
  ``docs/quality-notes.md``: unit-normalise each pixel's feature vector over channels, average the
  squared difference; the ratio divides the student's distance to the teacher by the plain photo's.

Features are ``{layer name: N×C×H×W tensor}`` dicts as returned by
:class:`vstyle.train.lossnet.VGGFeatures`; images are RGB float 0–255.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from vstyle.train.lossnet import VGGFeatures

Features = Mapping[str, torch.Tensor]

#: The layers the quality notes judge students on.
QUALITY_LAYERS: tuple[str, ...] = ("relu2_2", "relu3_4")
#: Gram style-loss layers on the partial VGG19 (the first ReLU of each block it has).
STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1")
#: Content-loss layers (Johnson et al. use relu2_2 of VGG16; relu2_2 exists in the partial VGG19 too).
CONTENT_LAYERS: tuple[str, ...] = ("relu2_2",)


def _check_4d(name: str, tensor: torch.Tensor) -> None:
    if not isinstance(tensor, torch.Tensor) or tensor.ndim != 4:
        got = f"shape {tuple(tensor.shape)}" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f"{name} must be an N×C×H×W tensor. Got {got}")


def _check_layers(a: Features, b: Features, layers: Iterable[str]) -> list[str]:
    layers = list(layers)
    if not layers:
        raise ValueError("at least one layer is needed. Got none")
    for layer in layers:
        if layer not in a or layer not in b:
            raise ValueError(
                f"layer {layer!r} must be in both feature dicts. Got {sorted(a)} and {sorted(b)}"
            )
        if a[layer].shape[1:] != b[layer].shape[1:]:
            raise ValueError(
                f"features of {layer!r} must have matching C×H×W. "
                f"Got {tuple(a[layer].shape)} and {tuple(b[layer].shape)}"
            )
    return layers


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel co-occurrence statistics, normalised by ``C·H·W``.

    ``G[n, i, j] = Σ_{y,x} F[n, i, y, x] F[n, j, y, x] / (C·H·W)``.

    Args:
        features: a feature map.

    Returns:
        The Gram matrices.

    Shape:
        - features: :math:`(N, C, H, W)`.
        - output: :math:`(N, C, C)`.
    """
    _check_4d("features", features)
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def style_loss(feats: Features, style_grams: Features, weights: Mapping[str, float]) -> torch.Tensor:
    """Weighted sum over layers of the mean squared difference between Gram matrices.

    Args:
        feats: features of the generated images, ``{layer: (N, C, H, W)}``.
        style_grams: target Gram matrices, ``{layer: (N or 1, C, C)}`` (1 broadcasts over the batch).
        weights: ``{layer: weight}``; these layers are the ones used.

    Returns:
        Scalar loss.
    """
    if not weights:
        raise ValueError("weights must name at least one layer. Got an empty mapping")
    total = None
    for layer, weight in weights.items():
        if layer not in feats or layer not in style_grams:
            raise ValueError(
                f"layer {layer!r} must be in feats and style_grams. Got {sorted(feats)} and {sorted(style_grams)}"
            )
        gram = gram_matrix(feats[layer])
        target = style_grams[layer]
        if target.ndim == 2:
            target = target.unsqueeze(0)
        if (
            target.ndim != 3
            or target.shape[1:] != gram.shape[1:]
            or target.shape[0] not in (1, gram.shape[0])
        ):
            raise ValueError(
                f"style Gram of {layer!r} must be (1 or {gram.shape[0]})×{gram.shape[1]}×{gram.shape[2]}. "
                f"Got {tuple(style_grams[layer].shape)}"
            )
        term = weight * F.mse_loss(gram, target.expand_as(gram))
        total = term if total is None else total + term
    assert total is not None
    return total


def content_loss(
    feats_a: Features | torch.Tensor, feats_b: Features | torch.Tensor, layers: Iterable[str] | None = None
) -> torch.Tensor:
    """Mean squared feature difference, summed over layers.

    Args:
        feats_a: features (or one feature map) of the generated images.
        feats_b: features (or one feature map) of the target images.
        layers: which layers to compare; every layer of ``feats_a`` if None.

    Returns:
        Scalar loss.

    Shape:
        - feature maps: :math:`(N, C, H, W)` each, equal between ``a`` and ``b``.
    """
    if isinstance(feats_a, torch.Tensor) or isinstance(feats_b, torch.Tensor):
        _check_4d("feats_a", feats_a)  # type: ignore[arg-type]
        _check_4d("feats_b", feats_b)  # type: ignore[arg-type]
        feats_a, feats_b = {"x": feats_a}, {"x": feats_b}  # type: ignore[dict-item]
    names = _check_layers(feats_a, feats_b, feats_a if layers is None else layers)  # type: ignore[arg-type]
    return sum(F.mse_loss(feats_a[n], feats_b[n]) for n in names)  # type: ignore[index,return-value]


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Anisotropic L1 total variation per image: mean ``|Δx|`` plus mean ``|Δy|``.

    Means rather than sums keep it independent of the image size: a 0/1 checkerboard gives 2.

    Args:
        image: images (any range; RGB 0–255 in training).

    Returns:
        One value per image.

    Shape:
        - image: :math:`(N, C, H, W)` with ``H, W ≥ 2``.
        - output: :math:`(N,)`.
    """
    _check_4d("image", image)
    if image.shape[2] < 2 or image.shape[3] < 2:
        raise ValueError(f"image must be at least 2×2 pixels. Got {tuple(image.shape)}")
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    return dx + dy


def feature_distance(
    a_feats: Features | torch.Tensor,
    b_feats: Features | torch.Tensor,
    layers: Iterable[str] | None = None,
    eps: float = 1e-10,
) -> torch.Tensor:
    """LPIPS-like distance: unit-normalise each pixel's channel vector, mean squared difference.

    Per layer, ``d = mean_{y,x} ‖a(y,x)/‖a(y,x)‖ − b(y,x)/‖b(y,x)‖‖²`` (0 … 4); layers are averaged.

    Args:
        a_feats: features (or one feature map) of the first images.
        b_feats: features (or one feature map) of the second images.
        layers: which layers; every layer of ``a_feats`` if None.
        eps: guards the normalisation of all-zero feature vectors.

    Returns:
        One distance per image.

    Shape:
        - feature maps: :math:`(N, C, H, W)`, equal between ``a`` and ``b``.
        - output: :math:`(N,)`.
    """
    if isinstance(a_feats, torch.Tensor) or isinstance(b_feats, torch.Tensor):
        _check_4d("a_feats", a_feats)  # type: ignore[arg-type]
        _check_4d("b_feats", b_feats)  # type: ignore[arg-type]
        a_feats, b_feats = {"x": a_feats}, {"x": b_feats}  # type: ignore[dict-item]
    names = _check_layers(a_feats, b_feats, a_feats if layers is None else layers)  # type: ignore[arg-type]
    total = None
    for n in names:
        a = a_feats[n] / (a_feats[n].pow(2).sum(dim=1, keepdim=True) + eps).sqrt()  # type: ignore[index]
        b = b_feats[n] / (b_feats[n].pow(2).sum(dim=1, keepdim=True) + eps).sqrt()  # type: ignore[index]
        d = (a - b).pow(2).sum(dim=1).mean(dim=(1, 2))
        total = d if total is None else total + d
    assert total is not None
    return total / len(names)


def lpips_like_ratio(
    student: torch.Tensor,
    teacher: torch.Tensor,
    photo: torch.Tensor,
    vgg: VGGFeatures,
    layers: Sequence[str] = QUALITY_LAYERS,
    eps: float = 1e-12,
) -> torch.Tensor:
    """``feature_distance(student, teacher) / feature_distance(photo, teacher)`` per image.

    0 means the student's features equal the teacher's; 1 means it is no closer to the teacher than
    the unstylized photo. See ``docs/quality-notes.md``.

    Args:
        student: the student's output, RGB 0–255.
        teacher: the teacher's output for the same photo, RGB 0–255.
        photo: the unstylized input, RGB 0–255.
        vgg: the loss network (e.g. :func:`~vstyle.train.lossnet.load_partial_vgg19`).
        layers: feature layers, ``relu2_2`` and ``relu3_4`` by default.
        eps: guards a zero denominator (photo identical to the teacher output).

    Returns:
        One ratio per image.

    Shape:
        - student, teacher, photo: :math:`(N, 3, H, W)`, all equal.
        - output: :math:`(N,)`.
    """
    for name, image in (("student", student), ("teacher", teacher), ("photo", photo)):
        _check_4d(name, image)
        if image.shape != teacher.shape or image.shape[1] != 3:
            raise ValueError(
                f"{name} must be N×3×H×W like the teacher output {tuple(teacher.shape)}. Got {tuple(image.shape)}"
            )
    n = teacher.shape[0]
    feats = vgg(torch.cat([student, teacher, photo]), layers=layers)
    s = {k: v[:n] for k, v in feats.items()}
    t = {k: v[n : 2 * n] for k, v in feats.items()}
    p = {k: v[2 * n :] for k, v in feats.items()}
    return feature_distance(s, t, layers) / feature_distance(p, t, layers).clamp_min(eps)


class StyleLoss(nn.Module):
    """:func:`style_loss` against fixed target Gram matrices (stored as buffers).

    Args:
        style_grams: ``{layer: (1 or N, C, C)}`` target Grams, e.g. ``gram_matrix`` of a style image.
        weights: ``{layer: weight}``.
    """

    def __init__(self, style_grams: Features, weights: Mapping[str, float]) -> None:
        super().__init__()
        missing = [k for k in weights if k not in style_grams]
        if not weights or missing:
            raise ValueError(
                f"weights must name layers of style_grams {sorted(style_grams)}. Got {list(weights)}"
            )
        self.weights = dict(weights)
        for layer in self.weights:
            self.register_buffer(f"gram_{layer}", style_grams[layer].detach().clone())

    def forward(self, feats: Features) -> torch.Tensor:
        grams = {layer: getattr(self, f"gram_{layer}") for layer in self.weights}
        return style_loss(feats, grams, self.weights)


class ContentLoss(nn.Module):
    """:func:`content_loss` over the given layers (all of the generated features' if None)."""

    def __init__(self, layers: Iterable[str] | None = None) -> None:
        super().__init__()
        self.layers = None if layers is None else tuple(layers)

    def forward(self, feats_a: Features, feats_b: Features) -> torch.Tensor:
        return content_loss(feats_a, feats_b, self.layers)


class TotalVariation(nn.Module):
    """:func:`total_variation` averaged over the batch (a scalar loss)."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return total_variation(image).mean()

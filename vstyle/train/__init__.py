"""Training: the frozen VGG loss network and the perceptual losses.

Importing this package does not import torch: names are resolved lazily on first use.

* :class:`VGGFeatures`, :func:`load_partial_vgg19`, :func:`from_torchvision` — loss network.
* :func:`gram_matrix`, :func:`style_loss`, :func:`content_loss`, :func:`total_variation` — losses.
* :func:`feature_distance`, :func:`lpips_like_ratio` — the quality measure of ``docs/quality-notes.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "VGGFeatures": "lossnet",
    "load_partial_vgg19": "lossnet",
    "from_torchvision": "lossnet",
    "gram_matrix": "losses",
    "style_loss": "losses",
    "content_loss": "losses",
    "total_variation": "losses",
    "feature_distance": "losses",
    "lpips_like_ratio": "losses",
    "StyleLoss": "losses",
    "ContentLoss": "losses",
    "TotalVariation": "losses",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    from vstyle.train.lossnet import VGGFeatures, from_torchvision, load_partial_vgg19
    from vstyle.train.losses import (
        ContentLoss,
        StyleLoss,
        TotalVariation,
        content_loss,
        feature_distance,
        gram_matrix,
        lpips_like_ratio,
        style_loss,
        total_variation,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vstyle.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vstyle.train.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

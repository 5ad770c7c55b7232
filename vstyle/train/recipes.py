"""The recipes of the bundled models: ``vstyle train --recipe NAME`` reproduces each one.

Distilled students: ``<style>`` is the ``quality`` layout started from its teacher's weights
(:mod:`vstyle.train.warmstart`) and fine-tuned; ``<style>-tiny`` is the ``tiny`` CPU layout from a
random start. Both learn from the teacher's outputs on the training photos and on real-clip frames,
with the temporal loss on synthetic and real motion. ``starry_night-tiny`` and
``composition_vii-tiny`` are trained from the paintings alone with the perceptual loss.
"""

from __future__ import annotations

from vstyle.errors import ConfigError
from vstyle.train.config import LossWeights, TrainConfig

DISTILLED_STYLES: tuple[str, ...] = ("scream", "udnie", "wave", "wreck")
PAINTINGS: dict[str, str] = {
    "starry_night": "starry_night.jpg",
    "composition_vii": "composition_vii.jpg",
}

#: Perceptual (painting) weights on the partial VGG19 in Caffe scale (features of 0–255 input):
#: content and Gram terms are ~1e5 there, hence the small weights.
PERCEPTUAL = LossWeights(pixel=0.0, gradient=0.0, style=3e-4, content=1e-5, tv=0.5, temporal=20.0)


def recipes() -> dict[str, TrainConfig]:
    """Every named recipe."""
    table: dict[str, TrainConfig] = {}
    for style in DISTILLED_STYLES:
        table[style] = TrainConfig(
            arch="quality", teacher=style, warm_start=True, steps=300, batch=2, crop=128, lr=2e-4
        )
        table[f"{style}-tiny"] = TrainConfig(
            arch="tiny", teacher=style, steps=3000, batch=4, crop=192, lr=2e-3
        )
    for name, image in PAINTINGS.items():
        table[f"{name}-tiny"] = TrainConfig(
            arch="tiny",
            style_image=f"styles/{image}",
            steps=3000,
            batch=2,
            crop=160,
            lr=2e-3,
            weights=PERCEPTUAL,
        )
    return table


def get_recipe(name: str) -> TrainConfig:
    """The recipe called ``name``.

    Raises:
        ConfigError: no such recipe (the message lists them).
    """
    table = recipes()
    if name not in table:
        raise ConfigError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(table))}")
    return table[name]

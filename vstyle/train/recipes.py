"""The recipes of the bundled models: ``vstyle train --recipe NAME`` reproduces each one.

Distilled students: ``<style>`` is the ``quality`` layout started from its teacher's weights
(:mod:`vstyle.train.warmstart`) and fine-tuned; ``<style>-tiny`` is the ``tiny`` CPU layout from a
random start. Both learn from the teacher's outputs on the training photos and on real-clip frames,
with the temporal loss on synthetic and real motion. ``starry_night-fast`` and
``composition_vii-fast`` are trained from the paintings alone with the perceptual loss.
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
PERCEPTUAL = LossWeights(pixel=0.0, gradient=0.0, style=3e-4, content=5e-5, tv=0.5, temporal=20.0)


def recipes() -> dict[str, TrainConfig]:
    """Every named recipe."""
    table: dict[str, TrainConfig] = {}
    for style in DISTILLED_STYLES:
        # A lighter temporal weight than a random start needs: at 20 the warm-started student traded
        # the teacher's strokes for stability (desaturated, flat), measured on held-out photos.
        table[style] = TrainConfig(
            arch="quality",
            teacher=style,
            warm_start=True,
            steps=300,
            batch=2,
            crop=128,
            lr=2e-4,
            weights=LossWeights(temporal=5.0),
        )
        # Teacher targets on every crop (see TrainConfig.teacher_on_crops) cost one teacher call
        # per image, so the crops are smaller and the run shorter than a whole-photo cache allows.
        table[f"{style}-tiny"] = TrainConfig(
            arch="tiny",
            teacher=style,
            steps=1500,
            batch=4,
            crop=160,
            lr=2e-3,
        )
    for name, image in PAINTINGS.items():
        # The fast layout: tiny's 4×4 pixel-shuffle output shows as a grid under the Gram loss.
        table[f"{name}-fast"] = TrainConfig(
            arch="fast",
            style_image=f"styles/{image}",
            steps=1200,
            batch=2,
            crop=128,
            photo_size=192,
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

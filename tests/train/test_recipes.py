"""The bundled models' recipes: every one is a valid config of the kind its name says."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from vstyle.errors import ConfigError  # noqa: E402
from vstyle.train.config import WARM_ARCHS  # noqa: E402
from vstyle.train.recipes import (  # noqa: E402
    DISTILLED_STYLES,
    FAST_STEADY,
    PAINTINGS,
    STEADY_TARGET,
    get_recipe,
    recipes,
)


def test_every_recipe_names_its_architecture_and_source() -> None:
    table = recipes()
    for style in DISTILLED_STYLES:
        quality = table[style]
        assert quality.arch in WARM_ARCHS and quality.warm_start and quality.teacher == style
        # The teacher's own layout only with a steadier target than the teacher's flickering output.
        assert quality.arch != "engstrom" or (style in STEADY_TARGET and quality.teacher_grid > 1)
        # The fast CPU size, in two stages: plain imitation of the teacher, then the temporal loss.
        plain, fast = table[f"{style}-fast-plain"], table[f"{style}-fast"]
        assert plain.teacher == style and plain.weights.temporal == 0
        if style in FAST_STEADY:
            # A CPU layout under the 4x bound, first learning the whole-photo steady target.
            assert plain.arch == fast.arch and plain.arch.startswith("fast-hr") and not plain.teacher_on_crops
            assert plain.teacher_grid > 1 and plain.teacher_blur > 0 and fast.weights.temporal > 0
        else:
            assert plain.arch == fast.arch == "fast" and plain.teacher_on_crops
        assert fast.first_stage == f"{style}-fast-plain"
        # From the first stage's network: distilled into itself, or held to the teacher.
        assert fast.warm_start or (fast.init_recipe and fast.teacher == style)
    tiny, plain = table["scream-tiny"], table["scream-tiny-plain"]
    assert tiny.arch == plain.arch == "tiny" and plain.teacher == "scream" and plain.weights.feature > 0
    assert tiny.teacher_recipe == "scream-tiny-plain" and tiny.warm_start
    for name in PAINTINGS:
        first, shipped = table[f"{name}-painting"], table[f"{name}-fast"]
        assert first.mode == "style" and first.arch == "fast" and first.weights.style > 0
        # The shipped model is the first stage distilled into itself: same layout, warm-started.
        assert shipped.teacher_recipe == f"{name}-painting" and shipped.warm_start
        assert shipped.arch == first.arch and shipped.mode == "distill"
    for name, config in table.items():
        if name.endswith("-plain"):  # a first stage: its second stage adds the temporal loss
            continue
        assert config.weights.temporal > 0, f"{name} must train for temporal consistency"


def test_unknown_recipe_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="scream-tiny"):
        get_recipe("nope")


def test_recipe_teachers_are_valid_only_with_a_name() -> None:
    from vstyle.train.config import TrainConfig

    with pytest.raises(ConfigError, match="recipe name"):
        TrainConfig(arch="fast", teacher="recipe:")
    with pytest.raises(ConfigError, match="warm_start"):
        TrainConfig(arch="fast", teacher="scream", warm_start=True)
    assert TrainConfig(arch="fast", teacher="recipe:x", warm_start=True).teacher_recipe == "x"


def _shared(recorded: object, current: object, default: object) -> object:
    """``current`` cut down to the keys ``recorded`` has (cards written before a field existed); a
    field the card lacks must still be at its default, or the recipe has changed since."""
    if isinstance(recorded, dict) and isinstance(current, dict) and isinstance(default, dict):
        for key in current.keys() - recorded.keys():
            assert current[key] == default.get(key), f"{key} is {current[key]!r}, not the default it had"
        return {key: _shared(recorded[key], current.get(key), default.get(key)) for key in recorded}
    return current


def test_every_bundled_model_is_reproduced_by_todays_recipe() -> None:
    """A shipped model's card records the config it was trained with; the recipe of the same name
    must still give that config, or `vstyle train --recipe NAME` no longer reproduces what ships."""
    import json

    from vstyle.styles import BUNDLED_DIR

    cards = [json.loads(p.read_text())["card"] for p in sorted(BUNDLED_DIR.glob("*.json"))]
    assert len(cards) >= 8
    from vstyle.train.config import TrainConfig

    table = recipes()
    default = TrainConfig(teacher="scream").to_dict()
    for card in cards:
        name = card["name"]
        assert card["command"] == f"vstyle train --recipe {name} --bundle", name
        recorded = card["config"]
        current = table[name].to_dict()
        assert _shared(recorded, current, default) == recorded, (
            f"recipe {name} changed since its model shipped"
        )

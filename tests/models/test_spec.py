"""ArchSpec: validation, JSON round trip, named layouts; importing vstyle needs no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vstyle.errors import ConfigError, ModelError
from vstyle.models.spec import ARCHITECTURES, ArchSpec, get_arch


def test_named_architectures_exist_with_their_size_multiples() -> None:
    assert {"quality", "fast", "tiny", "engstrom"} <= set(ARCHITECTURES)
    assert ARCHITECTURES["quality"].size_multiple == 4
    assert ARCHITECTURES["engstrom"].size_multiple == 4
    for spec in ARCHITECTURES.values():
        assert spec.size_multiple == spec.unshuffle * 2 ** len(spec.down_channels)


def test_quality_is_the_johnson_layout_with_nearest_upsampling_and_reflection() -> None:
    q = ARCHITECTURES["quality"]
    assert (q.stem_channels, q.stem_kernel, q.down_channels, q.res_blocks) == (32, 9, (64, 128), 5)
    assert (q.up_channels, q.upsample, q.out_kernel, q.padding) == ((64, 32), "nearest", 9, "reflect")


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_spec_round_trips_through_dict(name: str) -> None:
    spec = ARCHITECTURES[name]
    assert ArchSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stem_kernel": 4},
        {"up_channels": (64,)},
        {"upsample": "bilinear"},
        {"padding": "zeros"},
        {"unshuffle": 0},
        {"padding": "tf_same", "unshuffle": 2},
        {"head": "relu"},
        {"out_blur": -0.5},
        {"out_blur": 10.0},
    ],
)
def test_invalid_spec_raises_config_error_naming_the_field(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="invalid ArchSpec"):
        ArchSpec("bad", **kwargs)


def test_spec_with_an_output_blur_round_trips_through_dict() -> None:
    spec = ArchSpec("blurred", out_blur=0.6)
    assert ArchSpec.from_dict(spec.to_dict()) == spec and spec.to_dict()["out_blur"] == 0.6


def test_from_dict_with_unknown_field_raises_model_error() -> None:
    data = ARCHITECTURES["tiny"].to_dict() | {"attention": True}
    with pytest.raises(ModelError, match="unknown architecture fields.*attention"):
        ArchSpec.from_dict(data, where="x.pt")


def test_from_dict_with_invalid_value_raises_model_error() -> None:
    data = ARCHITECTURES["tiny"].to_dict() | {"stem_kernel": 2}
    with pytest.raises(ModelError, match="x.pt: invalid architecture"):
        ArchSpec.from_dict(data, where="x.pt")


def test_get_arch_unknown_name_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="expected one of.*quality"):
        get_arch("huge")


def test_importing_vstyle_models_does_not_import_torch() -> None:
    code = (
        "import sys, vstyle, vstyle.models\n"
        "from vstyle.models import ArchSpec, ARCHITECTURES, read_model_metadata, ModelInfo, list_teachers\n"
        "import vstyle.models.metadata, vstyle.models.zoo, vstyle.models.teacher\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'onnx' not in sys.modules, 'onnx was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

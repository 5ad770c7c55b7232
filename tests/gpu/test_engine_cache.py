"""Engine cache: keying, sidecar round trip, mismatch explanations and corrupt-engine detection.

Real files in ``tmp_path``; the "engine" bytes are arbitrary (the cache never interprets them, it only
keys, stores and verifies them), so this runs without TensorRT.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from vstyle.errors import ConfigError
from vstyle.trt.cache import EngineCache, EngineKey, Profile, sidecar_path

ENGINE = bytes(range(256)) * 64  # 16 KiB stand-in for a serialized engine


def key(**changes) -> EngineKey:
    base = EngineKey(
        model_sha256="ab" * 32,
        precision="fp16",
        tensorrt_version="10.3.0",
        gpu_name="NVIDIA A100-SXM4-80GB",
        compute_capability="8.0",
        profile=Profile((1, 64, 64), (1, 720, 1280), (1, 1088, 1920)),
    )
    return dataclasses.replace(base, **changes)


CHANGES = {
    "model_sha256": {"model_sha256": "cd" * 32},
    "precision": {"precision": "int8-qdq"},
    "tensorrt_version": {"tensorrt_version": "10.8.0"},
    "gpu_name": {"gpu_name": "NVIDIA H100 80GB HBM3"},
    "compute_capability": {"compute_capability": "9.0"},
    "profile": {"profile": Profile((1, 64, 64), (1, 720, 1280), (4, 1088, 1920))},
    "format_version": {"format_version": 2},
}
PHRASES = {
    "model_sha256": "built from a model with sha256 ababababab",
    "precision": "built at precision fp16, int8-qdq is wanted",
    "tensorrt_version": "built for TensorRT 10.3.0, this is 10.8.0",
    "gpu_name": "built for GPU NVIDIA A100-SXM4-80GB (compute capability 8.0), this is NVIDIA H100",
    "compute_capability": "(compute capability 8.0), this is NVIDIA A100-SXM4-80GB (compute capability 9.0)",
    "profile": "built for profile N×H×W min 1×64×64, opt 1×720×1280, max 1×1088×1920; wanted",
    "format_version": "written by engine format 1, this vstyle uses 2",
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_each_key_field_gives_another_engine_file(field: str, tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    other = key(**CHANGES[field])
    assert cache.path_for(other, "scream") != cache.path_for(key(), "scream")
    assert other.digest() != key().digest()


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_a_differing_field_is_named_in_words(field: str) -> None:
    diffs = key().differences(key(**CHANGES[field]))
    assert len(diffs) == 1, diffs
    assert PHRASES[field] in diffs[0]


def test_key_digest_is_stable_and_the_label_only_names_the_file(tmp_path: Path) -> None:
    assert (
        key().digest()
        == key().digest()
        == EngineKey.from_dict(json.loads(json.dumps(key().to_dict()))).digest()
    )
    cache = EngineCache(tmp_path)
    path = cache.path_for(key(), "The Scream!")
    assert path.parent == tmp_path and path.suffix == ".engine"
    assert path.name == f"the-scream-fp16-{key().digest()}.engine"


def test_store_then_lookup_returns_the_verified_bytes(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "engines")  # created on the first write
    entry = cache.store(key(), ENGINE, label="scream", settings={"workspace_gib": 2.0}, build_seconds=12.5)
    found = cache.lookup(key(), "scream")
    assert found.status == "hit" and found.engine == ENGINE and found.entry == entry
    assert sorted(p.name for p in (tmp_path / "engines").iterdir()) == sorted(
        [entry.engine_path.name, entry.sidecar_path.name]
    ), "no temporary files are left behind"


def test_sidecar_round_trip_keeps_key_settings_and_hash(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    entry = cache.store(
        key(), ENGINE, label="m", origin="auto", settings={"workspace_gib": 4.0}, build_seconds=3.25,
        extra={"onnx_file": "/x/m.onnx"},
    )  # fmt: skip
    side = json.loads(sidecar_path(entry.engine_path).read_text())
    assert side["format"] == "vstyle-trt-engine" and side["key"] == key().to_dict()
    assert side["engine_size"] == len(ENGINE) and len(side["engine_sha256"]) == 64
    assert side["origin"] == "auto" and side["build_seconds"] == 3.25 and side["created"]
    again = cache.read_entry(entry.engine_path)
    assert again == entry and again.extra == {"onnx_file": "/x/m.onnx"}
    assert EngineKey.from_dict(side["key"]) == key()


def test_missing_engine_names_the_nearest_engine_of_the_same_model(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    found = cache.lookup(key(), "m")
    assert found.status == "missing" and "no engine for this model" in found.reason
    cache.store(key(), ENGINE, label="m")
    newer = key(tensorrt_version="10.8.0")
    found = cache.lookup(newer, "m")
    assert found.status == "missing"
    assert "built for TensorRT 10.3.0, this is 10.8.0" in found.reason
    other_gpu = key(gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0")
    assert "this is NVIDIA H100 80GB HBM3 (compute capability 9.0)" in cache.lookup(other_gpu, "m").reason


def test_sidecar_of_another_key_under_this_name_is_a_mismatch(tmp_path: Path) -> None:
    """An engine copied or renamed by hand: its sidecar says what it really is."""
    cache = EngineCache(tmp_path)
    old = cache.store(key(), ENGINE, label="m")
    wanted = key(tensorrt_version="10.8.0")
    target = cache.path_for(wanted, "m")
    old.engine_path.rename(target)
    old.sidecar_path.rename(sidecar_path(target))
    found = cache.lookup(wanted, "m")
    assert found.status == "mismatch" and found.engine is None
    assert "built for TensorRT 10.3.0, this is 10.8.0" in found.reason


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(ENGINE) // 2]), "truncated"),
        (lambda p: p.write_bytes(p.read_bytes() + b"x"), "changed"),
        (lambda p: p.write_bytes(b"\xff" + p.read_bytes()[1:]), "corrupt or replaced"),
        (lambda p: p.unlink(), "is missing"),
        (lambda p: sidecar_path(p).write_text("{not json"), "unreadable"),
        (lambda p: sidecar_path(p).write_text('{"format": "other"}'), "not a vstyle engine sidecar"),
        (lambda p: sidecar_path(p).write_text('{"format": "vstyle-trt-engine", "key": {}}'), "malformed"),
        (lambda p: sidecar_path(p).unlink(), "has no sidecar"),
    ],
    ids=["truncated", "longer", "flipped", "engine-gone", "bad-json", "foreign", "malformed", "no-sidecar"],
)
def test_damaged_engine_or_sidecar_is_corrupt_never_a_hit(damage, words: str, tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    entry = cache.store(key(), ENGINE, label="m")
    damage(entry.engine_path)
    found = cache.lookup(key(), "m")
    assert found.status == "corrupt" and found.engine is None
    assert words in found.reason


def test_store_replaces_a_corrupt_engine(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    entry = cache.store(key(), ENGINE, label="m")
    entry.engine_path.write_bytes(b"garbage")
    assert cache.lookup(key(), "m").status == "corrupt"
    cache.store(key(), ENGINE[::-1], label="m")
    found = cache.lookup(key(), "m")
    assert found.status == "hit" and found.engine == ENGINE[::-1]


def test_entries_skip_unreadable_sidecars_and_remove_deletes_both(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    a = cache.store(key(), ENGINE, label="a")
    cache.store(key(precision="fp32"), ENGINE, label="b")
    (tmp_path / "junk.engine").write_bytes(b"x")
    assert [e.engine_path.name for e in cache.entries()] == sorted(
        [a.engine_path.name, cache.path_for(key(precision="fp32"), "b").name]
    )
    cache.remove(a)
    assert not a.engine_path.exists() and not a.sidecar_path.exists()
    assert list(EngineCache(tmp_path / "none").entries()) == []


def test_timing_cache_path_is_per_gpu_and_tensorrt_version(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    a = cache.timing_cache_path("10.3.0", "NVIDIA A100-SXM4-80GB", "8.0")
    assert a.parent == tmp_path and a.name == "timing-nvidia-a100-sxm4-80gb-sm80-trt10.3.0.cache"
    assert a != cache.timing_cache_path("10.8.0", "NVIDIA A100-SXM4-80GB", "8.0")


def test_profile_validates_fits_and_widens() -> None:
    p = Profile((1, 64, 64), (1, 360, 640), (2, 720, 1280))
    assert p.fits(1, 720, 1280) and p.fits(2, 64, 64)
    assert not p.fits(3, 360, 640) and not p.fits(1, 1088, 1920) and not p.fits(1, 32, 640)
    wider = p.covering(1, 1080, 1918, multiple=16)
    assert wider.max == (2, 1088, 1920) and wider.min == p.min and wider.opt == p.opt
    assert wider.fits(1, 1080, 1918)
    assert p.covering(1, 40, 40, multiple=8).min == (1, 40, 40)
    assert Profile.from_dict(p.to_dict()) == p
    with pytest.raises(ConfigError, match="min <= opt <= max"):
        Profile((1, 720, 64), (1, 360, 640), (1, 720, 1280))
    with pytest.raises(ConfigError, match="three positive integers"):
        Profile((1, 0, 64), (1, 360, 640), (1, 720, 1280))


def test_key_refuses_unknown_precision_and_bad_sha() -> None:
    with pytest.raises(ConfigError, match="precision"):
        key(precision="int4")
    with pytest.raises(ConfigError, match="64 hex digits"):
        key(model_sha256="abc")
    with pytest.raises(ConfigError, match="incomplete"):
        EngineKey.from_dict({"precision": "fp16"})


def test_same_target_ignores_only_the_profile() -> None:
    assert key().same_target(key(**CHANGES["profile"]))
    assert not key().same_target(key(tensorrt_version="10.8.0"))

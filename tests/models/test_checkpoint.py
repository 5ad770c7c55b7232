"""Checkpoints: lossless round trip, never unpickling code, helpful errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from teacher_files import write_teacher

from vstyle.errors import ModelError
from vstyle.models.checkpoint import load_checkpoint, load_model, save_checkpoint
from vstyle.models.spec import ARCHITECTURES
from vstyle.models.stylenet import StyleNet


class _Payload:
    """Stands for arbitrary code inside a pickle."""


def test_checkpoint_round_trip_keeps_spec_weights_meta_and_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = StyleNet(ARCHITECTURES["tiny"]).eval()
    path = save_checkpoint(net, tmp_path / "sub" / "tiny.pt", meta={"style": "scream", "step": 100})
    assert path.is_file() and not list(path.parent.glob(".*tmp*"))
    ckpt = load_checkpoint(path)
    assert ckpt.spec == net.spec
    assert ckpt.meta == {"style": "scream", "step": 100}
    assert not ckpt.model.training
    x = torch.rand(1, 3, 32, 48) * 255
    with torch.no_grad():
        assert torch.equal(ckpt.model(x), net(x))


def test_load_model_accepts_checkpoint_and_teacher_folder(tmp_path: Path) -> None:
    save_checkpoint(StyleNet(ARCHITECTURES["tiny"]), tmp_path / "m.pt")
    assert load_model(tmp_path / "m.pt").spec.name == "tiny"
    assert load_model(write_teacher(tmp_path / "teacher")).spec.name == "engstrom"


def test_load_model_of_other_file_kind_raises_model_error(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(ModelError, match="expected a vstyle checkpoint"):
        load_model(tmp_path / "m.onnx")


def test_bare_state_dict_is_not_a_checkpoint(tmp_path: Path) -> None:
    torch.save(StyleNet(ARCHITECTURES["tiny"]).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(ModelError, match="not a vstyle checkpoint.*save_checkpoint"):
        load_checkpoint(tmp_path / "bare.pt")


def test_random_bytes_are_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelError, match="not a vstyle checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_code_is_refused_not_executed(tmp_path: Path) -> None:
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"format": "vstyle-checkpoint", "payload": _Payload()}, f)
    with pytest.raises(ModelError, match="weights_only=True"):
        load_checkpoint(tmp_path / "evil.pt")


def test_newer_checkpoint_version_raises_model_error(tmp_path: Path) -> None:
    path = save_checkpoint(StyleNet(ARCHITECTURES["tiny"]), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    torch.save(payload, path)
    with pytest.raises(ModelError, match="version 99.*upgrade vstyle"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_arch_raise_model_error(tmp_path: Path) -> None:
    path = save_checkpoint(StyleNet(ARCHITECTURES["tiny"]), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["arch"] = ARCHITECTURES["fast"].to_dict()
    torch.save(payload, path)
    with pytest.raises(ModelError, match="weights do not fit architecture 'fast'"):
        load_checkpoint(path)


def test_missing_checkpoint_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")

"""The VGG loss network: shapes, Caffe preprocessing, freezing and helpful errors on bad weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="PyTorch (the test extra) is needed for the loss network")
import torch.nn.functional as F  # noqa: E402

from vstyle.errors import ModelError  # noqa: E402
from vstyle.train.lossnet import (  # noqa: E402
    PARTIAL_VGG19_CONFIG,
    VGG_CONFIGS,
    VGGFeatures,
    conv_shapes,
    from_torchvision,
    layer_names,
    load_partial_vgg19,
)

PARTIAL = "lossnet/vgg19_caffe_conv1_1-conv3_4.pth"
ALL_PARTIAL = ["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3", "relu3_4"]


@pytest.fixture(scope="module")
def vgg(shared_data: Path) -> VGGFeatures:
    path = shared_data / PARTIAL
    if not path.is_file():
        pytest.skip(f"{path} is absent; real-weights test skipped")
    return load_partial_vgg19(path)


def _random_state(config: list, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=gen) * 0.1 for k, shape in conv_shapes(config).items()}


@pytest.fixture()
def partial_state() -> dict[str, torch.Tensor]:
    return _random_state(PARTIAL_VGG19_CONFIG)


def test_layer_names_follow_torchvision_indices() -> None:
    names = layer_names(VGG_CONFIGS["vgg19"])
    assert names["relu1_1"] == 1 and names["relu2_2"] == 8 and names["relu3_4"] == 17
    assert names["relu5_4"] == 35
    assert list(layer_names(PARTIAL_VGG19_CONFIG)) == ALL_PARTIAL
    assert list(layer_names(VGG_CONFIGS["vgg16"]))[-1] == "relu5_3"


def test_partial_vgg_shapes(vgg: VGGFeatures) -> None:
    feats = vgg(torch.rand(2, 3, 32, 48) * 255)
    assert list(feats) == ALL_PARTIAL
    assert feats["relu1_1"].shape == (2, 64, 32, 48)
    assert feats["relu2_2"].shape == (2, 128, 16, 24)
    assert feats["relu3_4"].shape == (2, 256, 8, 12)  # 1/4 resolution, 256 channels
    assert all((f >= 0).all() for f in feats.values())


def test_caffe_preprocessing_matches_manual_conv1_1(vgg: VGGFeatures, shared_data: Path) -> None:
    state = torch.load(shared_data / PARTIAL, weights_only=True)
    rgb = torch.rand(1, 3, 5, 7) * 255
    bgr = rgb[:, [2, 1, 0]] - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    expected = F.conv2d(bgr, state["features.0.weight"], state["features.0.bias"], padding=1).relu()
    got = vgg(rgb, layers=["relu1_1"])
    assert list(got) == ["relu1_1"]
    torch.testing.assert_close(got["relu1_1"], expected, rtol=1e-5, atol=1e-4)


def test_returns_requested_layers_only_and_stops_early(partial_state: dict) -> None:
    net = VGGFeatures(PARTIAL_VGG19_CONFIG)
    net.load_state_dict(partial_state)
    calls: list[int] = []
    net.features[5].register_forward_hook(lambda *_: calls.append(5))  # conv2_1
    feats = net(torch.rand(1, 3, 16, 16) * 255, layers=["relu1_2", "relu1_1"])
    assert list(feats) == ["relu1_2", "relu1_1"]
    assert calls == []
    net(torch.rand(1, 3, 16, 16) * 255, layers=["relu2_1"])
    assert calls == [5]


def test_frozen_but_differentiable_wrt_input(partial_state: dict) -> None:
    net = VGGFeatures(PARTIAL_VGG19_CONFIG, layers=["relu2_2"])
    net.load_state_dict(partial_state)
    net.train()
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())
    image = (torch.rand(1, 3, 8, 8) * 255).requires_grad_()
    net(image)["relu2_2"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_load_partial_from_file(tmp_path: Path, partial_state: dict) -> None:
    path = tmp_path / "vgg.pth"
    torch.save(partial_state, path)
    net = load_partial_vgg19(path, layers=["relu3_4"])
    assert list(net(torch.rand(1, 3, 8, 8) * 255)) == ["relu3_4"]
    torch.testing.assert_close(net.features[16].weight, partial_state["features.16.weight"])


def test_exception_wrong_shape(tmp_path: Path, partial_state: dict) -> None:
    partial_state["features.10.weight"] = torch.zeros(256, 64, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(partial_state, path)
    with pytest.raises(ModelError, match=r"features\.10\.weight.*\(256, 128, 3, 3\)\. Got \(256, 64, 3, 3\)"):
        load_partial_vgg19(path)


def test_exception_missing_key(tmp_path: Path, partial_state: dict) -> None:
    del partial_state["features.14.bias"]
    path = tmp_path / "bad.pth"
    torch.save(partial_state, path)
    with pytest.raises(ModelError, match=r"missing 'features\.14\.bias' \(expected shape \(256,\)\)"):
        load_partial_vgg19(path)


def test_exception_not_a_state_dict(tmp_path: Path) -> None:
    listed = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], listed)
    with pytest.raises(ModelError, match="must hold a state dict.*Got list"):
        load_partial_vgg19(listed)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a pickle at all")
    with pytest.raises(ModelError, match="not a PyTorch state dict"):
        load_partial_vgg19(garbage)
    with pytest.raises(ModelError, match="does not exist"):
        load_partial_vgg19(tmp_path / "absent.pth")


def test_exception_bad_input_and_layers(partial_state: dict) -> None:
    net = VGGFeatures(PARTIAL_VGG19_CONFIG)
    with pytest.raises(ValueError, match=r"Got shape \(3, 8, 8\)"):
        net(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="Got dtype torch.uint8"):
        net(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"Got \['relu4_1'\]"):
        net(torch.rand(1, 3, 8, 8), layers=["relu4_1"])
    with pytest.raises(ValueError, match="preprocess"):
        VGGFeatures(PARTIAL_VGG19_CONFIG, preprocess="bgr")  # type: ignore[arg-type]


def test_from_torchvision_state_dict(tmp_path: Path) -> None:
    config = VGG_CONFIGS["vgg16"][:-1]
    state = _random_state(config, seed=1)
    state["classifier.0.weight"] = torch.zeros(4, 4)  # a full torchvision file has these; ignored
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    net = from_torchvision("vgg16", path, layers=["relu1_1", "relu5_3"])
    rgb = torch.rand(1, 3, 32, 32) * 255
    feats = net(rgb)
    assert feats["relu5_3"].shape == (1, 512, 2, 2)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = F.conv2d(
        (rgb / 255 - mean) / std, state["features.0.weight"], state["features.0.bias"], padding=1
    )
    torch.testing.assert_close(feats["relu1_1"], expected.relu(), rtol=1e-4, atol=1e-4)


def test_from_torchvision_exceptions(tmp_path: Path, partial_state: dict) -> None:
    path = tmp_path / "partial.pth"
    torch.save(partial_state, path)
    with pytest.raises(ModelError, match=r"missing 'features\.19\.weight'.*torchvision vgg19"):
        from_torchvision("vgg19", path)
    with pytest.raises(ValueError, match="Got 'vgg11'"):
        from_torchvision("vgg11", path)  # type: ignore[arg-type]


def test_import_is_light() -> None:
    code = "import sys, vstyle.train; assert 'torch' not in sys.modules; print(vstyle.train.__all__[0])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

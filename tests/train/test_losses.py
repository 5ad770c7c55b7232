"""Perceptual losses and the LPIPS-like quality ratio of docs/quality-notes.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch (the test extra) is needed for the losses")
cv2 = pytest.importorskip("cv2")

from vstyle.train.lossnet import VGGFeatures, load_partial_vgg19  # noqa: E402
from vstyle.train.losses import (  # noqa: E402
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


def test_gram_matrix_hand_computed() -> None:
    feats = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]]])  # 1×2×2×2
    # c0·c0 = 30, c0·c1 = 5, c1·c1 = 2, divided by C·H·W = 8.
    expected = torch.tensor([[[3.75, 0.625], [0.625, 0.25]]])
    torch.testing.assert_close(gram_matrix(feats), expected)


def test_gram_matrix_exception() -> None:
    with pytest.raises(ValueError, match=r"Got shape \(2, 2\)"):
        gram_matrix(torch.zeros(2, 2))


def test_style_loss() -> None:
    torch.manual_seed(0)
    feats = {"a": torch.rand(2, 4, 5, 5), "b": torch.rand(2, 8, 3, 3)}
    grams = {k: gram_matrix(v) for k, v in feats.items()}
    assert style_loss(feats, grams, {"a": 1.0, "b": 2.0}).item() == 0.0
    target = {"a": torch.zeros(1, 4, 4)}  # broadcasts over the batch
    one = style_loss(feats, target, {"a": 1.0})
    torch.testing.assert_close(one, gram_matrix(feats["a"]).pow(2).mean())
    torch.testing.assert_close(style_loss(feats, target, {"a": 3.0}), 3 * one)
    torch.testing.assert_close(StyleLoss(target, {"a": 1.0})(feats), one)
    with pytest.raises(ValueError, match="Got"):
        style_loss(feats, {"a": torch.zeros(1, 3, 3)}, {"a": 1.0})
    with pytest.raises(ValueError, match="'c'"):
        style_loss(feats, grams, {"c": 1.0})


def test_content_loss() -> None:
    a, b = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    assert content_loss({"x": a}, {"x": a}).item() == 0.0
    torch.testing.assert_close(content_loss(a, b), (a - b).pow(2).mean())
    torch.testing.assert_close(ContentLoss(["x"])({"x": a, "y": a}, {"x": b}), (a - b).pow(2).mean())
    with pytest.raises(ValueError, match="Got"):
        content_loss({"x": a}, {"x": b[:, :2]})


def test_total_variation() -> None:
    assert total_variation(torch.full((2, 3, 6, 5), 7.0)).tolist() == [0.0, 0.0]
    yy, xx = torch.meshgrid(torch.arange(6), torch.arange(8), indexing="ij")
    board = ((yy + xx) % 2).float().expand(1, 3, 6, 8)
    torch.testing.assert_close(total_variation(board), torch.tensor([2.0]))
    torch.testing.assert_close(total_variation(255 * board), torch.tensor([510.0]))
    stripes = (xx % 2).float().expand(1, 1, 6, 8)  # only horizontal changes
    torch.testing.assert_close(TotalVariation()(stripes), torch.tensor(1.0))
    with pytest.raises(ValueError, match="Got"):
        total_variation(torch.zeros(1, 3, 1, 5))


def test_feature_distance() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 16, 5, 5)
    torch.testing.assert_close(feature_distance(x, x), torch.zeros(2))
    torch.testing.assert_close(feature_distance({"a": x}, {"a": 3 * x}), torch.zeros(2))  # scale-free
    torch.testing.assert_close(feature_distance(x, -x), torch.full((2,), 4.0))
    e0, e1 = torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3)
    e0[:, 0], e1[:, 1] = 1.0, 1.0
    torch.testing.assert_close(feature_distance(e0, e1), torch.tensor([2.0]))  # orthogonal
    # Layers are averaged.
    torch.testing.assert_close(feature_distance({"p": x, "q": x}, {"p": x, "q": -x}), torch.full((2,), 2.0))


@pytest.fixture(scope="module")
def vgg(shared_data: Path) -> VGGFeatures:
    path = shared_data / "lossnet" / "vgg19_caffe_conv1_1-conv3_4.pth"
    if not path.is_file():
        pytest.skip(f"{path} is absent; real-weights test skipped")
    return load_partial_vgg19(path)


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float()


def test_ratio_orders_blurs_like_the_quality_notes(vgg: VGGFeatures, photos_dir: Path) -> None:
    path = photos_dir / "misc" / "chicago.jpg"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    rgb = cv2.resize(rgb, (192, round(192 * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    teacher = _tensor(rgb)  # stands in for the teacher's output
    baseline = 255.0 - teacher  # a strong colour shift (the negative) stands in for the plain photo
    students = torch.cat([_tensor(cv2.GaussianBlur(rgb, (0, 0), s)) for s in (0.7, 2.0)] + [baseline])
    with torch.no_grad():
        ratios = lpips_like_ratio(
            students, teacher.expand(3, -1, -1, -1), baseline.expand(3, -1, -1, -1), vgg
        )
    slight, heavy, same_as_photo = ratios.tolist()
    assert slight < 0.2
    assert slight < heavy / 3
    assert heavy < same_as_photo
    assert same_as_photo == pytest.approx(1.0)


def test_ratio_exception(vgg: VGGFeatures) -> None:
    with pytest.raises(ValueError, match="Got"):
        lpips_like_ratio(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 4, 4), vgg)

"""StyleNet: I/O contract for every architecture and the exactness of its building blocks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from numpy_teacher import same_pads

from vstyle.models.spec import ARCHITECTURES, ArchSpec
from vstyle.models.stylenet import StyleNet, icnr_, tf_same_pad, unshuffle_kernel


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_output_keeps_shape_and_stays_in_0_255(name: str) -> None:
    spec = ARCHITECTURES[name]
    m = spec.size_multiple
    net = StyleNet(spec).eval()
    x = torch.rand(2, 3, 3 * m, 5 * m) * 255
    with torch.no_grad():
        y = net(x * 4 - 300)  # far out of range input must still give an in-range output
    assert y.shape == x.shape
    assert y.dtype == torch.float32
    assert float(y.min()) >= 0.0 and float(y.max()) <= 255.0


@pytest.mark.parametrize("name", ["quality", "fast", "tiny"])
def test_size_not_a_multiple_raises_value_error_saying_pad(name: str) -> None:
    net = StyleNet(ARCHITECTURES[name]).eval()
    m = net.spec.size_multiple
    with pytest.raises(ValueError, match=f"multiples of {m}.*Got"):
        net(torch.zeros(1, 3, 4 * m + 2, 4 * m))


def test_wrong_channel_count_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        StyleNet(ARCHITECTURES["tiny"])(torch.zeros(1, 4, 16, 16))


@pytest.mark.parametrize("factor", [2, 4])
def test_unshuffle_conv_equals_pixel_unshuffle_exactly(factor: int) -> None:
    x = torch.rand(2, 3, 8 * factor, 4 * factor) * 255
    assert torch.equal(F.conv2d(x, unshuffle_kernel(factor), stride=factor), F.pixel_unshuffle(x, factor))


def test_icnr_init_makes_all_subpixels_equal() -> None:
    conv = torch.nn.Conv2d(8, 3 * 16, 3, padding=1)
    icnr_(conv, 4)
    with torch.no_grad():
        y = F.pixel_shuffle(conv(torch.rand(1, 8, 5, 6)), 4)
    blocks = y.unfold(2, 4, 4).unfold(3, 4, 4)  # N, C, h, w, 4, 4
    assert torch.equal(blocks, blocks[..., :1, :1].expand_as(blocks))


@pytest.mark.parametrize("n", range(5, 14))
@pytest.mark.parametrize("kernel,stride", [(3, 2), (3, 1), (9, 1), (5, 2)])
def test_tf_same_pad_matches_the_tf_formula(n: int, kernel: int, stride: int) -> None:
    x = torch.ones(1, 1, n, n + 1)
    y = tf_same_pad(x, kernel, stride)
    (top, bottom), (left, right) = same_pads(n, kernel, stride), same_pads(n + 1, kernel, stride)
    assert y.shape[-2:] == (n + top + bottom, n + 1 + left + right)
    # The original pixels sit after the "before" padding.
    assert float(y[0, 0, top, left]) == 1.0 and (top == 0 or float(y[0, 0, top - 1, left]) == 0.0)


def test_tf_same_network_accepts_odd_sizes_and_returns_the_input_size() -> None:
    net = StyleNet(ARCHITECTURES["engstrom"]).eval()
    with torch.no_grad():
        y = net(torch.rand(1, 3, 21, 27) * 255)
    assert y.shape == (1, 3, 21, 27)


def test_custom_spec_without_down_stages_builds_and_runs() -> None:
    spec = ArchSpec(
        "flat",
        unshuffle=2,
        stem_kernel=3,
        down_channels=(),
        up_channels=(),
        res_blocks=1,
        depthwise_res=True,
        out_kernel=1,
        head="sigmoid",
    )
    with torch.no_grad():
        y = StyleNet(spec)(torch.rand(1, 3, 6, 8) * 255)
    assert y.shape == (1, 3, 6, 8)


def test_antialiased_downsampling_follows_a_one_pixel_move_more_closely() -> None:
    """The same weights with the binomial pre-filter: the output for a picture moved by one pixel
    is nearer the moved output (``ArchSpec.antialias``); the filter is fixed and not checkpointed."""
    torch.manual_seed(0)
    plain = StyleNet(ARCHITECTURES["quality"]).eval()
    smooth = StyleNet(ARCHITECTURES["quality-aa"]).eval()
    assert set(smooth.state_dict()) == set(plain.state_dict())
    smooth.load_state_dict(plain.state_dict())
    coarse = torch.rand(1, 3, 12, 16) * 255
    picture = F.interpolate(coarse, size=(96, 128), mode="bicubic", align_corners=False).clamp(0, 255)

    def move_error(net: StyleNet) -> float:
        with torch.no_grad():
            a, b = net(picture[..., :, :124]), net(picture[..., :, 1:125])
        return float((a[..., 8:-8, 9:-8] - b[..., 8:-8, 8:-9]).pow(2).mean())

    assert move_error(smooth) < 0.85 * move_error(plain), (move_error(smooth), move_error(plain))


def test_output_blur_is_opencvs_gaussian_on_the_same_weights_and_adds_no_weights() -> None:
    """``ArchSpec.out_blur``: the clamped output low-passed exactly as ``cv2.GaussianBlur`` does it
    (reflected borders), with the weights of the network without it."""
    import cv2
    import numpy as np

    from vstyle.models.stylenet import with_output_blur

    torch.manual_seed(0)
    plain = StyleNet(ARCHITECTURES["engstrom"]).eval()
    blurred = with_output_blur(plain, 0.6).eval()
    assert blurred.spec.out_blur == 0.6 and plain.spec.out_blur == 0.0
    assert set(blurred.state_dict()) == set(plain.state_dict())
    x = torch.rand(1, 3, 40, 52) * 255
    with torch.no_grad():
        sharp, soft = plain(x)[0].permute(1, 2, 0).numpy(), blurred(x)[0].permute(1, 2, 0).numpy()
    reference = cv2.GaussianBlur(sharp, (5, 5), 0.6, borderType=cv2.BORDER_REFLECT_101)
    assert np.abs(soft - reference).max() < 1e-3
    assert soft.min() >= 0.0 and soft.max() <= 255.0
    assert np.abs(np.diff(soft, axis=1)).mean() < 0.9 * np.abs(np.diff(sharp, axis=1)).mean()
    with pytest.raises(ValueError, match="output blur needs frames larger"):
        with_output_blur(plain, 1.0)(torch.rand(1, 3, 3, 16) * 255)

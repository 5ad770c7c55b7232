"""PSNR and SSIM against values worked out by hand and against a direct evaluation of the formula."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from vstyle.evaluate import psnr, ssim, ssim_map


def textured(height: int = 64, width: int = 80, seed: int = 0) -> np.ndarray:
    """Blurred noise: detail at every scale a blur can remove."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (height, width, 3)).astype(np.float32), (0, 0), 1.0)
    img = (img - img.min()) / (img.max() - img.min()) * 200 + 25
    return np.round(img).astype(np.uint8)


def test_identical_images_are_perfect() -> None:
    img = textured()
    assert psnr(img, img) == math.inf
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)


def test_psnr_of_known_noise() -> None:
    img = textured()  # values 25…225: ±10 never clips
    checker = np.where((np.indices(img.shape[:2]).sum(axis=0) % 2)[..., None] == 0, 10, -10)
    noisy = (img.astype(np.int16) + checker).astype(np.uint8)
    # Every difference is ±10, so MSE = 100 and PSNR = 10·log10(255² / 100) = 28.1308 dB.
    assert psnr(img, noisy) == pytest.approx(10 * math.log10(255**2 / 100), abs=1e-9)
    assert psnr(img, noisy) == pytest.approx(28.1308, abs=1e-4)
    # A constant offset of 5 on one channel only: MSE = 25 / 3.
    shifted = img.copy()
    shifted[..., 1] += 5
    assert psnr(img, shifted) == pytest.approx(10 * math.log10(255**2 * 3 / 25), abs=1e-9)


def test_ssim_of_flat_images_is_the_luminance_term() -> None:
    a = np.full((20, 20, 3), 100, np.uint8)
    b = np.full((20, 20, 3), 110, np.uint8)
    c1 = (0.01 * 255) ** 2
    # No variance anywhere: the contrast-structure factor is C2/C2 = 1.
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-9)
    assert ssim_map(a, b).shape == (10, 10, 3)  # the 5-pixel border where the window does not fit


def test_ssim_map_matches_the_formula_at_one_pixel() -> None:
    """An explicit 11×11 Gaussian window, σ = 1.5, normalised: the paper's definition, no OpenCV."""
    a, b = textured(seed=1), textured(seed=2)
    k = np.arange(-5, 6)
    g = np.exp(-(k**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    y, x, c = 30, 41, 2
    pa = a[y - 5 : y + 6, x - 5 : x + 6, c].astype(np.float64)
    pb = b[y - 5 : y + 6, x - 5 : x + 6, c].astype(np.float64)
    mu_a, mu_b = (w * pa).sum(), (w * pb).sum()
    var_a, var_b = (w * pa**2).sum() - mu_a**2, (w * pb**2).sum() - mu_b**2
    cov = (w * pa * pb).sum() - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    expected = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    assert ssim_map(a, b)[y - 5, x - 5, c] == pytest.approx(expected, rel=1e-9)


def test_ssim_drops_with_blur_and_is_symmetric() -> None:
    img = textured()
    mild = cv2.GaussianBlur(img, (0, 0), 0.7)
    strong = cv2.GaussianBlur(img, (0, 0), 2.0)
    assert 1.0 > ssim(img, mild) > ssim(img, strong) > 0.0
    assert ssim(img, strong) == pytest.approx(ssim(strong, img), abs=1e-12)
    assert psnr(img, mild) > psnr(img, strong)


def test_rejects_mismatched_or_tiny_images() -> None:
    img = textured()
    with pytest.raises(ValueError, match="same size"):
        psnr(img, img[:-1])
    with pytest.raises(ValueError, match="same size"):
        ssim(img, img[:, :-1])
    with pytest.raises(ValueError, match="at least 11×11"):
        ssim(img[:10], img[:10])
    with pytest.raises(ValueError, match="uint8"):
        psnr(img.astype(np.float32), img.astype(np.float32))

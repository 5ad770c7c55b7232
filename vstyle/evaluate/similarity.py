"""Pixel-level similarity of two images: PSNR and SSIM.

Both compare ``H×W×3 uint8`` RGB images with a peak value of 255. PSNR rewards blur (see
``docs/quality-notes.md``): report it beside a feature-space measure, never alone.

SSIM is Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility to
structural similarity" (IEEE TIP 2004): local means, variances and covariance under an 11×11
Gaussian window with σ = 1.5, ``C1 = (0.01·255)²``, ``C2 = (0.03·255)²``, biased (window-weighted)
moments, averaged over the pixels whose whole window lies inside the image (the paper's "valid"
filtering). It is computed on each of R, G and B separately and the three values are averaged
(colour differences between a student and its teacher matter, and luma alone would hide them).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vstyle.frames import check_image

#: The Gaussian window of Wang et al. (2004): 11×11 pixels, σ = 1.5.
SSIM_WINDOW, SSIM_SIGMA = 11, 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
PEAK = 255.0
#: How :func:`ssim` is computed, in words (recorded in ``eval.json``).
SSIM_DESCRIPTION = (
    f"Wang et al. 2004: {SSIM_WINDOW}x{SSIM_WINDOW} Gaussian window, sigma {SSIM_SIGMA}, "
    f"K1 {SSIM_K1}, K2 {SSIM_K2}, valid pixels only, mean over R, G, B"
)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    check_image(a, "image a")
    check_image(b, "image b")
    if a.shape != b.shape:
        raise ValueError(f"images must have the same size. Got {a.shape} and {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB: ``10·log10(255² / MSE)`` over all pixels and channels.

    Args:
        a: an RGB image.
        b: another RGB image of the same size.

    Returns:
        PSNR in dB; ``inf`` for identical images.

    Shape:
        - a, b: :math:`(H, W, 3)` uint8.

    Raises:
        ValueError: not ``H×W×3 uint8`` or the sizes differ.
    """
    _check_pair(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(PEAK**2 / mse)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The local SSIM index of Wang et al. (2004) per pixel and channel (see the module docstring).

    Written with ``cv2.GaussianBlur`` rather than taken from scikit-image so that vstyle needs no
    extra dependency for one formula; the window, constants and biased moments follow the paper.

    Args:
        a: an RGB image, at least 11×11.
        b: another RGB image of the same size.

    Returns:
        float64 SSIM values where the 11×11 window fits inside the image (a 5-pixel border is
        dropped, like the paper's "valid" filtering).

    Shape:
        - a, b: :math:`(H, W, 3)` uint8.
        - output: :math:`(H - 10, W - 10, 3)`.

    Raises:
        ValueError: not ``H×W×3 uint8``, the sizes differ, or smaller than the window.
    """
    _check_pair(a, b)
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels (its window). "
            f"Got {a.shape[1]}×{a.shape[0]}"
        )
    x, y = a.astype(np.float64), b.astype(np.float64)

    def blur(z: np.ndarray) -> np.ndarray:
        # Inside the cropped region below the border mode never matters: every window is whole.
        return cv2.GaussianBlur(z, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    r = SSIM_WINDOW // 2
    return index[r:-r, r:-r]


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) over pixels and the three colour channels.

    Args:
        a: an RGB image, at least 11×11.
        b: another RGB image of the same size.

    Returns:
        The mean SSIM, 1.0 for identical images (at most 1; near 0 for unrelated ones).

    Shape:
        - a, b: :math:`(H, W, 3)` uint8.

    Raises:
        ValueError: not ``H×W×3 uint8``, the sizes differ, or smaller than 11×11.
    """
    return float(np.mean(ssim_map(a, b)))

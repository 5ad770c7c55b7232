"""An independent float64 numpy forward pass of an Engstrom teacher, written from the format's
definition (TensorFlow semantics), to check the PyTorch import against. No torch here.
"""

from __future__ import annotations

import math

import numpy as np


def same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """TF "SAME" padding of one axis: total max((ceil(n/s)-1)·s + k - n, 0), the extra at the end."""
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv_same(x: np.ndarray, w: np.ndarray, s: int) -> np.ndarray:
    """TF ``conv2d(padding="SAME")``: ``x`` is ``H×W×Cin``, ``w`` is ``k×k×Cin×Cout`` (HWIO)."""
    h, wd, _ = x.shape
    k = w.shape[0]
    (pt, pb), (pl, pr) = same_pads(h, k, s), same_pads(wd, k, s)
    xp = np.pad(x, ((pt, pb), (pl, pr), (0, 0)))
    ho, wo = math.ceil(h / s), math.ceil(wd / s)
    out = np.zeros((ho, wo, w.shape[3]))
    for a in range(k):
        for b in range(k):
            out += xp[a : a + s * (ho - 1) + 1 : s, b : b + s * (wo - 1) + 1 : s, :] @ w[a, b]
    return out


def conv_transpose_same(y: np.ndarray, w: np.ndarray, s: int, out_hw: tuple[int, int]) -> np.ndarray:
    """TF ``conv2d_transpose(padding="SAME")`` by its definition: the adjoint of :func:`conv_same`.

    ``y`` is ``h×w×Cin``, ``w`` is ``k×k×Cout×Cin`` (TF's transposed layout, which is the HWIO weight
    of the forward conv from ``Cout`` to ``Cin`` channels), ``out_hw`` the output size (TF: ``s·h``).
    Every input pixel scatters ``k×k`` weighted copies into the padded output, then the forward conv's
    padding is cut away.
    """
    h, wd = out_hw
    k = w.shape[0]
    (pt, pb), (pl, pr) = same_pads(h, k, s), same_pads(wd, k, s)
    hi, wi = y.shape[:2]
    full = np.zeros((h + pt + pb, wd + pl + pr, w.shape[2]))
    for a in range(k):
        for b in range(k):
            full[a : a + s * (hi - 1) + 1 : s, b : b + s * (wi - 1) + 1 : s, :] += y @ w[a, b].T
    return full[pt : pt + h, pl : pl + wd]


def instance_norm(x: np.ndarray, shift: np.ndarray, scale: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    mu = x.mean(axis=(0, 1), keepdims=True)
    var = ((x - mu) ** 2).mean(axis=(0, 1), keepdims=True)  # biased, as tf.nn.moments
    return scale * (x - mu) / np.sqrt(var + eps) + shift


def teacher_forward(variables: dict[str, np.ndarray], image: np.ndarray) -> np.ndarray:
    """Engstrom's ``transform.net`` on one ``H×W×3`` RGB 0..255 image; returns ``H'×W'×3``.

    ``H'`` is ``4·ceil(ceil(H/2)/2)`` as in TensorFlow (equal to ``H`` for multiples of 4).
    """
    v = [variables["Variable" if i == 0 else f"Variable_{i}"].astype(np.float64) for i in range(48)]
    layer = iter(range(16))

    def conv(x: np.ndarray, s: int, relu: bool = True) -> np.ndarray:
        i = next(layer)
        y = instance_norm(conv_same(x, v[3 * i], s), v[3 * i + 1], v[3 * i + 2])
        return np.maximum(y, 0) if relu else y

    def deconv(x: np.ndarray) -> np.ndarray:
        i = next(layer)
        y = conv_transpose_same(x, v[3 * i], 2, (2 * x.shape[0], 2 * x.shape[1]))
        return np.maximum(instance_norm(y, v[3 * i + 1], v[3 * i + 2]), 0)

    x = conv(image.astype(np.float64), 1)
    x = conv(x, 2)
    x = conv(x, 2)
    for _ in range(5):
        x = x + conv(conv(x, 1), 1, relu=False)
    x = deconv(x)
    x = deconv(x)
    x = conv(x, 1, relu=False)
    return np.tanh(x) * 150 + 127.5

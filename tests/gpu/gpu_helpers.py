"""Helpers of the GPU-path tests: the ONNX Runtime reference, PSNR and frame-like batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def ort_run(path: Path, batch: np.ndarray) -> np.ndarray:
    """ONNX Runtime CPU's output for ``batch``: the reference every backend is compared with."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def smooth_batch(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """``n×3×h×w`` float32 0..255: gradients plus noise, like a frame rather than pure noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    base = np.stack([xx / w * 255, yy / h * 255, (xx + yy) / (h + w) * 255])
    return np.clip(base[None] + rng.normal(0, 20, (n, 3, h, w)), 0, 255).astype(np.float32)

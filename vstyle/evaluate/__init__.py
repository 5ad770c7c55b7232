"""Evaluating a style network: flicker, fidelity to a teacher, style scores, pictures to look at.

* :func:`evaluate` — the whole run behind ``vstyle eval``: writes ``eval.json``, ``contact.png`` and
  ``xt_<clip>.png`` into a folder (:mod:`vstyle.evaluate.report`).
* :func:`clip_flicker`, :func:`gt_flow_flicker`, :func:`xt_image` — temporal stability
  (:mod:`vstyle.evaluate.flicker`).
* :func:`psnr`, :func:`ssim` — pixel similarity (:mod:`vstyle.evaluate.similarity`).
* :class:`PerceptualScorer` — LPIPS-like ratio, Gram style and content loss on the loss network
  (:mod:`vstyle.evaluate.perceptual`; needs PyTorch, imported only when used).
"""

from __future__ import annotations

from vstyle.evaluate.flicker import (
    DEFAULT_CLIPS,
    Clip,
    ClipFlicker,
    FlowPair,
    clip_flicker,
    gt_flow_flicker,
    load_clip,
    middlebury_pairs,
    middlebury_root,
    resolve_clip,
    xt_image,
    xt_slice,
)
from vstyle.evaluate.inputs import (
    default_out_dir,
    heldout_photos,
    model_card,
    model_label,
    model_path,
    photo_input,
    resolve_style_image,
)
from vstyle.evaluate.perceptual import PerceptualScorer, default_lossnet, perceptual_unavailable
from vstyle.evaluate.report import EVAL_FORMAT, EVAL_FORMAT_VERSION, evaluate, summary
from vstyle.evaluate.similarity import psnr, ssim, ssim_map

__all__ = [
    "DEFAULT_CLIPS",
    "EVAL_FORMAT",
    "EVAL_FORMAT_VERSION",
    "Clip",
    "ClipFlicker",
    "FlowPair",
    "PerceptualScorer",
    "clip_flicker",
    "default_lossnet",
    "default_out_dir",
    "evaluate",
    "gt_flow_flicker",
    "heldout_photos",
    "load_clip",
    "middlebury_pairs",
    "middlebury_root",
    "model_card",
    "model_label",
    "model_path",
    "perceptual_unavailable",
    "photo_input",
    "psnr",
    "resolve_clip",
    "resolve_style_image",
    "ssim",
    "ssim_map",
    "summary",
    "xt_image",
    "xt_slice",
]

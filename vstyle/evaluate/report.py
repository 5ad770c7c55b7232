"""One evaluation run: flicker, fidelity to a teacher and style scores, written to a folder.

:func:`evaluate` checks every argument first (clips, style image, models, the output folder), then
stylizes, measures, and writes ``contact.png``, ``xt_<clip>.png`` and finally ``eval.json`` into
``out_dir``, each under a temporary name renamed into place: a run that fails leaves no file
behind, and an ``eval.json`` present means a complete run. The JSON depends only on the inputs
and settings (no command line, no clock), so two runs of one model compare directly.

``eval.json`` (``format: "vstyle-eval"``, ``format_version: 1``):

* ``model``, ``teacher`` (or ``null``): ``name, path, sha256, sha256_from, architecture, source``.
* ``settings``: ``frames, height, photos, photo_size, flow, ssim, style_image, lossnet, stabilize``.
* ``clips``: ``skipped`` (a reason or ``null``) and ``items``, one per clip: ``name, path, frames,
  size, E_output, E_input, ratio, valid_fraction, teacher {E_output, ratio}, xt_png, xt_panels``,
  and with ``stabilize > 0`` also ``stabilized {strength, E_output, ratio, ms_per_frame}``.
* ``middlebury``: ``skipped, flow, items`` (``sequence, size`` and the same error keys) and the
  means ``E_output, E_input, ratio`` (``teacher`` too, with a teacher).
* ``photos``: ``skipped, count, items`` (``photo, size``; with a teacher ``psnr, ssim,
  lpips_like_ratio``; with the loss network ``student``/``teacher`` ``{style_loss, content_loss}``),
  ``fidelity`` (means, or ``skipped``), ``scores`` (``skipped, layers, style_skipped, student,
  teacher``), ``contact_png``.

Values that are not finite (the PSNR of identical images, a 0/0 ratio) are written as ``null``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from vstyle import __version__
from vstyle.capture.images import read_rgb
from vstyle.config import StylizeConfig
from vstyle.contact import contact_sheet, save_png
from vstyle.data import shared_data_dir
from vstyle.errors import ConfigError, DataError, ModelError, SinkError
from vstyle.evaluate.flicker import (
    DEFAULT_CLIPS,
    ClipFlicker,
    clip_flicker,
    gt_flow_flicker,
    load_clip,
    middlebury_pairs,
    middlebury_root,
    resolve_clip,
    shared_clips,
    xt_image,
)
from vstyle.evaluate.inputs import (
    ModelSpec,
    heldout_photos,
    model_card,
    model_path,
    photo_input,
    resolve_style_image,
    teacher_path,
)
from vstyle.evaluate.perceptual import PerceptualScorer, default_lossnet, perceptual_unavailable
from vstyle.evaluate.similarity import SSIM_DESCRIPTION, psnr, ssim
from vstyle.metrics import write_json_atomic
from vstyle.stylizer import Stylizer
from vstyle.temporal.warping_error import WarpingError, warping_error

log = logging.getLogger(__name__)

EVAL_FORMAT = "vstyle-eval"
#: Version of the ``eval.json`` layout; bumped when a key changes meaning or moves.
EVAL_FORMAT_VERSION = 1
EVAL_JSON, CONTACT_PNG = "eval.json", "contact.png"


def _check_settings(frames: int, height: int, photos: int | Sequence[Any], photo_size: int) -> None:
    if frames < 2:
        raise ConfigError(
            f"frames must be at least 2 (the warping error compares consecutive frames). Got {frames}"
        )
    if not 16 <= height <= 4320:
        raise ConfigError(f"height must be between 16 and 4320 pixels. Got {height}")
    if isinstance(photos, int) and photos < 0:
        raise ConfigError(f"photos must be 0 or more. Got {photos}")
    if not 16 <= photo_size <= 4096:
        raise ConfigError(f"photo size must be between 16 and 4096 pixels. Got {photo_size}")


def _safe_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "clip"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _finite(data: Any) -> Any:
    """JSON has no inf/NaN: they become ``null`` (PSNR of identical images, a 0/0 ratio)."""
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    if isinstance(data, (float, np.floating)):
        return float(data) if math.isfinite(data) else None
    if isinstance(data, np.integer):
        return int(data)
    return data


def _ratio(a: float, b: float) -> float:
    if b == 0.0:
        return math.nan if a == 0.0 else math.inf
    return a / b


def evaluate(
    model: ModelSpec = None,
    *,
    out_dir: str | os.PathLike[str],
    teacher: ModelSpec = None,
    style_image: str | os.PathLike[str] | None = None,
    clips: Sequence[str | os.PathLike[str]] | None = None,
    frames: int = 24,
    height: int = 180,
    photos: int | Sequence[str | os.PathLike[str]] = 8,
    photo_size: int = 256,
    middlebury: bool = True,
    lossnet: str | os.PathLike[str] | None = None,
    backend: str = "auto",
    overwrite: bool = False,
    stabilize: float = 0.0,
) -> dict[str, Any]:
    """Evaluate a style network and write ``eval.json``, ``contact.png`` and ``xt_<clip>.png``.

    Args:
        model: the network: an ``.onnx`` file, a ``.pt`` checkpoint, a teacher folder or a style
            name; ``None`` is the default style.
        out_dir: the folder to write into (created).
        teacher: a network the model should imitate (same forms, e.g. ``"scream"``); enables PSNR,
            SSIM and the LPIPS-like ratio on photos and the teacher's own flicker as a reference.
        style_image: the painting for the Gram style loss: an image path or a name in the shared
            ``styles/`` folder (``the_scream``); ``None`` skips the style loss.
        clips: video paths or shared clip names; ``None`` takes :data:`DEFAULT_CLIPS` from the shared
            data where present (skipped otherwise); ``()`` measures no clip.
        frames: consecutive frames per clip (at least 2).
        height: processing height of the clips.
        photos: how many held-out shared photos (0 for none), or explicit photo paths.
        photo_size: photos are scaled so the short side is this, rounded to the models' size multiple.
        middlebury: measure flicker on the Middlebury pairs with ground-truth flow (where present).
        lossnet: the partial VGG19 state dict; ``None`` takes the shared one (skipped if absent).
        backend: inference backend (``"auto"``, ``"onnxruntime"``…).
        overwrite: replace an existing ``eval.json`` in ``out_dir``.
        stabilize: also measure the student's clips through the inference-time
            :class:`~vstyle.temporal.stabilizer.Stabilizer` at this strength (0 = not), with its cost
            in ms per frame; each clip row gains a ``stabilized`` entry.

    Returns:
        The report written to ``eval.json`` (keys in the module docstring).

    Raises:
        ConfigError: a setting is out of range.
        SinkError: ``eval.json`` exists and ``overwrite`` is false, or ``out_dir`` is not a folder.
        SourceError: a clip, photo or style image is missing or unreadable, or a clip is too short.
        ModelError: a model or teacher cannot be found or loaded.
    """
    # 1. Everything that can be wrong with the arguments, before any slow work or any file written.
    _check_settings(frames, height, photos, photo_size)
    if not 0.0 <= stabilize < 1.0:
        raise ConfigError(f"stabilize strength must be in [0, 1) (0 = off), got {stabilize}")
    out = Path(out_dir)
    report_path = out / EVAL_JSON
    if out.exists() and not out.is_dir():
        raise SinkError(f"--out {out} exists and is not a folder; pass a folder for the evaluation files")
    if report_path.exists() and not overwrite:
        raise SinkError(f"{report_path} exists; pass --overwrite (overwrite=True) or choose another --out")
    clip_skip = None
    if clips is None:
        known = shared_clips()
        clip_files = [known[n] for n in DEFAULT_CLIPS if n in known]
        clip_skip = None if clip_files else "no clips given and no shared video/ folder"
    else:
        clip_files = [resolve_clip(c) for c in clips]
        clip_skip = None if clip_files else "no clips given"
    style_file = resolve_style_image(style_image) if style_image is not None else None
    style_rgb = read_rgb(style_file) if style_file is not None else None
    photo_skip = None
    if isinstance(photos, int):
        photo_files: list[Path] = []
        if photos == 0:
            photo_skip = "no photos asked for (photos=0)"
        else:
            try:
                photo_files = heldout_photos(photos)
            except DataError as error:
                photo_skip = str(error)
    else:
        photo_files = [Path(os.fspath(p)) for p in photos]
        photo_skip = None if photo_files else "no photos given"
    photo_rgb = [read_rgb(p) for p in photo_files]
    lossnet_file = Path(os.fspath(lossnet)) if lossnet is not None else default_lossnet()
    perceptual_skip = perceptual_unavailable(lossnet_file)
    if lossnet is not None and perceptual_skip is not None and not Path(os.fspath(lossnet)).is_file():
        raise ModelError(
            f"{perceptual_skip}; pass the partial VGG19 state dict (.pth) or leave lossnet unset"
        )
    student_file = model_path(model)
    teacher_file = teacher_path(teacher) if teacher is not None else None
    loaded = [load_clip(p, frames, height) for p in clip_files]
    mb_root = middlebury_root() if middlebury else None
    mb_skip = None if mb_root else ("not asked for" if not middlebury else "no shared flow/middlebury folder")
    pairs = middlebury_pairs(mb_root) if mb_root is not None else []

    report: dict[str, Any] = {
        "format": EVAL_FORMAT,
        "format_version": EVAL_FORMAT_VERSION,
        "vstyle_version": __version__,
        "model": model_card(student_file, model),
        "teacher": model_card(teacher_file, teacher) if teacher_file is not None else None,
        "settings": {
            "frames": frames,
            "height": height,
            "photos": len(photo_files),
            "photo_size": photo_size,
            "flow": "DIS medium on the input frames, Ruder et al. occlusion mask",
            "ssim": SSIM_DESCRIPTION,
            "style_image": str(style_file) if style_file is not None else None,
            "lossnet": str(lossnet_file) if perceptual_skip is None else None,
            "stabilize": stabilize,
        },
    }

    # 2. Run the networks. Both keep the size they are given (height=None): clips are already at
    # the processing height and photos at multiples of the size multiple.
    images: dict[str, np.ndarray] = {}
    with ExitStack() as stack:
        nets = {
            "student": stack.enter_context(
                Stylizer(StylizeConfig(model=student_file, backend=backend, workers=1))
            )
        }
        if teacher_file is not None:
            nets["teacher"] = stack.enter_context(
                Stylizer(StylizeConfig(model=teacher_file, backend=backend, workers=1))
            )
        multiple = math.lcm(*(n.size_multiple for n in nets.values()))

        clip_rows = []
        used: set[str] = set()
        for clip in loaded:
            log.info("flicker: %s, %d frames at %dx%d", clip.name, len(clip.frames), *clip.size)
            runs = {role: clip_flicker(net, clip.frames) for role, net in nets.items()}
            stem = _safe_name(clip.name, used)
            panels = [r for r in ("teacher", "student") if r in runs]  # the contact sheet's order
            columns = [runs["student"].inputs, *(runs[r].outputs for r in panels)]
            row = _flicker_row(runs["student"].error, runs["teacher"].error if "teacher" in runs else None)
            if stabilize > 0:
                steady, row["stabilized"] = _stabilized(runs["student"], stabilize)
                columns.append(steady)
                panels.append("stabilized")
            images[f"xt_{stem}.png"] = xt_image(columns)
            clip_rows.append(
                {
                    "name": clip.name,
                    "path": str(clip.path),
                    "frames": len(clip.frames),
                    "size": list(clip.size),
                    **row,
                    "xt_png": f"xt_{stem}.png",
                    "xt_panels": ["input", *panels],
                }
            )

        mb_rows = []
        for pair in pairs:
            log.info("middlebury: %s", pair.name)
            errors = {role: gt_flow_flicker(net, pair) for role, net in nets.items()}
            size = [pair.first.shape[1], pair.first.shape[0]]
            row = _flicker_row(errors["student"], errors.get("teacher"))
            mb_rows.append({"sequence": pair.name, "size": size, **row})

        photo_in = [photo_input(img, photo_size, multiple) for img in photo_rgb]
        outputs = {role: [net(p) for p in photo_in] for role, net in nets.items()}

    report["clips"] = {"skipped": clip_skip, "items": clip_rows}
    report["middlebury"] = _middlebury_section(mb_skip, mb_rows, teacher_file is not None)

    # 3. Photos: fidelity to the teacher and feature-space scores.
    report["photos"] = _photo_section(
        photo_skip, photo_files, photo_in, outputs, perceptual_skip, lossnet_file, style_rgb, photo_size
    )
    if photo_in:
        rows = [
            [p, *(outputs[r][i] for r in ("teacher", "student") if r in outputs)]
            for i, p in enumerate(photo_in)
        ]
        images[CONTACT_PNG] = contact_sheet(rows, cell_height=min(photo_size, 256))
        report["photos"]["contact_png"] = CONTACT_PNG

    # 4. Files: pictures first, the report last (its presence means the run completed).
    report = _finite(report)
    out.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        save_png(out / name, image)
    write_json_atomic(report_path, report)
    log.info("wrote %s", report_path)
    return report


def _stabilized(run: ClipFlicker, strength: float) -> tuple[list[np.ndarray], dict[str, Any]]:
    """The student's clip through the stabilizer: its frames, warping error and cost per frame."""
    from vstyle.temporal.stabilizer import Stabilizer

    stabilizer = Stabilizer(strength)
    frames, seconds = [], []
    for source, styled in zip(run.inputs, run.outputs):
        t0 = time.perf_counter()
        frames.append(stabilizer(source, styled))
        seconds.append(time.perf_counter() - t0)
    error = warping_error(run.inputs, frames)
    # The first frame only primes the stabilizer (no flow): its time is not a blended frame's.
    row = {
        "strength": strength,
        "E_output": error.output,
        "ratio": error.ratio,
        "ms_per_frame": float(np.median(seconds[1:])) * 1e3,
    }
    return frames, row


def _flicker_row(error: WarpingError, teacher: WarpingError | None) -> dict[str, Any]:
    row = {
        "E_output": error.output,
        "E_input": error.input,
        "ratio": error.ratio,
        "valid_fraction": float(np.mean(error.valid_fraction)),
        "teacher": None,
    }
    if teacher is not None:
        row["teacher"] = {"E_output": teacher.output, "ratio": teacher.ratio}
    return row


def _middlebury_section(skip: str | None, rows: list[dict[str, Any]], has_teacher: bool) -> dict[str, Any]:
    section: dict[str, Any] = {
        "skipped": skip,
        "flow": "ground truth (flow10.flo), native size",
        "items": rows,
    }
    if rows:
        e_out, e_in = (float(np.mean([r[k] for r in rows])) for k in ("E_output", "E_input"))
        section.update(E_output=e_out, E_input=e_in, ratio=_ratio(e_out, e_in))
        if has_teacher:
            e_teacher = float(np.mean([r["teacher"]["E_output"] for r in rows]))
            section["teacher"] = {"E_output": e_teacher, "ratio": _ratio(e_teacher, e_in)}
    return section


def _photo_section(
    skip: str | None,
    files: list[Path],
    inputs: list[np.ndarray],
    outputs: dict[str, list[np.ndarray]],
    perceptual_skip: str | None,
    lossnet: Path | None,
    style_rgb: np.ndarray | None,
    photo_size: int,
) -> dict[str, Any]:
    has_teacher = "teacher" in outputs
    section: dict[str, Any] = {"skipped": skip, "count": len(inputs), "items": []}
    if not inputs:
        return section
    scorer = None
    if perceptual_skip is None:
        assert lossnet is not None
        scorer = PerceptualScorer(lossnet, style_rgb, style_size=photo_size)
    root = shared_data_dir()
    items = []
    for i, (path, photo) in enumerate(zip(files, inputs)):
        student = outputs["student"][i]
        item: dict[str, Any] = {"photo": _photo_name(path, root), "size": [photo.shape[1], photo.shape[0]]}
        if has_teacher:
            teacher = outputs["teacher"][i]
            item.update(psnr=psnr(student, teacher), ssim=ssim(student, teacher))
            item["lpips_like_ratio"] = scorer.lpips_like_ratio(student, teacher, photo) if scorer else None
        if scorer is not None:
            item["student"] = scorer.scores(student, photo)
            item["teacher"] = scorer.scores(outputs["teacher"][i], photo) if has_teacher else None
        items.append(item)
    section["items"] = items
    section["fidelity"] = {"skipped": None if has_teacher else "no teacher given"}
    if has_teacher:
        section["fidelity"].update(
            psnr=float(np.mean([it["psnr"] for it in items])),  # inf where a pair is identical
            ssim=_mean([it["ssim"] for it in items]),
            lpips_like_ratio=_mean([it["lpips_like_ratio"] for it in items]),
        )
    scores: dict[str, Any] = {"skipped": perceptual_skip}
    if scorer is not None:
        scores["layers"] = {k: list(v) for k, v in scorer.layers.items()}
        scores["style_skipped"] = None if scorer.has_style else "no style image given"
        for role in ("student", "teacher"):
            if role in outputs:
                scores[role] = {
                    k: _mean([it[role][k] for it in items]) for k in ("style_loss", "content_loss")
                }
    section["scores"] = scores
    return section


def _photo_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to((root / "photos").resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def summary(report: dict[str, Any]) -> str:
    """A few lines for people: warping-error ratio per clip, Middlebury, PSNR/SSIM/LPIPS-like."""
    lines = [f"model {report['model']['name']} (sha256 {report['model']['sha256'][:12]})"]
    clips = report["clips"]
    if clips["skipped"]:
        lines.append(f"clips: skipped ({clips['skipped']})")
    for row in clips["items"]:
        teacher = f", teacher {_fmt(row['teacher']['ratio'])}" if row["teacher"] else ""
        lines.append(
            f"E_warp ratio {row['name']}: {_fmt(row['ratio'])}{teacher}  (output/input, 1 = no added flicker)"
        )
        if row.get("stabilized"):
            st = row["stabilized"]
            lines.append(
                f"  with the stabilizer at {st['strength']:g}: {_fmt(st['ratio'])}, "
                f"{st['ms_per_frame']:.1f} ms per frame"
            )
    mb = report["middlebury"]
    if mb["skipped"]:
        lines.append(f"middlebury: skipped ({mb['skipped']})")
    elif mb["items"]:
        teacher = f", teacher {_fmt(mb['teacher']['ratio'])}" if mb.get("teacher") else ""
        lines.append(
            f"E_warp ratio middlebury (GT flow, {len(mb['items'])} pairs): {_fmt(mb['ratio'])}{teacher}"
        )
    photos = report["photos"]
    if photos["skipped"]:
        lines.append(f"photos: skipped ({photos['skipped']})")
    fidelity = photos.get("fidelity", {})
    if photos["count"] and fidelity.get("skipped") is None:
        psnr_text = "inf" if fidelity["psnr"] is None else f"{fidelity['psnr']:.2f}"
        ssim_text, lpips_text = _fmt(fidelity["ssim"], ".3f"), _fmt(fidelity["lpips_like_ratio"], ".3f")
        lines.append(
            f"vs teacher on {photos['count']} photos: PSNR {psnr_text} dB, SSIM {ssim_text}, "
            f"LPIPS-like ratio {lpips_text} (0 best, 1 = no closer than the photo)"
        )
    scores = photos.get("scores", {})
    if scores.get("skipped"):
        lines.append(f"style scores: skipped ({scores['skipped']})")
    elif "student" in scores:
        s = scores["student"]
        lines.append(
            f"style loss {_fmt(s['style_loss'], '.4g')}, content loss {_fmt(s['content_loss'], '.4g')}"
        )
    return "\n".join(lines)

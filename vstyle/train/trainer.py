"""The training loop: distillation or perceptual style training, with a temporal-consistency loss.

Every step takes ``batch`` frame pairs ``(a, b)`` with a known flow ``F`` (``a ≈ warp(b, F)``) and
an occlusion mask ``M``: either a photo moved by synthetic motion (exact flow, see
:mod:`vstyle.train.motion`) or consecutive frames of a real clip (DIS flow and Ruder et al.'s
occlusion mask, see :mod:`vstyle.train.banks`). Both frames go through the student in one batch;
the losses are those of :class:`~vstyle.train.config.LossWeights`.

A run lives in one folder: ``checkpoint.pt`` (weights, optimizer and random state, written
atomically every ``checkpoint_every`` steps, so a run resumes where it stopped), ``losses.json`` and
``losses.png`` (the loss curves), ``samples/step_NNNNNN.png`` (held-out photos: input | teacher |
student), and at the end ``model.pt`` and ``model.onnx`` with its sidecar.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from vstyle.capture.images import read_rgb
from vstyle.contact import contact_sheet, save_png
from vstyle.data import shared_data_dir
from vstyle.errors import ConfigError, DataError, ModelError
from vstyle.models.checkpoint import load_checkpoint, save_checkpoint
from vstyle.models.spec import get_arch
from vstyle.models.stylenet import StyleNet, with_output_blur
from vstyle.temporal.warp import backward_warp_torch
from vstyle.train.banks import ClipBank, PhotoBank, resize_short
from vstyle.train.config import TrainConfig
from vstyle.train.losses import (
    CONTENT_LAYERS,
    STYLE_LAYERS,
    content_loss,
    feature_distance,
    gram_matrix,
    style_loss,
    total_variation,
)
from vstyle.train.motion import synthetic_pairs

#: Layer of the distillation feature term: Johnson et al.'s content layer. The LPIPS-like measure
#: that judges students also reads relu3_4, which no training term sees.
FEATURE_LAYER = "relu2_2"
from vstyle.train.photos import split_photos

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
LOSSNET_FILE = "vgg19_caffe_conv1_1-conv3_4.pth"
SAMPLE_PHOTOS = 4


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    out_dir: Path
    onnx: Path | None
    checkpoint: Path
    steps: int
    seconds: float
    final_losses: dict[str, float]


def teacher_source(spec: str) -> Path:
    """The file or folder a teacher spec names: an ``.onnx`` file, a teacher folder, or a style in
    ``../shared/data/teachers`` (never a bundled style of the same name: those are students).

    Raises:
        ModelError: none of those.
    """
    path = Path(spec)
    if path.suffix.lower() == ".onnx" or path.is_dir():
        return path
    root = shared_data_dir()
    folder = None if root is None else root / "teachers" / spec
    if folder is None or not folder.is_dir():
        raise ModelError(
            f"teacher {spec!r} is neither an .onnx file, a teacher folder nor a style in "
            "../shared/data/teachers; pass one of those"
        )
    return folder


class Teacher:
    """A teacher network run with ONNX Runtime (the fastest way to get its outputs on a CPU)."""

    def __init__(self, spec: str) -> None:
        from vstyle.backends.onnxrt import OnnxRuntimeBackend
        from vstyle.models.metadata import file_sha256, read_model_metadata
        from vstyle.styles import resolve_model

        source = teacher_source(spec)
        self.folder: Path | None = source if source.is_dir() else None
        onnx = resolve_model(source, None)
        self.onnx = onnx
        self.sha256 = file_sha256(onnx)
        self.multiple = read_model_metadata(onnx).size_multiple
        self._backend = OnnxRuntimeBackend(onnx)
        self._backend.load()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        m = self.multiple
        padded = np.pad(image, ((0, -h % m), (0, -w % m), (0, 0)), mode="reflect")
        batch = padded.transpose(2, 0, 1)[None].astype(np.float32)
        out = self._backend.infer(batch)[0][:, :h, :w]
        return np.clip(out.transpose(1, 2, 0) + 0.5, 0, 255).astype(np.uint8)

    def grid_mean(self, image: np.ndarray, period: int) -> np.ndarray:
        """The mean of the teacher's outputs with its sampling grid at every offset in ``range(period)²``.

        Each offset runs the teacher on the picture reflect-padded by ``period`` and cut so that the
        picture's first pixel lands at another residue modulo ``period``; the output is cut back to
        the picture. ``H×W×3`` uint8 in, ``H×W×3`` float32 (0–255) out; ``period`` 1 is the teacher.
        """
        if period <= 1:
            return self(image).astype(np.float32)
        h, w = image.shape[:2]
        p, m = period, self.multiple
        # All p² windows have one size, so they go through the network as one batch.
        padded = np.pad(image, ((p, p + -(h + p) % m), (p, p + -(w + p) % m), (0, 0)), mode="reflect")
        hh, ww = h + p + -(h + p) % m, w + p + -(w + p) % m
        offsets = [(dy, dx) for dy in range(p) for dx in range(p)]
        windows = np.stack([padded[dy : dy + hh, dx : dx + ww] for dy, dx in offsets])
        outs = self._backend.infer(windows.transpose(0, 3, 1, 2).astype(np.float32))
        total = np.zeros((3, h, w), np.float32)
        for (dy, dx), out in zip(offsets, outs):
            total += np.clip(out[:, p - dy : p - dy + h, p - dx : p - dx + w], 0, 255)
        return (total / (p * p)).transpose(1, 2, 0).copy()

    def close(self) -> None:
        self._backend.close()


def lossnet_path() -> Path:
    """The partial VGG19 loss network in the shared data.

    Raises:
        DataError: it is not there.
    """
    root = shared_data_dir()
    path = None if root is None else root / "lossnet" / LOSSNET_FILE
    if path is None or not path.is_file():
        raise DataError(
            f"the loss network ({LOSSNET_FILE}) was not found in ../shared/data/lossnet; "
            "set VSTYLE_SHARED_DATA to the shared data folder"
        )
    return path


def clip_paths(names: tuple[str, ...]) -> list[Path]:
    """Resolve clip names (in the shared data's ``video`` folder) or paths."""
    root = shared_data_dir()
    paths = []
    for name in names:
        path = Path(name)
        if not path.suffix and root is not None:
            path = root / "video" / f"{name}.mp4"
        if not path.is_file():
            raise DataError(
                f"clip {name!r} not found (looked for {path}); pass a video file or a shared clip name"
            )
        paths.append(path)
    return paths


def _to_image(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().clamp(0, 255).round().byte().permute(1, 2, 0).numpy()


class Trainer:
    """Runs one :class:`TrainConfig` in ``out_dir``; resumes from its checkpoint when one is there.

    Args:
        config: the recipe.
        out_dir: the run folder.
        threads: torch CPU threads (default: all cores).
        photos_dir: photo folder (default the shared data's ``photos``).
        restart: ignore (and replace) a checkpoint of a different recipe instead of refusing.
        export: export ``model.onnx`` at the end (tests that only need the checkpoint skip it).
    """

    def __init__(
        self,
        config: TrainConfig,
        out_dir: Path,
        *,
        threads: int | None = None,
        photos_dir: Path | None = None,
        restart: bool = False,
        export: bool = True,
    ) -> None:
        self.config = config
        self.export = export
        self.out_dir = Path(out_dir)
        self.restart = restart
        self.photos_dir = photos_dir
        self.threads = threads
        torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
        self._teacher: Teacher | None = None
        self._teacher_spec = config.teacher
        self._init: Path | None = None
        #: the first stage of a ``recipe:`` teacher: recipe, run folder, steps, seconds.
        self.teacher_run: dict[str, Any] | None = None
        self._vgg: Any = None

    # -- setup -------------------------------------------------------------------------------------

    def _check_resume(self) -> dict[str, Any] | None:
        path = self.out_dir / CHECKPOINT
        if not path.is_file():
            return None
        checkpoint = load_checkpoint(path)
        stored = checkpoint.meta.get("config")
        if stored is None:
            raise ModelError(f"{path} has no training config; it is not a resumable run, use another --out")
        mine = self.config.to_dict()
        # A setting added after the run was stored counts as its default value.
        differs = sorted(
            k for k in mine if k != "steps" and json.dumps(stored.get(k, mine[k])) != json.dumps(mine[k])
        )
        if differs:
            if self.restart:
                logger.warning("replacing the run in %s (it used another recipe: %s)", self.out_dir, differs)
                return None
            raise ConfigError(
                f"{self.out_dir} holds a run of another recipe (differs in {', '.join(differs)}); "
                "use another --out, or --restart to replace it"
            )
        return {"model": checkpoint.model, "meta": checkpoint.meta}

    def _teacher_stage(self, progress: Callable[[int, int, dict[str, float]], None] | None) -> None:
        """Resolve a ``recipe:`` teacher or ``init``: train that recipe first in the sibling folder
        if needed."""
        from vstyle.train.recipes import get_recipe

        name = self.config.first_stage
        if name is None:
            return
        recipe = get_recipe(name)
        run_dir = self.out_dir.parent / name
        onnx, summary = run_dir / "model.onnx", run_dir / "train.json"
        if onnx.is_file() and summary.is_file():
            stored = json.loads(summary.read_text()).get("config", {})
            mine = recipe.to_dict()
            differs = sorted(k for k in mine if json.dumps(stored.get(k, mine[k])) != json.dumps(mine[k]))
            if differs:
                raise ConfigError(
                    f"{run_dir} holds a run of another recipe than {name} (differs in {', '.join(differs)}); "
                    "move it away so the teacher stage can be trained again"
                )
        else:
            logger.info("training the teacher stage %s first, in %s", name, run_dir)
            Trainer(recipe, run_dir, threads=self.threads, photos_dir=self.photos_dir).run(progress)
            torch.set_num_threads(self.threads or len(os.sched_getaffinity(0)))
        done = json.loads(summary.read_text())
        self.teacher_run = {
            "recipe": name,
            "run_dir": str(run_dir),
            "steps": done["steps"],
            "seconds": done["seconds"],
        }
        if self.config.teacher_recipe is not None:
            self._teacher_spec = str(onnx)
        self._init = run_dir / "model.pt"

    def _setup(self) -> None:
        c = self.config
        train_paths, heldout = split_photos(self.photos_dir)
        if c.max_photos is not None:
            train_paths = train_paths[: c.max_photos]
        self.sample_photos = [resize_short(read_rgb(p), c.photo_size) for p in heldout[:SAMPLE_PHOTOS]]
        teacher_fn = None
        if self._teacher_spec is not None:
            self._teacher = Teacher(self._teacher_spec)
            # Whole-image targets are cached once; crop targets are computed every step instead.
            teacher_fn = None if c.teacher_on_crops else self._target
        tid = self._teacher.sha256 if self._teacher else ""
        if c.teacher_grid > 1 or c.teacher_blur > 0:
            tid += f":grid{c.teacher_grid}:blur{c.teacher_blur}"
        self.photos = PhotoBank(train_paths, c.photo_size, teacher_fn, tid)
        self.clips = None
        if c.real_fraction > 0:
            self.clips = ClipBank(
                clip_paths(c.clips),
                c.clip_pairs,
                c.photo_size,
                skip=c.clip_skip,
                teacher=teacher_fn,
                teacher_id=tid,
            )
        needs_vgg = c.mode == "style" or c.weights.feature > 0 or c.weights.style > 0
        if needs_vgg:
            from vstyle.train.lossnet import load_partial_vgg19

            self._vgg = load_partial_vgg19(lossnet_path())
        if c.mode == "style":
            path = Path(c.style_image)  # type: ignore[arg-type]
            root = shared_data_dir()
            if not path.is_file() and not path.is_absolute() and root is not None:
                path = root / path  # recipes name paintings relative to the shared data
            if not path.is_file():
                raise DataError(f"style image {path} not found; pass a painting (.jpg/.png)")
            style = resize_short(read_rgb(path), c.style_size)
            style_t = torch.from_numpy(style).permute(2, 0, 1)[None].float()
            with torch.no_grad():
                feats = self._vgg(style_t, layers=STYLE_LAYERS)
                self.style_grams = {k: gram_matrix(v) for k, v in feats.items()}

    def _new_model(self) -> StyleNet:
        c = self.config
        torch.manual_seed(c.seed)
        model = StyleNet(get_arch(c.arch))
        if (c.warm_start or c.init_recipe) and self._init is not None:
            model = load_checkpoint(self._init).model
            if model.spec.name != c.arch:
                raise ConfigError(
                    f"starting from {self._init} needs a {c.arch} network; it holds {model.spec.name}"
                )
        elif c.warm_start:
            from vstyle.models.teacher import load_teacher
            from vstyle.train.warmstart import warm_start

            if self._teacher is None or self._teacher.folder is None:
                raise ConfigError(
                    "warm_start needs a teacher folder or a teacher style name, not an .onnx file"
                )
            gen = torch.Generator().manual_seed(c.seed)
            sample, _ = self.photos.sample(8, c.crop, gen)
            model = warm_start(model, load_teacher(self._teacher.folder), sample)
        return model

    # -- one step ----------------------------------------------------------------------------------

    def _batch(self, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        c = self.config
        use_real = self.clips is not None and float(torch.rand(1, generator=gen)) < c.real_fraction
        crops = self._teacher is not None and c.teacher_on_crops
        if use_real:
            a, b, flow, mask, targets = self.clips.sample(c.batch, c.crop, gen)  # type: ignore[union-attr]
            if crops:
                targets = (self._teacher_batch(a), self._teacher_batch(b))
            ta, tb = targets if targets is not None else (None, None)
            # Teacher targets of real frames are each frame's own output: trust them where visible.
            tmask_a = torch.ones_like(mask)
        else:
            frames, target = self.photos.sample(c.batch, c.crop + 2 * c.margin, gen)
            if crops:
                target = self._teacher_batch(frames)
            a, b, flow, mask, moved = synthetic_pairs(frames, c.motion, gen, margin=c.margin, extra=target)
            ta, tb = moved if moved is not None else (None, None)
            tmask_a = mask  # the warped target is undefined where content entered the frame
        return a, b, flow, mask, ta, tb, tmask_a

    def _teacher_batch(self, frames: torch.Tensor) -> torch.Tensor:
        """The teacher's outputs for a batch of crops (RGB float 0–255), computed on the crops themselves."""
        images = frames.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
        outputs = [self._target(np.ascontiguousarray(image)) for image in images]
        return torch.from_numpy(np.stack(outputs)).permute(0, 3, 1, 2).float()

    def _target(self, image: np.ndarray) -> np.ndarray:
        """The teacher's target for one picture: its output (uint8, as cached whole-photo targets
        are), or its grid mean (float) when ``teacher_grid`` > 1, blurred by ``teacher_blur``."""
        teacher, grid, blur = self._teacher, self.config.teacher_grid, self.config.teacher_blur
        target = teacher(image) if grid <= 1 else teacher.grid_mean(image, grid)  # type: ignore[misc,union-attr]
        if blur > 0:
            target = cv2.GaussianBlur(target.astype(np.float32), (0, 0), blur, borderType=cv2.BORDER_REFLECT)
        return target

    def _losses(self, model: StyleNet, gen: torch.Generator) -> dict[str, torch.Tensor]:
        c, w = self.config, self.config.weights
        a, b, flow, mask, ta, tb, tmask_a = self._batch(gen)
        out = model(torch.cat([a, b]))
        out_a, out_b = out.chunk(2)
        terms: dict[str, torch.Tensor] = {}
        if c.mode == "distill":
            target = torch.cat([ta, tb])  # type: ignore[list-item]
            tmask = torch.cat([tmask_a, torch.ones_like(tmask_a)])
            diff = (out - target) / 255.0
            if w.pixel:
                terms["pixel"] = (tmask * diff.abs()).sum() / (tmask.sum() * 3).clamp_min(1)
            if w.gradient:
                gx = (diff[..., :, 1:] - diff[..., :, :-1]) * tmask[..., :, 1:] * tmask[..., :, :-1]
                gy = (diff[..., 1:, :] - diff[..., :-1, :]) * tmask[..., 1:, :] * tmask[..., :-1, :]
                terms["gradient"] = gx.abs().mean() + gy.abs().mean()
            if w.feature or w.style:
                wanted = ((FEATURE_LAYER,) if w.feature else ()) + (STYLE_LAYERS if w.style else ())
                feats = self._vgg(torch.cat([out_b, tb]), layers=tuple(dict.fromkeys(wanted)))  # type: ignore[list-item]
                if w.feature:
                    # Unit-normalised features (LPIPS-like): direction, not magnitude, carries the
                    # strokes; the L1 term alone lets a student trade them for a blurred mean.
                    fo, ft = feats[FEATURE_LAYER].chunk(2)
                    terms["feature"] = feature_distance(fo, ft.detach()).mean()
                if w.style:
                    # Texture statistics of the teacher's own output on this crop: they do not need the
                    # strokes in the same places, so they keep texture that the pixel loss (against a
                    # teacher whose strokes move from frame to frame) averages into blur.
                    fo = {k: feats[k].chunk(2)[0] for k in STYLE_LAYERS}
                    grams = {k: gram_matrix(feats[k].chunk(2)[1]).detach() for k in STYLE_LAYERS}
                    terms["style"] = style_loss(fo, grams, {k: 1.0 for k in STYLE_LAYERS})
        else:
            layers = tuple(dict.fromkeys(STYLE_LAYERS + CONTENT_LAYERS))
            feats = self._vgg(torch.cat([out_b, b]), layers=layers)
            fo = {k: v.chunk(2)[0] for k, v in feats.items()}
            fi = {k: v.chunk(2)[1] for k, v in feats.items()}
            terms["style"] = style_loss(fo, self.style_grams, {k: 1.0 for k in STYLE_LAYERS})
            terms["content"] = content_loss(fo, fi, CONTENT_LAYERS)
            if w.tv:
                terms["tv"] = total_variation(out_b / 255.0).mean()
        if w.temporal:
            warped = backward_warp_torch(out_b, flow)
            err = ((out_a - warped) / 255.0).pow(2).sum(1, keepdim=True)
            terms["temporal"] = (mask * err).sum() / mask.sum().clamp_min(1)
        return terms

    # -- outputs -----------------------------------------------------------------------------------

    def _samples(self, model: StyleNet, step: int) -> Path:
        m = model.spec.size_multiple
        rows = []
        with torch.no_grad():
            for photo in self.sample_photos:
                h, w = (photo.shape[0] // m) * m, (photo.shape[1] // m) * m
                photo = np.ascontiguousarray(photo[:h, :w])
                x = torch.from_numpy(photo).permute(2, 0, 1)[None].float()
                row = [photo]
                if self._teacher is not None:
                    row.append(self._teacher(photo))
                row.append(_to_image(model.eval()(x)[0]))
                rows.append(row)
        model.train()
        folder = self.out_dir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        return save_png(folder / f"step_{step:06d}.png", contact_sheet(rows, cell_height=160))

    def _write_history(self, history: list[dict[str, float]]) -> None:
        path = self.out_dir / "losses.json"
        tmp = path.with_name(".losses.json.tmp")
        tmp.write_text(json.dumps(history) + "\n")
        tmp.replace(path)
        try:
            plot_losses(history, self.out_dir / "losses.png")
        except ImportError:
            logger.warning("matplotlib is not installed; no loss plot (pip install 'vstyle[train]')")

    def _save(
        self,
        model: StyleNet,
        optimizer: torch.optim.Optimizer,
        gen: torch.Generator,
        step: int,
        history: list[dict[str, float]],
        seconds: float,
        ema: torch.optim.swa_utils.AveragedModel | None = None,
    ) -> None:
        meta: dict[str, Any] = {
            "config": self.config.to_dict(),
            "step": step,
            "seconds": seconds,
            "optimizer": optimizer.state_dict(),
            "generator": gen.get_state(),
            "history": history,
        }
        if ema is not None:
            meta["ema"] = {"state": ema.module.state_dict(), "n_averaged": int(ema.n_averaged)}
        save_checkpoint(model, self.out_dir / CHECKPOINT, meta=meta)

    def _averaged(
        self, model: StyleNet, meta: dict[str, Any] | None
    ) -> torch.optim.swa_utils.AveragedModel | None:
        """The moving average of ``model``'s weights (``config.ema``), restored from a checkpoint's meta."""
        if self.config.ema == 0:
            return None
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.config.ema), use_buffers=True)
        if meta is not None and "ema" in meta:
            ema.module.load_state_dict(meta["ema"]["state"])
            ema.n_averaged.fill_(int(meta["ema"]["n_averaged"]))
        return ema

    # -- the run -----------------------------------------------------------------------------------

    def run(self, progress: Callable[[int, int, dict[str, float]], None] | None = None) -> TrainResult:
        """Train to ``config.steps`` (from the checkpoint if there is one) and export the model.

        Args:
            progress: called after every step with ``(step, steps, losses)``.

        Raises:
            KeyboardInterrupt: after saving a checkpoint, so the same command resumes.
        """
        c = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        resume = self._check_resume()
        self._teacher_stage(progress)
        self._setup()
        try:
            gen = torch.Generator().manual_seed(c.seed + 1)
            if resume is not None:
                model, meta = resume["model"], resume["meta"]
                step, history, spent = int(meta["step"]), list(meta["history"]), float(meta["seconds"])
                gen.set_state(meta["generator"])
                logger.info("resuming %s at step %d of %d", self.out_dir, step, c.steps)
            else:
                model, step, history, spent = self._new_model(), 0, [], 0.0
            model.train()
            optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
            if resume is not None:
                optimizer.load_state_dict(resume["meta"]["optimizer"])
            ema = self._averaged(model, resume["meta"] if resume is not None else None)
            shown = ema.module if ema is not None else model  # what is sampled and exported
            weights = {
                k: getattr(c.weights, k)
                for k in ("pixel", "gradient", "feature", "style", "content", "tv", "temporal")
            }
            start = time.perf_counter() - spent
            if step == 0:
                self._samples(shown, 0)
            try:
                while step < c.steps:
                    for group in optimizer.param_groups:
                        group["lr"] = c.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / c.steps)))
                    terms = self._losses(model, gen)
                    scale = {**weights, "temporal": weights["temporal"] * temporal_factor(c, step)}
                    total = sum(scale[k] * v for k, v in terms.items())
                    if not torch.isfinite(total):
                        raise ModelError(
                            f"the loss became {float(total)} at step {step}; lower the learning rate "
                            "(--lr) and resume from the last checkpoint"
                        )
                    optimizer.zero_grad(set_to_none=True)
                    total.backward()
                    optimizer.step()
                    if ema is not None:
                        ema.update_parameters(model)
                    step += 1
                    row = {
                        "step": step,
                        "total": float(total.detach()),
                        **{k: float(v.detach()) for k, v in terms.items()},
                    }
                    history.append(row)
                    if progress is not None:
                        progress(step, c.steps, row)
                    if step % c.checkpoint_every == 0 or step == c.steps:
                        self._save(model, optimizer, gen, step, history, time.perf_counter() - start, ema)
                    if step % c.sample_every == 0 or step == c.steps:
                        self._samples(shown, step)
                        self._write_history(history)
            except KeyboardInterrupt:
                self._save(model, optimizer, gen, step, history, time.perf_counter() - start, ema)
                self._write_history(history)
                raise
            seconds = time.perf_counter() - start
            return self._finish(shown.eval(), history, seconds)
        finally:
            if self._teacher is not None:
                self._teacher.close()

    def _finish(self, model: StyleNet, history: list[dict[str, float]], seconds: float) -> TrainResult:
        from vstyle.models.export import export_onnx

        c = self.config
        if c.out_blur > 0:
            model = with_output_blur(model, c.out_blur)
        final = {k: float(np.mean([r[k] for r in history[-50:]])) for k in history[-1] if k != "step"}
        meta = {"config": c.to_dict(), "steps": c.steps, "seconds": round(seconds, 1), "final_losses": final}
        if self.teacher_run is not None:
            meta["teacher_run"] = self.teacher_run
        pt = save_checkpoint(model, self.out_dir / "model.pt", meta=meta)
        what = f"teacher {self._teacher_spec}" if c.teacher else f"style image {Path(c.style_image).name}"  # type: ignore[arg-type]
        source = f"vstyle train: {c.arch} from {what}, {c.steps} steps, seed {c.seed}"
        onnx = None
        if self.export:
            onnx = export_onnx(model, model.spec, self.out_dir / "model.onnx", source=source, overwrite=True)
        (self.out_dir / "train.json").write_text(json.dumps(meta, indent=2) + "\n")
        self._write_history(history)
        return TrainResult(self.out_dir, onnx, pt, c.steps, seconds, final)


def temporal_factor(config: TrainConfig, step: int) -> float:
    """The temporal weight's multiplier at ``step`` (0-based): the warm-up ramp, then the stabilizing boost."""
    ramp = min(1.0, (step + 1) / max(1.0, config.temporal_warmup * config.steps))
    boost = config.stabilize_boost if step >= config.stabilize_from * config.steps else 1.0
    return ramp * boost


def plot_losses(history: list[dict[str, float]], path: Path) -> Path:
    """Loss curves (each term on its own log axis, smoothed) as a PNG, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in history[0] if k != "step"] if history else []
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(3.2 * max(1, len(keys)), 2.8), squeeze=False)
    steps = np.array([r["step"] for r in history])
    for ax, key in zip(axes[0], keys):
        values = np.array([r.get(key, np.nan) for r in history])
        span = max(1, len(values) // 50)
        smooth = np.convolve(values, np.ones(span) / span, mode="valid")
        ax.plot(steps, values, alpha=0.25, lw=0.8)
        ax.plot(steps[span - 1 :], smooth, lw=1.5)
        ax.set_title(key, fontsize=9)
        # A term at 0 throughout (a static picture, a run too short to move) has no log scale.
        ax.set_yscale("log" if bool((values > 0).any()) else "linear")
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
    return path

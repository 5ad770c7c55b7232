"""Typed training recipes: everything a run depends on, validated in one place.

A :class:`TrainConfig` is the whole recipe of a model: with the same config, data and seed the run
is reproducible, and the config is stored in every checkpoint so a resumed run can refuse to mix
recipes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from vstyle.errors import ConfigError
from vstyle.models.spec import ARCHITECTURES, MAX_OUT_BLUR
from vstyle.train.motion import MotionConfig

#: The widest blur of the teacher's targets accepted: the recipes use 1 px; far wider ones only make
#: every target flat (and the Gaussian kernel, 6σ wide, would not fit in memory).
MAX_TEACHER_BLUR = 16.0

#: Clips in the shared data used for real-motion pairs (frames from ``clip_skip`` on).
DEFAULT_CLIPS: tuple[str, ...] = (
    "fox",
    "sam2_bedroom",
    "sam2_04_coffee",
    "sam2_01_dog",
    "sam2_05_default_juggle",
)


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (a weight of 0 skips the term and its cost).

    Distillation (a teacher is given):
        pixel: L1 between student and teacher outputs (0–1 scale).
        gradient: L1 between their horizontal and vertical image gradients (keeps strokes sharp).
        feature: LPIPS-like distance (unit-normalised features, :func:`vstyle.train.losses.feature_distance`)
            at ``relu2_2`` between student and teacher outputs: a perceptual term that keeps strokes
            the pixel loss averages away.
        style: Gram-matrix loss against the teacher's output on the same crop (texture statistics,
            which need no stroke in the same place).
    Perceptual (a style image is given):
        style: Gram-matrix loss on :data:`vstyle.train.losses.STYLE_LAYERS` against the painting.
        content: feature loss on :data:`vstyle.train.losses.CONTENT_LAYERS` against the input.
        tv: total variation of the output.
    Both:
        temporal: Ruder et al.'s short-term loss: the squared difference (0–1 scale) between the
            output of the earlier frame and the warped output of the later one, on non-occluded pixels.
            The earlier frame also carries sensor-like noise and a brightness change
            (:class:`~vstyle.train.motion.MotionConfig`), so this term is the small-noise stability term too.
    """

    pixel: float = 1.0
    gradient: float = 1.0
    feature: float = 0.0
    style: float = 0.0
    content: float = 0.0
    tv: float = 0.0
    temporal: float = 20.0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ConfigError(f"loss weight {f.name} must be >= 0, got {getattr(self, f.name)}")


#: Layouts a teacher's weights can be copied into (:mod:`vstyle.train.warmstart`): the teacher's own
#: ``engstrom`` layout takes them exactly; ``quality`` and ``quality-aa`` take a close approximation.
WARM_ARCHS: tuple[str, ...] = ("quality", "quality-aa", "engstrom")

#: Prefix of a teacher that is another recipe's model.
RECIPE_TEACHER = "recipe:"


@dataclass(frozen=True)
class TrainConfig:
    """One training recipe.

    Attributes:
        arch: student architecture (a name in :data:`~vstyle.models.spec.ARCHITECTURES`).
        teacher: distil from this teacher (style name in the shared data, teacher folder or .onnx), or
            ``"recipe:NAME"``: the model of another recipe, trained first in the sibling run folder
            ``NAME`` when it is not there yet (a two-stage recipe stays one command).
        style_image: or train from this painting with the perceptual loss.
        steps: optimizer steps.
        batch: frame pairs per step (each pair is two images).
        crop: square training crop size, pixels.
        photo_size: photos (and clip frames) are resized to this short side before cropping.
        lr: Adam learning rate; cosine-decayed to a tenth over the run.
        seed: seeds the initial weights and every random draw.
        real_fraction: share of steps that use real clip pairs instead of synthetic motion.
        clips: clip names in the shared data's video folder (or paths).
        clip_pairs: pairs taken from each clip.
        clip_skip: first frames of every clip never used (kept for evaluation).
        max_photos: use at most this many training photos (the first by sorted path); None for all.
        style_size: the style image is resized to this short side.
        warm_start: start the student from the teacher's weights: an imported teacher's into a
            ``quality`` student, or a ``recipe:`` teacher's checkpoint (same architecture).
        init: ``"recipe:NAME"``: start the student from that recipe's network (same architecture,
            trained first in the sibling run folder ``NAME`` when it is not there yet) while it keeps
            learning from ``teacher``: a second stage that adds the temporal loss without giving up
            the original teacher as its target (``warm_start`` with a ``recipe:`` teacher instead
            learns from the first stage's outputs).
        teacher_on_crops: run the teacher on each training crop (one extra teacher call per step)
            instead of once on the whole photo. Instance norm makes a teacher's output depend on the
            whole picture, so a whole-photo target is not a function of the crop the student sees:
            the student then regresses to a blurred mean. False only for runs made before this.
        teacher_grid: the teacher's target is the mean of its outputs with its sampling grid moved
            to every offset in ``range(teacher_grid)²`` (the picture moved, the output moved back).
            A teacher with stride-2 layers draws other strokes when its input moves by a pixel (the
            wave teacher moved by 2 px is 21 dB from itself); this mean is the part of its picture
            that a student stable under motion can reproduce, so the pixel and temporal terms no
            longer pull against each other. 4 covers the two stride-2 layers of the imported
            teachers; 1 (the default) is the teacher's own output. Costs ``teacher_grid²`` teacher
            calls per target.
        teacher_blur: Gaussian σ (pixels) applied to the teacher's target (after ``teacher_grid``);
            0 for none. The wave teacher's grid mean still flickers 4.8× the input on fox, its
            foam swimming under sub-pixel motion; blurred by σ = 1 it is 2.8× and still 23.6 dB
            from the teacher, a target that is stable in itself.
        temporal_warmup: the temporal weight ramps up linearly over this share of the steps (from a
            random start, a full-weight temporal loss would first flatten the output, a poor minimum).
        stabilize_from: from this share of the steps on, the temporal weight is multiplied by
            ``stabilize_boost``: a network that has learned the style first is then made stable
            (1.0 = never). Perceptual students need it: a temporal weight light enough to learn the
            painting's texture leaves that texture swimming on video.
        stabilize_boost: the temporal weight's factor in the stabilizing phase.
        ema: keep an exponential moving average of the weights with this decay per step and
            export it instead of the last step's weights (Polyak averaging); 0 turns it off. With
            batch 2 every step is a noisy estimate, so the last weights sit somewhere in the noise
            around the minimum while the average sits nearer its middle: a decay of 0.98 averages
            about the last 50 steps. On the wave recipe it changed nothing beyond run noise
            (benchmarks/RESULTS.md), so no shipped recipe uses it.
        out_blur: σ (pixels) of the fixed Gaussian low-pass set on the finished network
            (``ArchSpec.out_blur``) before it is saved and exported; 0 for none. Training never
            sees it: the network learns its target as before, and the blur then takes off the
            pixel-scale shimmer left on video for a little of the fidelity. On the wave student
            (benchmarks/RESULTS.md) it bought more steadiness per dB than a heavier temporal weight.
        weights: the loss weights.
        motion: the synthetic-motion range.
        checkpoint_every: save a resumable checkpoint every this many steps.
        sample_every: write sample outputs and the loss plot every this many steps.
    """

    arch: str = "fast"
    teacher: str | None = None
    style_image: str | None = None
    steps: int = 2000
    batch: int = 2
    crop: int = 192
    photo_size: int = 256
    lr: float = 1e-3
    seed: int = 0
    real_fraction: float = 0.25
    clips: tuple[str, ...] = DEFAULT_CLIPS
    clip_pairs: int = 24
    clip_skip: int = 60
    max_photos: int | None = None
    style_size: int = 256
    warm_start: bool = False
    init: str | None = None
    temporal_warmup: float = 0.2
    stabilize_from: float = 1.0
    stabilize_boost: float = 1.0
    teacher_on_crops: bool = True
    teacher_grid: int = 1
    teacher_blur: float = 0.0
    ema: float = 0.0
    out_blur: float = 0.0
    weights: LossWeights = field(default_factory=LossWeights)
    motion: MotionConfig = field(default_factory=MotionConfig)
    checkpoint_every: int = 100
    sample_every: int = 250

    def __post_init__(self) -> None:
        object.__setattr__(self, "clips", tuple(self.clips))
        if isinstance(self.weights, dict):
            object.__setattr__(self, "weights", LossWeights(**self.weights))
        if isinstance(self.motion, dict):
            object.__setattr__(self, "motion", MotionConfig(**self.motion))
        if self.arch not in ARCHITECTURES:
            names = ", ".join(ARCHITECTURES)
            raise ConfigError(f"arch must be one of {names}; got {self.arch!r}")
        if (self.teacher is None) == (self.style_image is None):
            raise ConfigError("give exactly one of a teacher (distillation) or a style image (perceptual)")
        for name in (
            "steps",
            "batch",
            "crop",
            "photo_size",
            "style_size",
            "teacher_grid",
            "checkpoint_every",
            "sample_every",
        ):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        margin = self.margin
        if self.photo_size < self.crop + 2 * margin:
            raise ConfigError(
                f"photo_size {self.photo_size} must be at least crop + 2·motion margin = {self.crop + 2 * margin}"
            )
        if not 0.0 <= self.real_fraction <= 1.0:
            raise ConfigError(f"real_fraction must be in [0, 1], got {self.real_fraction}")
        if self.real_fraction > 0 and not self.clips:
            raise ConfigError("real_fraction > 0 needs clips; pass clips or set real_fraction to 0")
        if not 0.0 <= self.temporal_warmup <= 1.0:
            raise ConfigError(f"temporal_warmup must be in [0, 1], got {self.temporal_warmup}")
        if not 0.0 <= self.stabilize_from <= 1.0:
            raise ConfigError(f"stabilize_from must be in [0, 1], got {self.stabilize_from}")
        if self.stabilize_boost <= 0:
            raise ConfigError(f"stabilize_boost must be > 0, got {self.stabilize_boost}")
        if not 0 <= self.teacher_blur <= MAX_TEACHER_BLUR:
            raise ConfigError(
                f"teacher_blur must be a Gaussian sigma in [0, {MAX_TEACHER_BLUR:g}] pixels (wider blurs "
                f"every target flat), got {self.teacher_blur}"
            )
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"ema must be a decay in [0, 1) (0 turns it off), got {self.ema}")
        if not 0.0 <= self.out_blur <= MAX_OUT_BLUR:
            raise ConfigError(
                f"out_blur must be a Gaussian sigma in [0, {MAX_OUT_BLUR:g}] pixels, got {self.out_blur}"
            )
        if not 0 < self.lr < float("inf"):
            raise ConfigError(f"lr must be a finite number > 0, got {self.lr}")
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed must be in [0, 2**63), got {self.seed}")
        if self.warm_start and not (
            self.teacher_recipe is not None or (self.arch in WARM_ARCHS and self.teacher is not None)
        ):
            raise ConfigError(
                f"warm_start needs arch {' or '.join(WARM_ARCHS)} and a teacher, or a recipe: teacher"
            )
        if self.teacher_recipe == "":
            raise ConfigError("a recipe: teacher needs a recipe name, e.g. recipe:starry_night-painting")
        if self.init is not None:
            if not self.init.startswith(RECIPE_TEACHER) or not self.init_recipe:
                raise ConfigError(
                    f"init must be 'recipe:NAME' (a recipe's trained network). Got {self.init!r}"
                )
            if self.warm_start or self.teacher_recipe is not None or self.teacher is None:
                raise ConfigError(
                    "init starts a distilled student from another recipe's network: give a teacher "
                    "that is not a recipe: one, and no warm_start"
                )
        if self.style_image is not None and self.weights.style == 0:
            raise ConfigError("training from a style image needs a style weight > 0")

    @property
    def teacher_recipe(self) -> str | None:
        """The recipe whose model is the teacher (``teacher="recipe:NAME"``), else ``None``."""
        if self.teacher is not None and self.teacher.startswith(RECIPE_TEACHER):
            return self.teacher[len(RECIPE_TEACHER) :]
        return None

    @property
    def init_recipe(self) -> str | None:
        """The recipe whose network the student starts from (``init="recipe:NAME"``), else ``None``."""
        if self.init is not None and self.init.startswith(RECIPE_TEACHER):
            return self.init[len(RECIPE_TEACHER) :]
        return None

    @property
    def first_stage(self) -> str | None:
        """The recipe trained first: the ``recipe:`` teacher's or the ``init`` recipe."""
        return self.teacher_recipe or self.init_recipe

    @property
    def mode(self) -> str:
        """``"distill"`` or ``"style"``."""
        return "distill" if self.teacher is not None else "style"

    @property
    def margin(self) -> int:
        """Pixels of picture around each crop that synthetic motion can bring into view."""
        m = self.motion
        return int(m.max_shift + m.local + self.crop * (m.max_zoom + m.max_rotate * 0.0175) / 2) + 2

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in checkpoints and model cards)."""
        data = asdict(self)
        data["clips"] = list(self.clips)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}; known: {sorted(known)}")
        return cls(**data)

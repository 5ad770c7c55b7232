"""What a benchmark run covers: its typed settings, the named resolutions, and the models it measures.

A run is the product models × precisions × backends × resolutions × batch sizes × workers × modes
(:class:`BenchConfig`). Models are named three ways: an architecture name (``quality``, ``fast``,
``tiny``: the network with seeded random weights, exported once into the run's folder — speed does
not depend on the weights), a style name (``--styles scream``), or a model path (``.onnx``, ``.pt``
checkpoint, teacher folder). :class:`PreparedModel` makes the FP16 and INT8 versions of each FP32
model on first use, with :func:`vstyle.models.precision.to_fp16` and
:func:`vstyle.models.quantize.quantize_qdq`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vstyle.bench.results import MODES, POLICIES, PRECISIONS
from vstyle.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

#: Named frame sizes (width, height).
RESOLUTIONS: dict[str, tuple[int, int]] = {
    "360p": (640, 360),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "4k": (3840, 2160),
    "2160p": (3840, 2160),
}
_SIZE = re.compile(r"^(\d+)x(\d+)$")
#: The precision names of the matrix → the ``vstyle.precision`` a model file of it carries.
FILE_PRECISION = {"fp32": "fp32", "fp16": "fp16", "int8": "int8-qdq"}
#: INT8 calibration: a few frames are enough for a speed measurement (quality: calibration/RECIPE.md).
CALIBRATION_FRAMES = 8
CALIBRATION_HEIGHT = 360


@dataclass(frozen=True)
class Resolution:
    """A frame size of the matrix: its label as given (``360p``, ``4K``, ``320x180``) and its pixels."""

    label: str
    width: int
    height: int


def parse_resolution(text: str) -> Resolution:
    """``360p``, ``720p``, ``1080p``, ``4K`` (``2160p``) or ``WxH``.

    Raises:
        ConfigError: anything else, or a side below 16 pixels.
    """
    key = text.strip().lower()
    if key in RESOLUTIONS:
        w, h = RESOLUTIONS[key]
        return Resolution(text.strip(), w, h)
    match = _SIZE.match(key)
    if match is None:
        raise ConfigError(
            f"resolution must be one of {', '.join(RESOLUTIONS)} or WxH (e.g. 320x180). Got {text!r}"
        )
    w, h = int(match[1]), int(match[2])
    if w < 16 or h < 16 or w > 8192 or h > 4320:
        raise ConfigError(f"resolution sides must be 16..8192 × 16..4320 pixels. Got {text!r}")
    return Resolution(f"{w}x{h}", w, h)


@dataclass(frozen=True)
class BenchConfig:
    """Settings of one ``vstyle bench`` run.

    Attributes:
        models: architecture names or model paths (``.onnx``, ``.pt``, teacher folder).
        styles: style names (``vstyle styles``); with no models and no styles, the default style.
        backends: backend names of :data:`vstyle.backends.BACKENDS`, ``auto`` (the best available,
            logged) or ``all`` (every available one).
        precisions: ``fp32``, ``fp16``, ``int8`` (FP16 and INT8 QDQ versions made from the FP32 model).
        resolutions: ``360p``, ``720p``, ``1080p``, ``4K`` or ``WxH``.
        batches: frames per network call (live mode always uses 1, so it runs at batch 1 only).
        workers: stylize workers; ``None`` lets the stylizer choose (2 on a CPU with 2+ cores).
        modes: ``backend``, ``pipeline``, ``file`` (see :mod:`vstyle.bench.measure`).
        policies: pipeline policies, ``offline`` and/or ``live``.
        runs: timed backend calls (backend mode) or frames (pipeline offline, file, baselines).
        warmup: untimed calls or frames before them.
        live_seconds: length of each live run, at ``live_fps`` from the synthetic source.
        live_fps: frame rate of the live synthetic source.
        clip: the real clip for file mode and the baselines.
        baselines: also measure the eager PyTorch loop and the PNG workflow (needs file mode).
        measure_peak: measure the matrix-multiply peak (the GFLOP/s ceiling).
        command: the command line, recorded in the result.
    """

    models: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    backends: tuple[str, ...] = ("auto",)
    precisions: tuple[str, ...] = ("fp32",)
    resolutions: tuple[str, ...] = ("360p",)
    batches: tuple[int, ...] = (1,)
    workers: tuple[int | None, ...] = (None,)
    modes: tuple[str, ...] = ("backend", "pipeline")
    policies: tuple[str, ...] = POLICIES
    runs: int = 10
    warmup: int = 2
    live_seconds: float = 5.0
    live_fps: float = 30.0
    clip: Path | None = None
    baselines: bool = False
    measure_peak: bool = True
    command: str = ""
    _sizes: tuple[Resolution, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        def check(values: tuple[str, ...], allowed: tuple[str, ...], what: str) -> None:
            if not values:
                raise ConfigError(f"give at least one of the {what}: {', '.join(allowed)}")
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ConfigError(
                    f"unknown {what} {', '.join(map(repr, bad))}; choose from {', '.join(allowed)}"
                )

        check(self.precisions, PRECISIONS, "precisions")
        check(self.modes, MODES, "modes")
        if "pipeline" in self.modes:
            check(self.policies, POLICIES, "policies")
        if not self.backends:
            raise ConfigError("give at least one backend (or auto)")
        object.__setattr__(self, "_sizes", tuple(parse_resolution(r) for r in self.resolutions))
        if not self._sizes:
            raise ConfigError(f"give at least one resolution: {', '.join(RESOLUTIONS)} or WxH")
        if not self.batches or any(not 1 <= b <= 64 for b in self.batches):
            raise ConfigError(f"batch sizes must be between 1 and 64. Got {list(self.batches)}")
        if not self.workers or any(w is not None and not 1 <= w <= 16 for w in self.workers):
            raise ConfigError(f"workers must be between 1 and 16. Got {list(self.workers)}")
        if self.runs < 1:
            raise ConfigError(f"runs must be at least 1. Got {self.runs}")
        if self.warmup < 0:
            raise ConfigError(f"warm-up must be 0 or more. Got {self.warmup}")
        if not 0 < self.live_seconds <= 3600 or not 0 < self.live_fps <= 1000:
            raise ConfigError(
                "live seconds must be in (0, 3600] and fps in (0, 1000]. "
                f"Got {self.live_seconds}, {self.live_fps}"
            )
        if self.baselines and "file" not in self.modes:
            raise ConfigError("--baselines compares against file mode on the same clip; add file to --modes")

    @property
    def sizes(self) -> tuple[Resolution, ...]:
        """The parsed :attr:`resolutions`."""
        return self._sizes


def default_clip() -> Path | None:
    """The shared data's 1280×720 clip used by file mode when ``--clip`` is not given, if present."""
    from vstyle.data import shared_data_dir

    root = shared_data_dir()
    clip = root / "video" / "sam2_05_default_juggle.mp4" if root is not None else None
    return clip if clip is not None and clip.is_file() else None


# -- models --------------------------------------------------------------------------------------


@dataclass
class PreparedModel:
    """One model of the matrix: its FP32 ONNX file and, made on demand, its FP16 and INT8 versions.

    Attributes:
        label: its name in tables.
        kind: ``architecture`` (random weights), ``style`` or ``file``.
        path: the ONNX file as given or resolved.
        precision: the precision of ``path`` (``fp32`` unless a converted file was given).
        architecture: the architecture name from the file's metadata.
        size_multiple: frame sides are padded to this.
    """

    label: str
    kind: str
    path: Path
    precision: str
    architecture: str
    size_multiple: int
    sha256: str | None
    _variants: dict[str, Path | ModelError] = field(default_factory=dict, repr=False)

    def variant(self, precision: str, folder: Path, calibration: list[np.ndarray] | None) -> Path:
        """The ONNX file of this model at ``precision``, converted into ``folder`` on first use.

        Raises:
            ModelError: the conversion failed or is impossible (a given FP16/INT8 file cannot be
                converted to another precision); the same error again on later calls.
        """
        if precision == self.precision:
            return self.path
        if precision not in self._variants:
            self._variants[precision] = self._convert(precision, folder, calibration)
        found = self._variants[precision]
        if isinstance(found, ModelError):
            raise found
        return found

    def _convert(
        self, precision: str, folder: Path, calibration: list[np.ndarray] | None
    ) -> Path | ModelError:
        if self.precision != "fp32":
            return ModelError(
                f"{self.path} is already {self.precision}; give the FP32 model to benchmark {precision}"
            )
        out = folder / f"{_slug(self.label)}.{precision}.onnx"
        try:
            if precision == "fp16":
                from vstyle.models.precision import to_fp16

                return to_fp16(self.path, out, overwrite=True)
            from vstyle.models.quantize import quantize_qdq

            frames = calibration_for(self.size_multiple, calibration)
            root = logging.getLogger()
            root.addFilter(_quantizer_advice)
            try:
                return quantize_qdq(self.path, out, frames, overwrite=True)
            finally:
                root.removeFilter(_quantizer_advice)
        except ModelError as exc:
            return exc
        except ImportError as exc:
            return ModelError(f"making the {precision} model needs {exc.name}: pip install 'vstyle[torch]'")


def _quantizer_advice(record: logging.LogRecord) -> bool:
    """Drop ONNX Runtime's quantizer advice to pre-process the model (vstyle's recipe does not, on
    purpose: see vstyle.models.quantize), which it logs on the root logger for every model."""
    return not record.getMessage().startswith("Please consider")


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "model"


def calibration_for(multiple: int, frames: list[np.ndarray] | None) -> list[np.ndarray]:
    """INT8 calibration frames cropped to multiples of ``multiple`` (synthetic 640×360 ones if none given)."""
    if not frames:
        from vstyle.bench.measure import synthetic_frames

        frames = synthetic_frames(640, CALIBRATION_HEIGHT, CALIBRATION_FRAMES)
    out = []
    for f in frames:
        h, w = f.shape[0] // multiple * multiple, f.shape[1] // multiple * multiple
        out.append(np.ascontiguousarray(f[:h, :w]))
    return out


def _precision_of(path: Path) -> str:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    stored = session.get_modelmeta().custom_metadata_map.get("vstyle.precision", "fp32")
    return {v: k for k, v in FILE_PRECISION.items()}.get(stored, stored)


def _describe(label: str, kind: str, path: Path) -> PreparedModel:
    from vstyle.models.metadata import read_model_metadata

    info = read_model_metadata(path)
    return PreparedModel(
        label, kind, path, _precision_of(path), info.architecture, max(1, info.size_multiple), info.sha256
    )


def prepare_models(config: BenchConfig, folder: Path) -> list[PreparedModel]:
    """Resolve every model and style of ``config`` to an ONNX file (architectures exported into ``folder``).

    Raises:
        ModelError: a model or style cannot be found or read, or no model is given and there is no
            default style.
        ConfigError: an architecture name is given without PyTorch to build it.
    """
    from vstyle.models.spec import ARCHITECTURES
    from vstyle.styles import default_style, resolve_model

    prepared: list[PreparedModel] = []
    labels: set[str] = set()

    def unique(label: str) -> str:
        candidate, n = label, 2
        while candidate in labels:
            candidate, n = f"{label}-{n}", n + 1
        labels.add(candidate)
        return candidate

    styles = list(config.styles)
    if not config.models and not styles:
        try:
            styles = [default_style()]
        except ModelError as exc:
            raise ModelError(
                f"{exc}; or benchmark an architecture with random weights: --models tiny"
            ) from None
    for name in config.models:
        path = Path(name)
        if name in ARCHITECTURES and not path.exists():
            prepared.append(_describe(unique(name), "architecture", _export_architecture(name, folder)))
        else:
            resolved = resolve_model(path, None)
            prepared.append(_describe(unique(path.stem if path.suffix else path.name), "file", resolved))
    for style in styles:
        prepared.append(_describe(unique(style), "style", resolve_model(None, style)))
    return prepared


def _export_architecture(name: str, folder: Path) -> Path:
    try:
        import torch

        from vstyle.models.export import export_onnx
        from vstyle.models.spec import get_arch
        from vstyle.models.stylenet import StyleNet
    except ImportError as exc:
        raise ConfigError(
            f"benchmarking architecture {name!r} by name needs PyTorch to build it ({exc.name} is missing): "
            "pip install 'vstyle[torch]', or pass an .onnx model"
        ) from None
    torch.manual_seed(0)
    spec = get_arch(name)
    out = folder / f"{name}.onnx"
    return export_onnx(StyleNet(spec).eval(), spec, out, source="random init (benchmark)", overwrite=True)

"""Typed settings for stylizing, running a pipeline and encoding, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vstyle.errors import ConfigError

Mode = Literal["live", "offline"]
MODES: tuple[str, ...] = ("live", "offline")


#: Precisions a network can run at (``StylizeConfig.precision``).
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class StylizeConfig:
    """How frames are stylized.

    Attributes:
        model: an ``.onnx`` model, a vstyle checkpoint (``.pt``) or a teacher folder; ``None`` uses
            ``style``.
        style: a bundled style or an importable teacher name; ``None`` with ``model=None`` means
            the default style.
        backend: ``"auto"`` or a backend name from :data:`vstyle.backends.BACKENDS`.
        height: process (and output) at this height in pixels, width following the aspect ratio
            (rounded to even); ``None`` keeps the source size.
        threads: intra-op threads for CPU backends; ``None`` lets the backend choose (all cores).
        batch_size: frames per inference call (offline mode only; live mode always uses 1).
        workers: frames stylized at once, each on its own thread; CPU threads are shared out
            among them (``threads`` per worker defaults to cores / workers). ``None`` (auto): two on
            a CPU backend with at least two cores — measured faster end to end, because single-
            threaded inferences lose less to the decoder and encoder preempting them — else one.
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"``; ``None`` (default): the model's own on CPU
            backends, FP16 on TensorRT. ONNX Runtime runs an FP16 or INT8 QDQ version of an FP32
            model, converted once (INT8 calibrated on ``calibration/RECIPE.md``'s frames) and cached
            in the engine folder; TensorRT builds its engine at that precision; the PyTorch backend
            has fp32 and fp16.
        cuda_graphs: capture and replay CUDA graphs (TensorRT and PyTorch CUDA backends); ``None``
            keeps each backend's default.
        strength: how much of the style to show, from 1 (default: the network's output alone)
            down to 0 (the input): the output is blended with the input scaled to the same size.
        stabilize: strength of the optional inference-time stabilizer
            (:class:`~vstyle.temporal.stabilizer.Stabilizer`: flow-guided blending with the previous
            output, applied in frame order before the output); 0 (default) turns it off.
    """

    model: Path | None = None
    style: str | None = None
    backend: str = "auto"
    height: int | None = None
    threads: int | None = None
    batch_size: int = 1
    workers: int | None = None
    precision: str | None = None
    cuda_graphs: bool | None = None
    strength: float = 1.0
    stabilize: float = 0.0

    def __post_init__(self) -> None:
        if self.model is not None and self.style is not None:
            raise ConfigError("give either a model path or a style name, not both")
        if self.height is not None and not 16 <= self.height <= 4320:
            raise ConfigError(f"height must be between 16 and 4320 pixels. Got {self.height}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1. Got {self.threads}")
        if not 1 <= self.batch_size <= 64:
            raise ConfigError(f"batch size must be between 1 and 64. Got {self.batch_size}")
        if self.workers is not None and not 1 <= self.workers <= 16:
            raise ConfigError(f"workers must be between 1 and 16. Got {self.workers}")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}. Got {self.precision!r}")
        if not 0.0 <= self.strength <= 1.0:
            raise ConfigError(f"style strength must be in [0, 1] (1 = the style alone). Got {self.strength}")
        if not 0.0 <= self.stabilize < 1.0:
            raise ConfigError(f"stabilize strength must be in [0, 1) (0 = off). Got {self.stabilize}")


@dataclass(frozen=True)
class PipelineConfig:
    """How stages are joined.

    Attributes:
        mode: ``"live"``: newest frame wins (queues drop their oldest frame, drops are counted,
            latency stays bounded); ``"offline"``: queues block and nothing is lost.
        queue_size: capacity of each queue between stages (live mode uses 1 unless set higher).
        max_frames: stop after this many frames have been captured; ``None`` runs to the end.
        realtime: in live mode, pace a non-live source (a file) at its own frame rate, as a
            camera would deliver it.
    """

    mode: Mode = "offline"
    queue_size: int = 8
    max_frames: int | None = None
    realtime: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}. Got {self.mode!r}")
        if not 1 <= self.queue_size <= 1024:
            raise ConfigError(f"queue size must be between 1 and 1024. Got {self.queue_size}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError(f"max frames must be at least 1. Got {self.max_frames}")

"""TensorRT backend: the fastest path on NVIDIA GPUs, engines built once and cached.

Given an ONNX model, :meth:`TensorRTBackend.load` picks the precision (an FP32 model runs as FP16 by
default: the FP16 export keeps instance norm in float32 and stays within 40 dB of FP32), converts it
once with the existing converters, and loads an engine from the engine folder: one made by
``vstyle build`` for this model, TensorRT and GPU if there is one, else one it builds itself with
the default profile ("auto"). An auto engine is rebuilt with a wider profile when a frame does not
fit it; a user-built engine is not (its profile was a choice): the frame is refused with a message
that names the profile and the command that builds a bigger one.

Frames cross the host boundary once each way, through page-locked buffers on the calling thread's
CUDA stream, as uint8 (:meth:`infer_frames`, what the stylizer calls: layout, cast and rounding run
on the GPU); :meth:`infer_device` takes and returns CUDA tensors for callers whose frames are
already on the GPU.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vstyle.backends.base import Backend
from vstyle.errors import BackendUnavailableError

if TYPE_CHECKING:
    import torch

    from vstyle.trt.runtime import TrtEngine

log = logging.getLogger(__name__)


class TensorRTBackend(Backend):
    """A TensorRT engine of the model, built and cached on first use.

    Args:
        model_path: a vstyle ONNX model (FP32, FP16 or INT8 QDQ).
        threads: unused (the GPU does the work); accepted for the common interface.
        precision: ``fp32``, ``fp16`` or ``int8``; ``None``: FP16 for an FP32 model, else the
            model's own precision.
        engine_dir: the engine folder (default: see :func:`vstyle.trt.cache.resolve_engine_dir`).
        cuda_graphs: capture one CUDA graph per input shape and replay it.
        calibration: INT8 calibration sources (videos, images, folders), when INT8 is asked.
    """

    name: ClassVar[str] = "tensorrt"
    priority: ClassVar[int] = 40
    device_kind: ClassVar[str] = "gpu"
    takes_frames: ClassVar[bool] = True

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int | None = None,
        precision: str | None = None,
        engine_dir: Path | None = None,
        cuda_graphs: bool = False,
        calibration: list[Path] | None = None,
    ) -> None:
        super().__init__(model_path, threads=threads)
        self.precision = precision
        self.engine_dir = engine_dir
        self.cuda_graphs = cuda_graphs
        self.calibration = calibration
        self.engine: TrtEngine | None = None
        self.onnx_path: Path | None = None
        self._folder: Path | None = None
        self._size_multiple = 1
        self._retired: list[TrtEngine] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        from vstyle.trt.runtime import tensorrt_unavailable_reason

        return tensorrt_unavailable_reason()

    @property
    def device(self) -> str:
        if self.engine is None or self.engine.device is None:
            return "cuda"
        from vstyle.gpu import gpu_identity

        name, cc = gpu_identity(self.engine.device)
        return f"{name} (sm {cc})"

    def load(self) -> None:
        self.check_loadable()
        from vstyle.models.metadata import read_model_metadata
        from vstyle.trt.build import derived_onnx, model_precision, precision_name
        from vstyle.trt.cache import resolve_engine_dir

        folder = resolve_engine_dir(self.engine_dir)
        have = model_precision(self.model_path)
        wanted = precision_name(self.precision) if self.precision else ("fp16" if have == "fp32" else have)
        self.onnx_path = derived_onnx(self.model_path, wanted, folder, calibration=self.calibration)
        self._folder = folder
        self._size_multiple = read_model_metadata(self.onnx_path).size_multiple
        self.engine = self._open_engine()

    def _open_engine(self, profile: Any = None) -> TrtEngine:
        """Open the cached engine (or build one); ``profile`` forces an auto build with that profile."""
        from vstyle.trt.build import BuildSettings, ensure_engine, find_engine, make_profile
        from vstyle.trt.cache import EngineError
        from vstyle.trt.runtime import TrtEngine

        assert self.onnx_path is not None and self._folder is not None
        found = None if profile is not None else find_engine(self.onnx_path, self._folder)
        if found is not None:
            entry, data = found
        else:
            settings = BuildSettings(profile=profile or make_profile(self._size_multiple))
            result = ensure_engine(
                self.onnx_path, settings, self._folder, origin="auto", label=self.model_path.stem
            )
            entry, data = result.entry, result.engine
        engine = TrtEngine(data, source=entry.engine_path.name, entry=entry, cuda_graphs=self.cuda_graphs)
        try:
            return engine.__enter__()
        except EngineError as exc:
            if entry.origin != "auto" or profile is not None:
                raise
            # An engine this backend made that no longer loads (a driver update…): rebuild it once.
            log.warning("%s; rebuilding it", exc)
            settings = BuildSettings(profile=entry.key.profile)
            result = ensure_engine(
                self.onnx_path, settings, self._folder, force=True, origin="auto", label=self.model_path.stem
            )
            return TrtEngine(
                result.engine,
                source=result.entry.engine_path.name,
                entry=result.entry,
                cuda_graphs=self.cuda_graphs,
            ).__enter__()

    def close(self) -> None:
        with self._lock:
            engines = [*self._retired, *([self.engine] if self.engine is not None else [])]
            self._retired, self.engine = [], None
        for engine in reversed(engines):
            engine.close()

    # -- running ----------------------------------------------------------------------------------------

    def _engine_for(self, n: int, h: int, w: int) -> TrtEngine:
        """The engine that takes an n×3×h×w input, widening an auto engine's profile when needed."""
        from vstyle.trt.cache import ProfileError

        engine = self.engine
        if engine is None:
            raise RuntimeError("backend is not loaded; use it as a context manager")
        if engine.profile.fits(n, h, w):
            return engine
        entry = engine.entry
        if entry is None or entry.origin != "auto":
            raise ProfileError(engine.profile_message((n, 3, h, w)))
        with self._lock:
            current = self.engine
            if current is not None and current.profile.fits(n, h, w):
                return current
            wider = current.profile.covering(n, h, w, self._size_multiple)
            log.warning(
                "a %d×3×%d×%d input does not fit %s (%s); rebuilding with %s",
                n, h, w, current.source, current.profile.describe(), wider.describe(),
            )  # fmt: skip
            replacement = self._open_engine(wider)
            # Other threads may still be running the old engine: close it with the backend.
            self._retired.append(current)
            self.engine = replacement
            return replacement

    def infer_device(self, x: torch.Tensor) -> torch.Tensor:
        """Stylize a CUDA batch ``(N, 3, H, W)`` float 0..255 without leaving the GPU.

        Ordered after the caller's current stream (which then waits for the result); the returned
        tensor is reused by this thread's next call with the same shape.
        """
        n, _, h, w = x.shape
        return self._guard(lambda: self._engine_for(n, h, w).run(x), tuple(x.shape))

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        return self._round_trip(batch, tuple(batch.shape), lambda x, _dtype: x, lambda y: y.float())

    def infer_frames(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """uint8 frames in and out: only uint8 pixels cross the bus (inward not at all for frames
        already on the GPU), the layout and the cast to the engine's input type run on the GPU
        (:func:`vstyle.gpu.frames_to_batch`), as does the rounding."""
        from vstyle.gpu import batch_to_frames, frames_to_batch

        n, h, w, _ = frames.shape
        data = np.ascontiguousarray(frames) if isinstance(frames, np.ndarray) else frames
        return self._round_trip(data, (n, 3, h, w), frames_to_batch, batch_to_frames)

    def _round_trip(
        self, data: np.ndarray | torch.Tensor, shape: tuple[int, ...], prepare: Any, finish: Any
    ) -> np.ndarray:
        """Bring ``data`` to the GPU (a host array through this thread's page-locked buffers, a
        tensor as it is), ``prepare(x, input_dtype)`` it into the engine's ``shape`` input, run,
        ``finish`` the output and download it, all on the thread's CUDA stream."""
        import torch

        from vstyle.gpu import HostStaging

        n, _, h, w = shape
        engine = self._engine_for(n, h, w)
        staging = getattr(self._local, "staging", None)
        if staging is None:
            staging = self._local.staging = HostStaging(pin=True)

        def run() -> np.ndarray:
            ctx = engine.thread_context()
            with torch.cuda.stream(ctx.stream):
                if isinstance(data, np.ndarray):
                    x = staging.upload(data, engine.device)
                else:
                    x = data.to(engine.device)
                x = prepare(x, engine.input.dtype)
                out = staging.download(finish(ctx.execute(x)))
            ctx.stream.synchronize()
            return out.copy()

        return self._guard(run, shape)

    def _guard(self, fn: Any, shape: tuple[int, ...]) -> Any:
        import torch

        try:
            return fn()
        except torch.cuda.OutOfMemoryError as exc:
            from vstyle.gpu import memory_report

            engine = self.engine
            raise BackendUnavailableError(
                f"out of GPU memory running a {'×'.join(map(str, shape))} batch on "
                f"{engine.source if engine else 'TensorRT'} ({memory_report()}): lower --height or the "
                "batch size, rebuild with a smaller --max, or free the GPU"
            ) from exc

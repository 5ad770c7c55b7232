"""ONNX Runtime backend: the default that always works (CPU), or CUDA with onnxruntime-gpu."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vstyle.backends.base import Backend
from vstyle.errors import ModelError

log = logging.getLogger(__name__)


def _providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime on the CPU.

    Args:
        model_path: an ONNX file in the vstyle I/O contract.
        threads: intra-op threads; ``None`` uses every core the process may run on. The inter-op
            pool is one thread: the graph is a chain, and parallel branches would only contend.
    """

    name: ClassVar[str] = "onnxruntime"
    priority: ClassVar[int] = 10
    provider: ClassVar[str] = "CPUExecutionProvider"

    def __init__(self, model_path: Path, *, threads: int | None = None) -> None:
        super().__init__(model_path, threads=threads)
        self._session: Any = None
        self._running: set[Any] = set()  # the RunOptions of the inferences in flight
        self._running_lock = threading.Lock()
        self._input_name = "input"
        self._output_name = "output"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        providers = _providers()
        if not providers:
            return "onnxruntime is not installed: pip install onnxruntime"
        if cls.provider not in providers:
            return f"ONNX Runtime here has no {cls.provider} (it has {', '.join(providers)})"
        return None

    def load(self) -> None:
        self.check_loadable()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(self.model_path), options, providers=[self.provider])
        except Exception as error:  # ORT raises its own Fail/InvalidGraph/... types
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ModelError(
                f"{self.model_path} is not a usable ONNX model ({first}); export one with `vstyle export`"
            ) from error
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1 or len(inputs[0].shape) != 4:
            got = ", ".join(f"{i.name}{i.shape}" for i in inputs)
            raise ModelError(
                f"{self.model_path} is not a style network: expected one N×3×H×W input and one output. "
                f"Got inputs {got} and {len(outputs)} output(s)"
            )
        self._input_name, self._output_name = inputs[0].name, outputs[0].name
        log.info(
            "onnxruntime %s on %s, %d threads", ort.__version__, self.provider, options.intra_op_num_threads
        )

    def close(self) -> None:
        self._session = None

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self._session is None:
            raise RuntimeError("backend is not loaded; use it as a context manager")
        import onnxruntime as ort

        run_options = ort.RunOptions()  # per call, so cancel() can end this one
        with self._running_lock:
            self._running.add(run_options)
        try:
            return self._session.run([self._output_name], {self._input_name: batch}, run_options)[0]
        finally:
            with self._running_lock:
                self._running.discard(run_options)

    def cancel(self) -> None:
        """End the runs in flight: ONNX Runtime checks the terminate flag between operators, so a
        multi-second frame of a large network stops within one operator, not at its end."""
        with self._running_lock:
            for run_options in self._running:
                run_options.terminate = True


class OnnxRuntimeCudaBackend(OnnxRuntimeBackend):
    """ONNX Runtime with the CUDA execution provider (needs ``onnxruntime-gpu`` and an NVIDIA GPU)."""

    name: ClassVar[str] = "onnxruntime-cuda"
    priority: ClassVar[int] = 20
    device_kind: ClassVar[str] = "gpu"
    provider: ClassVar[str] = "CUDAExecutionProvider"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason and cls.provider in reason:
            return (
                f"{reason}; install onnxruntime-gpu (pip uninstall onnxruntime && "
                "pip install onnxruntime-gpu) on a machine with an NVIDIA GPU"
            )
        return reason

    @property
    def device(self) -> str:
        return "cuda"

"""PyTorch backend: the StyleNet rebuilt from the ONNX model, on CUDA in FP16 (or on the CPU).

On a CUDA GPU it is the baseline TensorRT must beat and the GPU path where TensorRT is absent: FP16
weights and activations (instance norm computed in float32, as in the FP16 ONNX export: its variance
overflows float16), channels-last memory, cuDNN autotuning, one CUDA graph per input shape, and
optionally ``torch.compile``. Without CUDA it runs in float32 on the CPU (parity tests run there).

**Where the weights come from.** :func:`~vstyle.models.from_onnx.stylenet_from_onnx` rebuilds the
float32 :class:`~vstyle.models.stylenet.StyleNet` from the model's architecture spec and pairs its
layers with the graph's by structure (see :mod:`vstyle.models.from_onnx` for why).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vstyle.backends.base import Backend
from vstyle.errors import BackendUnavailableError
from vstyle.gpu import DevicePriority, HostStaging, cuda_available, cuda_unavailable_reason, gpu_identity
from vstyle.models.from_onnx import stylenet_from_onnx

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_MAX_GRAPHS = 8  # CUDA graphs kept per thread (one per input shape), least recently used dropped


def _float32_norms(net: Any) -> None:
    """Make every InstanceNorm2d of a float16 ``net`` compute in float32 (its variance overflows float16)."""
    from torch import nn

    class Float32InstanceNorm(nn.Module):
        def __init__(self, norm: nn.InstanceNorm2d) -> None:
            super().__init__()
            self.norm = norm.float()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(x.float()).to(x.dtype)

    for parent in list(net.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d):
                setattr(parent, child_name, Float32InstanceNorm(child))


class _ThreadState:
    """One thread's CUDA stream, staging buffers and CUDA graphs (one per input shape)."""

    def __init__(self, device: torch.device, pin: bool) -> None:
        import torch

        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.staging = HostStaging(pin=pin)
        self.graphs: OrderedDict[tuple[int, ...], tuple[Any, torch.Tensor, torch.Tensor]] = OrderedDict()
        self.pool = torch.cuda.graph_pool_handle() if device.type == "cuda" else None


class TorchBackend(Backend):
    """The StyleNet in PyTorch: FP16 + channels-last + CUDA graphs on a GPU, float32 on the CPU.

    Args:
        model_path: an FP32 or FP16 vstyle ONNX model (with its architecture spec).
        threads: CPU threads for PyTorch (CPU only; ``torch.set_num_threads`` is process-wide).
        device: ``"cuda"``, ``"cuda:1"``, ``"cpu"``; default CUDA where usable, else the CPU.
        half: FP16 weights and activations; default on CUDA, never on the CPU.
        cuda_graphs: capture one CUDA graph per input shape and replay it (CUDA only).
        compile: wrap the network in ``torch.compile`` (first call per shape compiles, slowly).
    """

    name: ClassVar[str] = "torch"
    #: Above onnxruntime-cuda on a GPU (FP16 + CUDA graphs), below onnxruntime on a CPU.
    priority: ClassVar[int] = DevicePriority(gpu=30, cpu=5)  # type: ignore[assignment]
    device_kind: ClassVar[str] = DevicePriority(gpu="gpu", cpu="cpu")  # type: ignore[assignment]
    takes_frames: ClassVar[bool] = DevicePriority(gpu=True, cpu=False)  # type: ignore[assignment]

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int | None = None,
        device: str | None = None,
        half: bool | None = None,
        cuda_graphs: bool = True,
        compile: bool = False,
    ) -> None:
        super().__init__(model_path, threads=threads)
        self._device_name = device
        self._half = half
        self.cuda_graphs = cuda_graphs
        self.compile = compile
        self._net: Any = None
        self._device: Any = None
        self._dtype: Any = None
        self._local = threading.local()
        self._states: list[_ThreadState] = []
        self._lock = threading.Lock()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return "PyTorch is not installed: pip install torch (the CUDA build on an NVIDIA GPU machine)"
        return None

    def load(self) -> None:
        self.check_loadable()
        import torch

        device = torch.device(self._device_name or ("cuda" if cuda_available() else "cpu"))
        if device.type == "cuda" and not cuda_available():
            raise BackendUnavailableError(f"backend 'torch' cannot use {device}: {cuda_unavailable_reason()}")
        half = self._half if self._half is not None else device.type == "cuda"
        if half and device.type != "cuda":
            raise BackendUnavailableError(
                "FP16 needs a CUDA device; on the CPU the torch backend runs float32"
            )
        net = stylenet_from_onnx(self.model_path)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # autotune conv algorithms per input shape
            if half:
                net = net.half()
                _float32_norms(net)
            net = net.to(device, memory_format=torch.channels_last)
        elif self.threads:
            torch.set_num_threads(self.threads)
        if self.compile:
            net = torch.compile(net)
        self._net, self._device = net, device
        self._dtype = torch.float16 if half else torch.float32
        log.info(
            "torch %s on %s (%s)%s", torch.__version__, self.device, self._dtype, " compiled" * self.compile
        )

    @property
    def device(self) -> str:
        if self._device is not None and self._device.type == "cuda":
            name, cc = gpu_identity(self._device)
            return f"{name} (sm {cc})"
        return "cpu"

    def close(self) -> None:
        with self._lock:
            for state in self._states:
                state.graphs.clear()
                state.staging.clear()
            self._states.clear()
        self._local = threading.local()
        self._net = None

    def _state(self) -> _ThreadState:
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _ThreadState(self._device, pin=self._device.type == "cuda")
            with self._lock:
                self._states.append(state)
        return state

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        return self._round_trip(batch, tuple(batch.shape), lambda x: x, lambda y: y.float())

    def infer_frames(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Frames in and out as uint8; on CUDA the layout, cast and rounding run on the GPU and only
        uint8 pixels cross the bus (through this thread's page-locked buffers), inward not at all
        for frames already on the GPU."""
        from vstyle.gpu import batch_to_frames, frames_to_batch

        n, h, w, _ = frames.shape
        return self._round_trip(
            np.ascontiguousarray(frames) if isinstance(frames, np.ndarray) else frames,
            (n, 3, h, w),
            lambda x: frames_to_batch(x, self._dtype, channels_last=True),
            batch_to_frames,
        )

    def _round_trip(
        self, data: np.ndarray | torch.Tensor, shape: tuple[int, ...], prepare: Any, finish: Any
    ) -> np.ndarray:
        """``prepare`` ``data`` (on the device: a host array after the upload through this thread's
        page-locked buffers, a tensor where it is) into the network's ``shape`` input, run it,
        ``finish`` the output and bring it back."""
        if self._net is None:
            raise RuntimeError("backend is not loaded; use it as a context manager")
        import torch

        state = self._state()
        on_host = isinstance(data, np.ndarray)
        if self._device.type != "cuda":
            with torch.inference_mode():
                x = torch.from_numpy(data) if on_host else data.cpu()
                return finish(self._net(prepare(x))).numpy()
        try:
            with torch.cuda.stream(state.stream), torch.inference_mode():
                x = state.staging.upload(data, self._device) if on_host else data.to(self._device)
                x = prepare(x)
                out = state.staging.download(finish(self.forward(x, state)))
            state.stream.synchronize()
        except torch.cuda.OutOfMemoryError as exc:
            from vstyle.gpu import memory_report

            raise BackendUnavailableError(
                f"out of GPU memory running a {'×'.join(map(str, shape))} batch on {self.device} "
                f"({memory_report(self._device)}): lower --height or the batch size, or free the GPU"
            ) from exc
        return out.copy()

    def forward(
        self, x: torch.Tensor, state: _ThreadState | None = None, *, graphs: bool | None = None
    ) -> torch.Tensor:
        """Run the network on a device tensor ``(N, 3, H, W)`` float, 0..255 (GPU data stays there).

        With CUDA graphs on, the result is this thread's graph output buffer for the shape: read or
        copy it before this thread's next call (graphs of other shapes share its memory pool, so
        any later call may overwrite it).
        """
        import torch

        state = state or self._state()
        x = x.to(self._dtype).contiguous(memory_format=torch.channels_last)
        use_graphs = self.cuda_graphs if graphs is None else graphs
        if self._device.type != "cuda" or not use_graphs:
            return self._net(x)
        shape = tuple(x.shape)
        entry = state.graphs.get(shape)
        if entry is None:
            entry = self._capture(x, state)
        else:
            state.graphs.move_to_end(shape)
        graph, static_in, static_out = entry
        static_in.copy_(x)
        graph.replay()
        return static_out

    def _capture(self, x: torch.Tensor, state: _ThreadState) -> tuple[Any, torch.Tensor, torch.Tensor]:
        import torch

        static_in = x.clone()
        # Warm-up on the current (non-default) stream: cuDNN autotuning and allocator growth must
        # happen before capture, they cannot be recorded.
        for _ in range(2):
            self._net(static_in)
        torch.cuda.current_stream().synchronize()
        graph = torch.cuda.CUDAGraph()
        # thread_local: other threads (decoding, other workers) may use CUDA during the capture.
        with torch.cuda.graph(graph, pool=state.pool, stream=state.stream, capture_error_mode="thread_local"):
            static_out = self._net(static_in)
        if len(state.graphs) >= _MAX_GRAPHS:
            state.graphs.popitem(last=False)
        state.graphs[tuple(x.shape)] = (graph, static_in, static_out)
        log.debug("captured a CUDA graph for input %s", tuple(x.shape))
        return graph, static_in, static_out

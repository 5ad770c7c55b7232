"""Running a serialized TensorRT engine with PyTorch-owned device memory and streams.

:class:`TrtEngine` is a context manager (Polygraphy's runner pattern): ``__enter__`` deserialises the
engine, ``__exit__`` releases contexts, engine and runtime in reverse order. It uses today's
name-based API only (``num_io_tensors``, ``get_tensor_name``, ``get_tensor_mode``,
``set_input_shape``, ``set_tensor_address``, ``execute_async_v3``). Every thread gets its own
execution context and CUDA stream (a context must not run on two streams at once); activation memory
(``ExecutionContextAllocationStrategy.USER_MANAGED``), inputs and outputs are ``torch.cuda``
tensors, so an out-of-memory surfaces as PyTorch's ``OutOfMemoryError`` and PyTorch's caching
allocator owns every byte. Optional CUDA graphs: one captured ``execute_async_v3`` per input shape,
each with its own execution context (a graph freezes shapes and addresses).

Nothing here imports TensorRT or PyTorch at module import.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vstyle.errors import BackendUnavailableError
from vstyle.gpu import cuda_unavailable_reason, memory_report
from vstyle.trt.cache import CacheEntry, EngineError, Profile, ProfileError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

#: How to install TensorRT (the wheels are on PyPI; NVIDIA's own index has them too).
TENSORRT_HINT = (
    "pip install tensorrt-cu12 (or tensorrt-cu13), matching your PyTorch's CUDA (torch.version.cuda); "
    "if pip finds no wheel, add --extra-index-url https://pypi.nvidia.com (NVIDIA's index). "
    "No pycuda is needed: vstyle uses PyTorch's CUDA memory and streams"
)
_MAX_GRAPHS = 8
#: Byte alignment TensorRT requires of tensor addresses (``IExecutionContext.setTensorAddress``).
_ALIGNMENT = 256


def tensorrt_unavailable_reason() -> str | None:
    """``None`` where TensorRT can run here, else why not and how to install what is missing."""
    if importlib.util.find_spec("tensorrt") is None:
        return f"TensorRT is not installed: {TENSORRT_HINT}"
    reason = cuda_unavailable_reason()
    if reason is not None:
        return f"TensorRT needs CUDA through PyTorch: {reason}"
    return None


def import_tensorrt() -> Any:
    """The ``tensorrt`` module; :class:`BackendUnavailableError` with the install hint where it cannot run."""
    reason = tensorrt_unavailable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"TensorRT is unavailable: {reason}")
    try:
        import tensorrt as trt
    except (ImportError, OSError) as exc:  # a wheel without its libnvinfer, a CUDA mismatch…
        raise BackendUnavailableError(
            f"tensorrt is installed but does not load ({exc}); reinstall it: {TENSORRT_HINT}"
        ) from exc
    return trt


def make_logger(trt: Any) -> Any:
    """A ``trt.ILogger`` that forwards to Python logging and keeps the last warnings and errors."""
    severity = trt.ILogger.Severity
    levels = {
        severity.INTERNAL_ERROR: logging.ERROR,
        severity.ERROR: logging.ERROR,
        severity.WARNING: logging.WARNING,
        severity.INFO: logging.DEBUG,
        severity.VERBOSE: logging.DEBUG,
    }

    class Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.problems: collections.deque[str] = collections.deque(maxlen=20)
            self.lock = threading.Lock()

        def log(self, sev: Any, msg: str) -> None:
            level = levels.get(sev, logging.DEBUG)
            if level >= logging.ERROR:
                with self.lock:
                    self.problems.append(msg.strip())
            log.log(level, "TensorRT: %s", msg)

        def take(self) -> str:
            """The errors logged since the last call, joined into one line."""
            with self.lock:
                text = " | ".join(dict.fromkeys(self.problems)) or "no error was logged"
                self.problems.clear()
            return text

    return Logger()


def torch_dtype(trt: Any, dtype: Any) -> torch.dtype:
    import torch

    table = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16}
    if dtype not in table:
        raise EngineError(f"engine I/O type {dtype} is not float32/float16; not a vstyle style network")
    return table[dtype]


@dataclass(frozen=True)
class IOTensor:
    name: str
    dtype: Any  # torch.dtype


class _Graph:
    """One captured ``execute_async_v3`` for one input shape, with its own context and buffers."""

    def __init__(self, graph: Any, context: Any, memory: Any, static_in: Any, static_out: Any) -> None:
        self.graph, self.context, self.memory = graph, context, memory
        self.static_in, self.static_out = static_in, static_out


class _ThreadContext:
    """One thread's execution context, CUDA stream, output buffers and graphs."""

    def __init__(self, engine: TrtEngine) -> None:
        import torch

        self.engine = engine
        self.stream = torch.cuda.Stream(engine.device)
        # With CUDA graphs every shape gets its own context (a graph freezes one), so none here.
        # The activation memory is allocated on the stream TensorRT uses it on, so the caching
        # allocator never hands it to other work while that stream may still be running.
        with torch.cuda.stream(self.stream):
            self.context, self.memory = (None, None) if engine.cuda_graphs else engine.create_context()
        self.outputs: dict[tuple[int, ...], torch.Tensor] = {}
        self.graphs: collections.OrderedDict[tuple[int, ...], _Graph] = collections.OrderedDict()

    def close(self) -> None:
        self.stream.synchronize()  # nothing may still be writing the buffers released here
        self.graphs.clear()
        self.outputs.clear()
        self.context = self.memory = None

    def _bind(self, context: Any, x: torch.Tensor) -> torch.Tensor:
        """Set the input shape and both addresses on ``context``; return the output tensor."""
        import torch

        eng = self.engine
        if not context.set_input_shape(eng.input.name, tuple(x.shape)):
            raise ProfileError(eng.profile_message(tuple(x.shape)) + f": {eng.logger.take()}")
        out_shape = tuple(context.get_tensor_shape(eng.output.name))
        if any(d < 0 for d in out_shape):
            raise EngineError(f"TensorRT could not infer the output shape for input {tuple(x.shape)}")
        out = self.outputs.get(out_shape)
        if out is None:
            out = self.outputs[out_shape] = torch.empty(out_shape, dtype=eng.output.dtype, device=eng.device)
        for name, tensor in ((eng.input.name, x), (eng.output.name, out)):
            if not context.set_tensor_address(name, tensor.data_ptr()):
                raise EngineError(f"TensorRT refused the address of {name!r}: {eng.logger.take()}")
        return out

    def execute(self, x: torch.Tensor) -> torch.Tensor:
        """Run on this thread's stream (the caller has made it current); the output is reused per shape."""
        import torch

        eng = self.engine
        x = x.to(eng.input.dtype).contiguous()
        if x.data_ptr() % _ALIGNMENT:  # a view into a batch (x[1:]): TensorRT wants aligned tensors
            x = x.clone()
        shape = tuple(x.shape)
        if not eng.profile.fits(shape[0], shape[2], shape[3]):
            raise ProfileError(eng.profile_message(shape))
        if eng.cuda_graphs:
            return self._replay(x)
        out = self._bind(self.context, x)
        if not self.context.execute_async_v3(torch.cuda.current_stream().cuda_stream):
            raise EngineError(f"TensorRT failed to run {eng.source} on input {shape}: {eng.logger.take()}")
        return out

    def _replay(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        shape = tuple(x.shape)
        entry = self.graphs.get(shape)
        if entry is None:
            eng = self.engine
            context, memory = eng.create_context()
            static_in = x.clone()
            out = self._bind(context, static_in)
            static_out = out.clone()  # the graph's own output buffer, not the shared per-shape one
            if not context.set_tensor_address(eng.output.name, static_out.data_ptr()):
                raise EngineError(f"TensorRT refused the output address: {eng.logger.take()}")
            stream = torch.cuda.current_stream()
            # One eager run first: TensorRT finishes shape-dependent set-up outside the capture.
            if not context.execute_async_v3(stream.cuda_stream):
                raise EngineError(
                    f"TensorRT failed to run {eng.source} on input {shape}: {eng.logger.take()}"
                )
            stream.synchronize()
            graph = torch.cuda.CUDAGraph()
            # thread_local: other threads (decoding, other workers) may use CUDA during the capture.
            with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
                captured = context.execute_async_v3(stream.cuda_stream)
            if not captured:  # raised only after the capture has ended cleanly
                raise EngineError(f"TensorRT could not be captured in a CUDA graph: {eng.logger.take()}")
            if len(self.graphs) >= _MAX_GRAPHS:
                self.graphs.popitem(last=False)
            entry = self.graphs[shape] = _Graph(graph, context, memory, static_in, static_out)
            log.debug("captured a CUDA graph of %s for input %s", eng.source, shape)
        else:
            self.graphs.move_to_end(shape)
            entry.static_in.copy_(x)
        entry.graph.replay()
        return entry.static_out


class TrtEngine:
    """A deserialised engine that hands each calling thread its own execution context.

    Args:
        engine: the serialized engine (bytes already verified by the cache).
        source: what to call it in messages (the engine file).
        entry: its cache entry, for explaining failures (built for which TensorRT, GPU, profile).
        device: the CUDA device (default the current one).
        cuda_graphs: capture and replay one CUDA graph per input shape.

    Shape:
        - :meth:`run` input: ``(N, 3, H, W)`` CUDA tensor, float32 (cast to the engine's input type).
        - output: ``(N, 3, H, W)`` CUDA tensor of the engine's output type, reused per shape and thread.
    """

    def __init__(
        self,
        engine: bytes,
        *,
        source: str = "engine",
        entry: CacheEntry | None = None,
        device: Any = None,
        cuda_graphs: bool = False,
    ) -> None:
        self._bytes: bytes | None = engine
        self.source = source
        self.entry = entry
        self._device_arg = device
        self.cuda_graphs = cuda_graphs
        self.device: Any = None
        self.logger: Any = None
        self.runtime: Any = None
        self.engine: Any = None
        self.profile: Profile | None = None
        self.input: IOTensor | None = None
        self.output: IOTensor | None = None
        self._local = threading.local()
        self._contexts: list[_ThreadContext] = []
        self._lock = threading.Lock()
        self._stack = contextlib.ExitStack()

    # -- lifetime ---------------------------------------------------------------------------------------

    def __enter__(self) -> TrtEngine:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        import torch

        trt = import_tensorrt()
        self.device = torch.device(self._device_arg or f"cuda:{torch.cuda.current_device()}")
        torch.cuda.set_device(self.device)
        self.logger = make_logger(trt)
        self.runtime = trt.Runtime(self.logger)
        self._stack.callback(self._drop, "runtime")
        self.engine = self.runtime.deserialize_cuda_engine(self._bytes)
        if self.engine is None:
            raise EngineError(self._load_failure(trt))
        self._stack.callback(self._drop, "engine")
        self._stack.callback(self._drop_contexts)
        self._bytes = None  # the engine holds its own copy
        self.input, self.output = self._io(trt)
        lo, opt, hi = (tuple(d) for d in self.engine.get_tensor_profile_shape(self.input.name, 0))
        self.profile = Profile((lo[0], lo[2], lo[3]), (opt[0], opt[2], opt[3]), (hi[0], hi[2], hi[3]))
        log.info("TensorRT %s: loaded %s (%s)", trt.__version__, self.source, self.profile.describe())

    def _load_failure(self, trt: Any) -> str:
        from vstyle.gpu import gpu_identity

        name, cc = gpu_identity(self.device)
        built = ""
        if self.entry is not None:
            k = self.entry.key
            built = f", built with TensorRT {k.tensorrt_version} for {k.gpu_name} (compute capability "
            built += f"{k.compute_capability})"
        return (
            f"TensorRT could not deserialize {self.source}{built}; this is TensorRT {trt.__version__} on "
            f"{name} (compute capability {cc}) ({self.logger.take()}); rebuild it: `vstyle build ... "
            "--force` (the tensorrt backend rebuilds engines it made itself)"
        )

    def _io(self, trt: Any) -> tuple[IOTensor, IOTensor]:
        eng = self.engine
        names = [eng.get_tensor_name(i) for i in range(eng.num_io_tensors)]
        inputs = [n for n in names if eng.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if eng.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1 or len(eng.get_tensor_shape(inputs[0])) != 4:
            raise EngineError(
                f"{self.source} is not a style network engine: expected one N×3×H×W input and one "
                f"output. Network inputs are: {inputs}, outputs: {outputs}"
            )
        return (
            IOTensor(inputs[0], torch_dtype(trt, eng.get_tensor_dtype(inputs[0]))),
            IOTensor(outputs[0], torch_dtype(trt, eng.get_tensor_dtype(outputs[0]))),
        )

    def _drop(self, attr: str) -> None:
        setattr(self, attr, None)

    def _drop_contexts(self) -> None:
        with self._lock:
            for ctx in reversed(self._contexts):
                ctx.close()
            self._contexts.clear()
        self._local = threading.local()

    def close(self) -> None:
        """Release contexts, engine and runtime (reverse order); safe to call twice."""
        self._stack.close()

    # -- running ----------------------------------------------------------------------------------------

    def create_context(self) -> tuple[Any, Any]:
        """A new execution context whose activation memory is a PyTorch tensor (kept alive with it)."""
        import tensorrt as trt
        import torch

        eng = self.engine
        strategy = getattr(getattr(trt, "ExecutionContextAllocationStrategy", None), "USER_MANAGED", None)
        try:
            if strategy is None or not hasattr(trt.IExecutionContext, "set_device_memory"):
                context, memory = eng.create_execution_context(), None
            else:
                context = eng.create_execution_context(strategy)
                sizes = (getattr(eng, a, None) for a in ("device_memory_size_v2", "device_memory_size"))
                size = next((int(v) for v in sizes if v is not None), 0)
                memory = torch.empty(max(size, 1), dtype=torch.uint8, device=self.device)
                if context is not None:
                    try:
                        context.set_device_memory(memory.data_ptr(), size)
                    except TypeError:  # an API taking only the pointer
                        context.set_device_memory(memory.data_ptr())
        except torch.cuda.OutOfMemoryError as exc:
            raise EngineError(
                f"out of GPU memory creating an execution context for {self.source} "
                f"({memory_report(self.device)}); rebuild with a smaller --max or --max-batch, "
                "or free the GPU"
            ) from exc
        if context is None:
            raise EngineError(
                f"TensorRT could not create an execution context for {self.source} "
                f"({self.logger.take()}; {memory_report(self.device)})"
            )
        return context, memory

    def thread_context(self) -> _ThreadContext:
        """This thread's execution context (created on first use)."""
        if self.engine is None:
            raise RuntimeError("engine is not open; use it as a context manager")
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = self._local.ctx = _ThreadContext(self)
            with self._lock:
                self._contexts.append(ctx)
        return ctx

    def profile_message(self, shape: tuple[int, ...]) -> str:
        n, _, h, w = shape
        return (
            f"a {n}×3×{h}×{w} input (N×3×H×W) does not fit {self.source}, built for profile "
            f"{self.profile.describe() if self.profile else '?'}; rebuild it with "
            f"`vstyle build --max {h}x{w} --max-batch {n} --force` (a bigger profile), or lower --height"
        )

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Run ``x`` on this thread's context and stream, ordered after the caller's current stream.

        The caller's stream waits for the result, so it can use the output without synchronising;
        the output buffer is reused by this thread's next call with the same shape.
        """
        import torch

        ctx = self.thread_context()
        caller = torch.cuda.current_stream(self.device)
        ctx.stream.wait_stream(caller)
        with torch.cuda.stream(ctx.stream):
            out = ctx.execute(x)
        caller.wait_stream(ctx.stream)
        return out

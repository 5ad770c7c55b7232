"""Frame in, frame out: sizing, tensor layout and the backend call in one place."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from vstyle.backends import Backend, choose_backend
from vstyle.backends.base import round_to_frames
from vstyle.config import StylizeConfig
from vstyle.errors import ConfigError
from vstyle.frames import check_image
from vstyle.styles import resolve_model

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


@dataclass
class StylizerTimes:
    """Seconds spent inside the stylizer, summed over every call."""

    preprocess: float = 0.0
    infer: float = 0.0
    postprocess: float = 0.0
    frames: int = 0
    calls: int = 0

    def as_dict(self) -> dict[str, float]:
        n = max(self.frames, 1)
        return {
            "preprocess_ms_per_frame": 1e3 * self.preprocess / n,
            "infer_ms_per_frame": 1e3 * self.infer / n,
            "postprocess_ms_per_frame": 1e3 * self.postprocess / n,
            "frames": self.frames,
            "calls": self.calls,
        }


#: The lowest height :func:`fit_height` goes down to. A style network paints strokes of a fixed
#: size in pixels: below about 144 rows they are as large as the things in the picture and a
#: 640×360 frame turns to mush (looked at for every bundled style), so a network too slow for the
#: source there runs below its rate instead, and says so.
MIN_FIT_HEIGHT = 144


def fit_height(
    cost: Callable[[int], float], full: int, budget: float, *, probe: int = 360, floor: int = MIN_FIT_HEIGHT
) -> int:
    """The largest even height up to ``full`` at which ``cost(height)`` (seconds a frame) is within
    ``budget``, found with a few measurements (``floor`` when none is).

    A style network's cost grows with its pixels, so about as the square of the height: one probe at
    ``probe`` predicts the height, a measurement there confirms it, and a miss aims 5 % under the
    next prediction. Six measurements at most.
    """
    if full <= floor:
        return full

    def even(value: float) -> int:
        return max(floor, min(full, int(value) // 2 * 2))

    height = even(min(full, probe))
    measured = {height: cost(height)}
    height = even(height * math.sqrt(budget / max(measured[height], 1e-9)))
    for _ in range(5):
        if height not in measured:
            measured[height] = cost(height)
        spent = measured[height]
        if spent <= budget or height == floor:
            return height
        height = even(height * math.sqrt(budget / spent) * 0.95)
    return height


def scaled_size(width: int, height: int, target_height: int | None) -> tuple[int, int]:
    """Frame size after scaling to ``target_height`` (aspect kept, both sides even)."""
    if target_height is None or target_height == height:
        return width, height
    new_h = max(2, target_height - target_height % 2)
    new_w = max(2, int(round(width * new_h / height / 2.0)) * 2)
    return new_w, new_h


def blend(styled: np.ndarray, image: np.ndarray | torch.Tensor, strength: float) -> np.ndarray:
    """``strength`` of ``styled`` over ``1 - strength`` of ``image`` scaled to its size (a new array)."""
    if not isinstance(image, np.ndarray):  # a frame decoded on the GPU: the blend runs on the host
        image = image.cpu().numpy()
    height, width = styled.shape[:2]
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.addWeighted(styled, strength, image, 1.0 - strength, 0.0)


@dataclass
class Stylizer:
    """Stylizes ``H×W×3 uint8`` RGB images with one style network.

    Frames are scaled to ``config.height`` (if set), padded by reflection to the model's size
    multiple, run through the backend and cropped back, so the output has the scaled size. With a
    :attr:`strength` under 1 the output is blended with the scaled input (``strength`` of the style).

    Example:
        >>> with Stylizer(StylizeConfig(style="scream")) as stylize:  # doctest: +SKIP
        ...     painted = stylize(frame)
    """

    config: StylizeConfig = field(default_factory=StylizeConfig)
    times: StylizerTimes = field(default_factory=StylizerTimes, init=False)
    model_path: Path | None = field(default=None, init=False)
    size_multiple: int = field(default=4, init=False)
    workers: int = field(default=1, init=False)
    #: Share of the style in the output, 0..1 (from ``config.strength``; may be changed while running).
    strength: float = field(default=1.0, init=False)
    _backend: Backend | None = field(default=None, init=False, repr=False)
    # Input buffers are per thread: several pipeline workers may stylize at once.
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)
    _times_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError("Stylizer is not open; use it as a context manager")
        return self._backend

    def open(self) -> Stylizer:
        from vstyle.models.metadata import read_model_metadata

        self.model_path = resolve_model(self.config.model, self.config.style)
        self.strength = self.config.strength
        info = read_model_metadata(self.model_path)
        self.size_multiple = max(1, info.size_multiple)
        backend_cls = choose_backend(self.config.backend)
        cores = len(os.sched_getaffinity(0))
        if self.config.workers is not None:
            self.workers = self.config.workers
        else:
            self.workers = min(2, cores) if backend_cls.device_kind == "cpu" else 1
        threads = self.config.threads or max(1, cores // self.workers)
        model, options = self._precision_options(backend_cls)
        backend = backend_cls(model, threads=threads, **options)
        backend.__enter__()
        self._backend = backend
        log.info(
            "stylizer: %s on %s (%s), %d worker(s) × %d thread(s)",
            self.model_path.name, backend.name, backend.device, self.workers, threads,
        )  # fmt: skip
        return self

    def _precision_options(self, backend_cls: type[Backend]) -> tuple[Path, dict[str, Any]]:
        """The model file and backend options that give ``config.precision`` and ``cuda_graphs``."""
        precision, graphs = self.config.precision, self.config.cuda_graphs
        model = self.model_path
        assert model is not None
        options: dict[str, Any] = {}
        if backend_cls.name == "tensorrt":
            if precision is not None:
                options["precision"] = precision
            if graphs is not None:
                options["cuda_graphs"] = graphs
            return model, options
        if backend_cls.name == "torch":
            if precision == "int8":
                raise ConfigError(
                    "the torch backend runs fp32 or fp16; INT8 (QDQ) runs on --backend onnxruntime or tensorrt"
                )
            if precision is not None:
                options["half"] = precision == "fp16"
            if graphs is not None:
                options["cuda_graphs"] = graphs
            return model, options
        if graphs:
            raise ConfigError(f"CUDA graphs need the tensorrt or torch backend, not {backend_cls.name}")
        if precision is None:
            return model, options
        try:
            from vstyle.trt.build import derived_onnx, model_precision, precision_name
            from vstyle.trt.cache import resolve_engine_dir

            if model_precision(model) == precision_name(precision):
                return model, options
            self.model_path = derived_onnx(model, precision_name(precision), resolve_engine_dir())
        except ImportError as error:
            raise ConfigError(
                f"--precision {precision} converts the model with the onnx package ({error.name} is "
                "missing): pip install onnx"
            ) from None
        log.info("precision %s: %s", precision, self.model_path)
        return self.model_path, options

    def close(self) -> None:
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.__exit__(None, None, None)
        self._local = threading.local()

    def __enter__(self) -> Stylizer:
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of the stylized frame for an input of this size."""
        return scaled_size(width, height, self.config.height)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.stylize_batch([image])[0]

    def stylize_batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Stylize same-sized images in one backend call (thread-safe).

        Shape:
            - images: each ``(H, W, 3)`` uint8 RGB, all the same size.
            - returns: each ``(H', W', 3)`` uint8 RGB, ``(W', H') = output_size(W, H)``.
        """
        if not images:
            return []
        height, width = images[0].shape[:2]
        backend = self.backend
        t0 = time.perf_counter()
        if backend.takes_frames or not isinstance(images[0], np.ndarray):
            # GPU backends: scaling and padding stay on the host (uint8), the layout goes to the GPU;
            # frames decoded on the GPU are scaled and padded there.
            frames = self.preprocess_frames(images)
            t1 = time.perf_counter()
            result = backend.infer_frames(frames)
            t2 = time.perf_counter()
            out_w, out_h = self.output_size(width, height)
            outputs = [np.ascontiguousarray(frame[:out_h, :out_w]) for frame in result]
        else:
            batch = self.preprocess(images)
            t1 = time.perf_counter()
            result = backend.infer(batch)
            t2 = time.perf_counter()
            outputs = self.postprocess(result, len(images), *self.output_size(width, height))
        strength = self.strength
        if strength < 1.0:
            outputs = [blend(out, image, strength) for out, image in zip(outputs, images, strict=True)]
        t3 = time.perf_counter()
        with self._times_lock:
            times = self.times
            times.preprocess += t1 - t0
            times.infer += t2 - t1
            times.postprocess += t3 - t2
            times.frames += len(images)
            times.calls += 1
        return outputs

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Scale, reflect-pad to the size multiple and lay out images as the backend's input.

        The returned array is this thread's reused buffer: copy it to keep it past the next call.

        Shape:
            - images: each ``(H, W, 3)`` uint8 RGB, all the same size.
            - returns: ``(N, 3, H'+pad, W'+pad)`` float32, values 0..255.
        """
        batch: np.ndarray | None = None
        for i, image in enumerate(self._sized(images)):
            if batch is None:
                batch = self._input_buffer("batch", (len(images), 3, *image.shape[:2]), np.float32)
            # One pass: HWC uint8 → CHW float32, written straight into the reused batch buffer.
            np.copyto(batch[i], image.transpose(2, 0, 1), casting="unsafe")
        assert batch is not None
        return batch

    def preprocess_frames(
        self, images: Sequence[np.ndarray] | Sequence[torch.Tensor]
    ) -> np.ndarray | torch.Tensor:
        """Scale and reflect-pad images as :meth:`preprocess` does, but keep them ``uint8`` HWC for a
        backend that lays them out itself (:attr:`~vstyle.backends.base.Backend.takes_frames`).

        Host images come back in this thread's reused buffer, like :meth:`preprocess`'s; torch
        tensors (frames decoded on the GPU) are scaled and padded where they are
        (:func:`vstyle.gpu.fit_frames`) and come back as one tensor there.

        Shape:
            - images: each ``(H, W, 3)`` uint8 RGB, all the same size.
            - returns: ``(N, H'+pad, W'+pad, 3)`` uint8.
        """
        if not isinstance(images[0], np.ndarray):
            return self._fit_on_device(images)  # type: ignore[arg-type]
        frames: np.ndarray | None = None
        for i, image in enumerate(self._sized(images)):
            if frames is None:
                frames = self._input_buffer("frames", (len(images), *image.shape), np.uint8)
            frames[i] = image
        assert frames is not None
        return frames

    def _fit_on_device(self, images: Sequence[torch.Tensor]) -> torch.Tensor:
        import torch

        from vstyle.gpu import fit_frames

        first = images[0]
        if first.ndim != 3 or first.shape[2] != 3 or first.dtype != torch.uint8:
            raise ValueError(
                f"frame must be an H×W×3 uint8 RGB tensor. Got {first.dtype} of shape {tuple(first.shape)}"
            )
        if any(image.shape != first.shape for image in images):
            raise ValueError(f"all frames of a batch must be {first.shape[1]}×{first.shape[0]}")
        height, width = first.shape[:2]
        out_w, out_h = self.output_size(width, height)
        m = self.size_multiple
        return fit_frames(torch.stack(list(images)), out_w, out_h, (-out_h) % m, (-out_w) % m)

    def _sized(self, images: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
        """Each image checked, scaled to the output size and padded to the size multiple."""
        height, width = check_image(images[0], "frame").shape[:2]
        out_w, out_h = self.output_size(width, height)
        m = self.size_multiple
        pad_h, pad_w = (-out_h) % m, (-out_w) % m
        for image in images:
            if check_image(image, "frame").shape[:2] != (height, width):
                raise ValueError(
                    f"all frames of a batch must be {width}×{height}. Got {image.shape[1]}×{image.shape[0]}"
                )
            if (out_w, out_h) != (width, height):
                image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)
            if pad_h or pad_w:
                # Reflection keeps the network's padding statistics close to a real border;
                # zeros would leave a dark seam the instance norm then spreads.
                image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
            yield image

    @staticmethod
    def postprocess(result: np.ndarray, n: int, width: int, height: int) -> list[np.ndarray]:
        """Crop the padding and convert the backend's output back to images.

        Shape:
            - result: ``(N, 3, H+pad, W+pad)`` float32, values 0..255.
            - returns: ``n`` images ``(height, width, 3)`` uint8 RGB.
        """
        return list(round_to_frames(result[:n, :, :height, :width]))

    def fit_height(
        self, width: int, height: int, fps: float, *, margin: float = 1.25, max_height: int | None = None
    ) -> int:
        """Set :attr:`config`'s height to the largest at which the workers keep up with ``fps``
        frames a second of ``width×height`` input, with ``margin`` to spare; returns it.

        Measured on this machine (:func:`fit_height`): each worker gets ``workers / fps / margin``
        seconds a frame. A source already small enough keeps its size; ``max_height`` caps the
        choice (another style's output height, say).
        """
        base = self.config
        blank = np.zeros((height, width, 3), np.uint8)
        budget = self.workers / (fps * margin)
        measured: dict[int, float] = {}

        def cost(target: int) -> float:
            self.config = dataclasses.replace(base, height=target)
            t0 = time.perf_counter()
            self.stylize_batch([blank])  # the first call at a size allocates: timed only as a bound
            first = time.perf_counter() - t0
            if first > 3 * budget:
                measured[target] = first  # far over: the next guess needs no precise number
                return first
            spent = []
            for _ in range(3):
                t0 = time.perf_counter()
                self.stylize_batch([blank])
                spent.append(time.perf_counter() - t0)
            measured[target] = statistics.median(spent)
            return measured[target]

        try:
            chosen = fit_height(cost, min(height, max_height or height), budget)
        finally:
            self.config = base
        self.config = dataclasses.replace(base, height=None if chosen == height else chosen)
        self.times = StylizerTimes()
        if measured.get(chosen, 0.0) > budget:
            log.warning(
                "%s cannot keep up with %.3g fps here even at %d rows, the least that stays legible: "
                "it runs at about %.3g fps (frames in between are dropped)",
                self.model_path.stem if self.model_path else "the network",
                fps,
                chosen,
                self.workers / measured[chosen],
            )
        else:
            log.info("height %d of %d keeps up with %.3g fps", chosen, height, fps)
        return chosen

    def cancel(self) -> None:
        """End the inferences in flight early where the backend can (thread-safe); they raise."""
        if self._backend is not None:
            self._backend.cancel()

    def warmup(self, width: int, height: int, runs: int = 1) -> None:
        """Run the network on a blank frame of this input size so the first real frame is not slow.

        Backends allocate and tune on their first call at a shape (ONNX Runtime's arena, TensorRT's
        contexts); doing it before the stream starts keeps it out of live latency. Timings reset.
        """
        blank = np.zeros((height, width, 3), np.uint8)
        for _ in range(runs):
            self.stylize_batch([blank] * self.config.batch_size)
        self.times = StylizerTimes()

    def _input_buffer(self, role: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        buffer = getattr(self._local, role, None)
        if buffer is None or buffer.shape != shape:
            buffer = np.empty(shape, dtype)
            setattr(self._local, role, buffer)
        return buffer

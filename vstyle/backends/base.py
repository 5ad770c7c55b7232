"""The interface every inference backend implements."""

from __future__ import annotations

import abc
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch


class Backend(abc.ABC):
    """Runs one exported style network.

    A backend is a context manager: constructing it only records settings; ``__enter__`` loads the
    model and acquires threads/devices, ``__exit__`` releases them (idempotent). :meth:`infer` takes
    and returns batches in the model's I/O contract.

    Shape:
        - input: ``(N, 3, H, W)`` float32, RGB, values 0..255, ``H`` and ``W`` multiples of the
          model's ``size_multiple``.
        - output: ``(N, 3, H, W)`` float32, RGB, values 0..255.
    """

    #: Name used on the command line (``--backend NAME``).
    name: ClassVar[str]
    #: Where ``auto`` prefers it: higher wins among the available backends.
    priority: ClassVar[int] = 0
    #: ``"cpu"`` or ``"gpu"``: decides defaults such as the number of stylize workers.
    device_kind: ClassVar[str] = "cpu"
    #: Whether :meth:`infer_frames` does the layout work itself (on the GPU): the stylizer then
    #: hands it ``uint8`` frames, a quarter of the float32 batch's bytes to upload, and leaves the
    #: host only the scaling and padding.
    takes_frames: ClassVar[bool] = False

    def __init__(self, model_path: Path, *, threads: int | None = None) -> None:
        self.model_path = Path(model_path)
        self.threads = threads

    @classmethod
    @abc.abstractmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` where this backend can run here, else why not and how to install it."""

    def check_loadable(self) -> None:
        """Raise before any work if this backend cannot run here or the model file is missing.

        Raises:
            BackendUnavailableError: :meth:`unavailable_reason` says why (and how to install it).
            ModelError: the model file does not exist.
        """
        from vstyle.errors import BackendUnavailableError, ModelError

        reason = self.unavailable_reason()
        if reason:
            raise BackendUnavailableError(f"backend {self.name!r} is unavailable: {reason}")
        if not self.model_path.is_file():
            raise ModelError(f"model {self.model_path} not found; pass an .onnx file made by `vstyle export`")

    @abc.abstractmethod
    def load(self) -> None:
        """Load the model; raise :class:`~vstyle.errors.ModelError` if it is not a usable model."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything :meth:`load` acquired; safe to call twice."""

    @abc.abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Stylize a batch (see the class docstring for shapes)."""

    def infer_frames(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Stylize ``(N, H, W, 3)`` uint8 RGB frames into host frames of the same shape.

        ``frames`` is a host array, or a torch tensor (frames decoded on the GPU): backends with
        :attr:`takes_frames` use it where it is, with no host copy, and do the layout and rounding
        where the network runs. This default brings a tensor to the host, lays the frames out
        there and calls :meth:`infer`.
        """
        if not isinstance(frames, np.ndarray):
            frames = frames.cpu().numpy()
        batch = frames.transpose(0, 3, 1, 2).astype(np.float32)
        return round_to_frames(self.infer(batch))

    def cancel(self) -> None:
        """Ask the inferences running now to end early (thread-safe); they raise instead of
        returning. For a stop (Ctrl-C) that should not wait for a slow network; the default lets
        them finish."""

    @property
    def device(self) -> str:
        """Human-readable device the backend runs on (``"cpu"``, a GPU name)."""
        return "cpu"

    def __enter__(self) -> Backend:
        try:
            self.load()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def round_to_frames(result: np.ndarray) -> np.ndarray:
    """A backend's ``(N, 3, H, W)`` float output, 0..255, as ``(N, H, W, 3)`` uint8 frames.

    Rounds half up (``+0.5`` then truncation), as :func:`vstyle.gpu.batch_to_frames` does on the
    device; values are already clamped to 0..255 inside the graph.
    """
    frames = np.empty((result.shape[0], result.shape[2], result.shape[3], 3), np.uint8)
    np.add(result.transpose(0, 2, 3, 1), 0.5, out=frames, casting="unsafe")
    return frames

"""The interface every inference backend implements."""

from __future__ import annotations

import abc
from pathlib import Path
from types import TracebackType
from typing import ClassVar

import numpy as np


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

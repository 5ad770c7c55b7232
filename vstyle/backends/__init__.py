"""Inference backends and the ``auto`` choice among them.

Backends are imported lazily by name so that ``import vstyle`` never needs TensorRT or a GPU.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from vstyle.backends.base import Backend
from vstyle.errors import BackendUnavailableError, ConfigError

log = logging.getLogger(__name__)

#: Backend name → "module:class". Order is only for display; ``auto`` uses each class's priority.
BACKENDS: dict[str, str] = {
    "onnxruntime": "vstyle.backends.onnxrt:OnnxRuntimeBackend",
    "onnxruntime-cuda": "vstyle.backends.onnxrt:OnnxRuntimeCudaBackend",
    "torch": "vstyle.backends.torch_backend:TorchBackend",
    "tensorrt": "vstyle.backends.tensorrt:TensorRTBackend",
}


def backend_class(name: str) -> type[Backend]:
    """The class registered under ``name``; :class:`ConfigError` for an unknown name."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}; choose auto or one of {', '.join(BACKENDS)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def availability() -> dict[str, str | None]:
    """Each backend name → ``None`` if it can run here, else the reason it cannot."""
    return {name: backend_class(name).unavailable_reason() for name in BACKENDS}


def choose_backend(name: str = "auto") -> type[Backend]:
    """Resolve ``name`` to a backend class.

    ``auto`` picks the highest-priority available backend and logs the choice; an explicit name
    that cannot run here raises :class:`BackendUnavailableError` saying how to install it (never a
    silent fallback).
    """
    if name == "auto":
        usable = [backend_class(n) for n, why in availability().items() if why is None]
        if not usable:
            raise BackendUnavailableError("no inference backend can run here: pip install onnxruntime")
        best = max(usable, key=lambda cls: cls.priority)
        log.info("backend auto → %s", best.name)
        return best
    cls = backend_class(name)
    reason = cls.unavailable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"backend {name!r} is unavailable: {reason}")
    return cls


def open_backend(model_path: Path, name: str = "auto", *, threads: int | None = None) -> Backend:
    """An unloaded backend for ``model_path``; use it as a context manager."""
    return choose_backend(name)(model_path, threads=threads)


__all__ = ["BACKENDS", "Backend", "availability", "backend_class", "choose_backend", "open_backend"]

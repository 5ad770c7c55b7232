"""Benchmarks: fps and latency across models, backends, precisions, resolutions and machines.

* :mod:`~vstyle.bench.matrix` — what a run covers (:class:`BenchConfig`), named resolutions, models.
* :mod:`~vstyle.bench.measure` — the three modes: backend only, pipeline (offline / live), file.
* :mod:`~vstyle.bench.baselines` — the eager PyTorch loop and the PNG workflow, same network.
* :mod:`~vstyle.bench.flops` — FLOPs per frame counted from the ONNX graph.
* :mod:`~vstyle.bench.machine` — the machine record and the measured matrix-multiply peak.
* :mod:`~vstyle.bench.runner` — :func:`run_bench`, the whole matrix into one result.
* :mod:`~vstyle.bench.results` — the versioned JSON schema, CSV and Markdown.
* :mod:`~vstyle.bench.compare` — several machines' results merged into one table and charts.

Importing this package imports none of them; PyTorch, onnx and matplotlib load only where used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "BenchConfig": "matrix",
    "run_bench": "runner",
    "load_results": "results",
    "save_results": "results",
    "compare": "compare",
    "count_flops": "flops",
    "machine_record": "machine",
}

if TYPE_CHECKING:
    from vstyle.bench.compare import compare
    from vstyle.bench.flops import count_flops
    from vstyle.bench.machine import machine_record
    from vstyle.bench.matrix import BenchConfig
    from vstyle.bench.results import load_results, save_results
    from vstyle.bench.runner import run_bench

__all__ = [
    "BenchConfig",
    "compare",
    "count_flops",
    "load_results",
    "machine_record",
    "run_bench",
    "save_results",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vstyle.bench' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vstyle.bench.{module}"), name)
    globals()[name] = value
    return value

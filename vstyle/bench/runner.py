"""Runs a benchmark matrix and returns its result (the JSON object of :mod:`vstyle.bench.results`).

Order of work: the machine record and matmul peak; each model resolved (architectures exported);
then for each model × precision × backend × resolution × batch × workers, the selected modes; then
the baselines. A cell that fails (a backend that cannot build an INT8 engine, a GPU out of memory)
is recorded with ``status: "error"`` and its message, logged as a warning, and the run goes on: one
bad cell must not cost the rest of a long matrix. Settings that cannot work at all (an unknown or
unavailable backend, file mode without a clip) are refused before anything is measured.
"""

from __future__ import annotations

import datetime
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vstyle.backends import BACKENDS, availability, backend_class, choose_backend
from vstyle.bench import measure
from vstyle.bench.flops import model_flops
from vstyle.bench.machine import device_label, machine_record, matmul_peaks, peak_for
from vstyle.bench.matrix import (
    CALIBRATION_FRAMES,
    CALIBRATION_HEIGHT,
    BenchConfig,
    PreparedModel,
    Resolution,
    default_clip,
    prepare_models,
)
from vstyle.bench.results import FORMAT, SCHEMA
from vstyle.errors import ConfigError, SourceError
from vstyle.stylizer import scaled_size

log = logging.getLogger(__name__)

#: ``on_step(done, total, what)``: called before each step and once at the end (``done == total``).
OnStep = Callable[[int, int, str], None]


def resolve_backends(names: tuple[str, ...]) -> list[str]:
    """Backend names to measure: ``auto`` → the best available (logged), ``all`` → every available one.

    Raises:
        ConfigError: an unknown name.
        BackendUnavailableError: a backend named explicitly cannot run here (never a silent fallback).
    """
    resolved: list[str] = []
    for name in names:
        if name == "all":
            found = [n for n, why in availability().items() if why is None]
            if not found:
                choose_backend("auto")  # raises, saying what to install
        elif name == "auto":
            found = [choose_backend("auto").name]
            log.info("bench: backend auto → %s", found[0])
        else:
            if name not in BACKENDS:
                raise ConfigError(
                    f"unknown backend {name!r}; choose auto, all or one of {', '.join(BACKENDS)}"
                )
            found = [choose_backend(name).name]
        resolved += [n for n in found if n not in resolved]
    return resolved


def _significant(value: float, digits: int = 5) -> float:
    """``value`` rounded to ``digits`` significant digits (small networks have tiny GFLOP counts)."""
    return float(f"{value:.{digits}g}")


def _padded(width: int, height: int, multiple: int) -> tuple[int, int]:
    return width + (-width) % multiple, height + (-height) % multiple


def _clip_size(clip: Path) -> tuple[int, int]:
    from vstyle.capture import FileSource

    with FileSource(clip) as source:
        return source.info.width, source.info.height


class _Run:
    """State of one run: the result being filled in, the work folder, the FLOP cache."""

    def __init__(self, config: BenchConfig, folder: Path, on_step: OnStep | None) -> None:
        self.config = config
        self.folder = folder
        self.on_step = on_step
        self.step = 0
        self.total = 0
        self.machine = machine_record()
        self.result: dict[str, Any] = {}
        self.flops: dict[tuple[str, int, int], float | None] = {}
        self.clip: Path | None = None
        self.clip_size: tuple[int, int] | None = None
        self.calibration: list[Any] | None = None

    def advance(self, what: str) -> None:
        if self.on_step is not None:
            self.on_step(self.step, self.total, what)
        self.step += 1

    # -- work per frame ----------------------------------------------------------------------------

    def gflop(self, model: PreparedModel, width: int, height: int) -> float | None:
        """GFLOP of one frame of ``width×height`` (padded to the model's multiple), cached."""
        w, h = _padded(width, height, model.size_multiple)
        key = (model.label, w, h)
        if key not in self.flops:
            entry = self.result["models"][model.label]
            try:
                counted = model_flops(model.path, [(w, h)])[f"{w}x{h}"]
                if entry["flops"] is None:
                    entry["flops"] = {}
                entry["flops"][f"{w}x{h}"] = counted
                self.flops[key] = counted["total"] / 1e9
            except Exception as exc:  # onnx missing, a shape that cannot be inferred
                log.warning("FLOPs of %s at %dx%d not counted: %s", model.label, w, h, exc)
                entry["flops_error"] = f"{type(exc).__name__}: {exc}"
                self.flops[key] = None
        return self.flops[key]

    # -- cells -------------------------------------------------------------------------------------

    def row(
        self,
        model: PreparedModel,
        backend: str,
        precision: str,
        size: Resolution,
        batch: int,
        workers: int | None,
        mode: str,
        policy: str | None,
    ) -> dict[str, Any]:
        kind = backend_class(backend).device_kind
        return {
            "model": model.label,
            "backend": backend,
            "device": device_label(self.machine, kind),
            "device_kind": kind,
            "precision": precision,
            "resolution": size.label,
            "width": size.width,
            "height": size.height,
            "batch": batch,
            "workers": workers,
            "mode": mode,
            "policy": policy,
            "status": "ok",
            "error": None,
            "frames": 0,
            "fps": None,
            "timing_ms": None,
            "latency_ms": None,
            "dropped": None,
            "frames_in": None,
            "stages_ms": {},
            "gflop_per_frame": None,
            "gflops": None,
            "peak_fraction": None,
            "backend_ratio": None,
        }

    def measure_cell(self, row: dict[str, Any], model: PreparedModel, path_of: Callable[[], Path]) -> None:
        c = self.config
        args = {"batch": row["batch"], "workers": row["workers"], "warmup": c.warmup, "runs": c.runs}
        try:
            path = path_of()
            if row["mode"] == "backend":
                found = measure.backend_only(path, row["backend"], row["width"], row["height"], **args)
            elif row["mode"] == "pipeline":
                found = measure.pipeline_run(
                    path,
                    row["backend"],
                    row["width"],
                    row["height"],
                    policy=row["policy"],
                    live_seconds=c.live_seconds,
                    live_fps=c.live_fps,
                    **args,
                )
            else:
                assert self.clip is not None
                found = measure.file_run(
                    path, row["backend"], self.clip, row["height"], folder=self.folder, **args
                )
        except Exception as exc:
            log.warning(
                "bench cell %s/%s/%s/%s %s failed: %s",
                row["model"],
                row["backend"],
                row["precision"],
                row["resolution"],
                row["mode"],
                exc,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            row.update(status="error", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
            return
        # The measured output size and worker count replace the planned ones where known.
        row.update(
            {
                k: v
                for k, v in found.items()
                if (k in row or k in ("decoder", "encoder"))
                and not (v is None and k in ("width", "height", "workers"))
            }
        )
        gflop = self.gflop(model, row["width"], row["height"])
        if gflop is not None and row["fps"]:
            row["gflop_per_frame"] = _significant(gflop)
            row["gflops"] = _significant(gflop * row["fps"])
            peak = peak_for(self.result["peak_gflops"], row["device_kind"], row["precision"])
            row["peak_fraction"] = _significant(gflop * row["fps"] / peak) if peak else None

    def cells(
        self, models: list[PreparedModel], backends: list[str]
    ) -> list[tuple[dict[str, Any], PreparedModel, Callable[[], Path]]]:
        c = self.config
        planned = []
        for model in models:
            for precision in c.precisions:

                def path_of(model: PreparedModel = model, precision: str = precision) -> Path:
                    return model.variant(precision, self.folder, self.calibration_frames(model))

                for backend in backends:
                    for size in c.sizes:
                        for batch in c.batches:
                            for workers in c.workers:
                                modes: list[tuple[str, str | None]] = []
                                for mode in c.modes:
                                    if mode == "pipeline":
                                        modes += [
                                            (mode, p) for p in c.policies if p == "offline" or batch == 1
                                        ]
                                    else:
                                        modes.append((mode, "offline" if mode == "file" else None))
                                for mode, policy in modes:
                                    row = self.row(
                                        model, backend, precision, size, batch, workers, mode, policy
                                    )
                                    if mode == "file":
                                        assert self.clip_size is not None
                                        row["width"], row["height"] = scaled_size(
                                            *self.clip_size, size.height
                                        )
                                    planned.append((row, model, path_of))
        return planned

    def calibration_frames(self, model: PreparedModel) -> list[Any] | None:
        """INT8 calibration frames: from the clip where there is one, else the synthetic scene."""
        if "int8" not in self.config.precisions:
            return None
        if self.calibration is None:
            # No larger than the largest frame measured: calibration is slow at large sizes.
            height = min(CALIBRATION_HEIGHT, max(s.height for s in self.config.sizes))
            if self.clip is not None:
                from vstyle.models.quantize import calibration_frames

                self.calibration = calibration_frames(
                    [self.clip], CALIBRATION_FRAMES, height, size_multiple=1
                )
            else:
                width = max(16, round(height * 16 / 9))
                self.calibration = measure.synthetic_frames(width, height, CALIBRATION_FRAMES)
        return self.calibration

    # -- baselines ---------------------------------------------------------------------------------

    def baselines(self, models: list[PreparedModel]) -> list[tuple[PreparedModel, Resolution]]:
        return [(m, s) for m in models for s in self.config.sizes]

    def measure_baselines(self, model: PreparedModel, size: Resolution) -> list[dict[str, Any]]:
        from vstyle.bench import baselines

        assert self.clip is not None and self.clip_size is not None
        c = self.config
        width, height = scaled_size(*self.clip_size, size.height)
        rows = []
        for workflow in ("eager-torch", "png-images"):
            self.advance(f"baseline {workflow} · {model.label} · {size.label}")
            row: dict[str, Any] = {
                "model": model.label,
                "workflow": workflow,
                "device": "",
                "resolution": size.label,
                "width": width,
                "height": height,
                "frames": 0,
                "status": "ok",
                "error": None,
                "fps": None,
                "stages_ms": {},
                "speedups": [],
            }
            try:
                net = baselines.torch_network(model.variant("fp32", self.folder, None))
                device = baselines.torch_device()
                row["device"] = (
                    device_label(self.machine, "gpu" if device == "cuda" else "cpu") + f" (torch {device})"
                )
                if workflow == "eager-torch":
                    found = baselines.eager_loop(
                        net, self.clip, size.height, c.warmup + c.runs, c.warmup, self.folder, device
                    )
                else:
                    found = baselines.png_workflow(
                        net, self.clip, size.height, c.warmup + c.runs, self.folder, device
                    )
                row.update({k: found[k] for k in ("frames", "fps", "width", "height", "stages_ms")})
            except Exception as exc:
                log.warning(
                    "baseline %s of %s failed: %s",
                    workflow,
                    model.label,
                    exc,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                row.update(status="error", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
            rows.append(row)
        return rows


def add_backend_ratios(result: dict[str, Any]) -> None:
    """Fill ``backend_ratio`` of offline pipeline and file rows: fps over the backend-only fps of the same
    network, backend, precision, batch, workers and frame size (the issue's "≥ 90 %" target)."""
    key = ("model", "backend", "precision", "batch", "workers", "width", "height")
    backend = {tuple(r[k] for k in key): r["fps"] for r in result["results"]
               if r["mode"] == "backend" and r["status"] == "ok"}  # fmt: skip
    for row in result["results"]:
        base = backend.get(tuple(row[k] for k in key))
        if row["policy"] == "offline" and row["status"] == "ok" and base:
            row["backend_ratio"] = round(row["fps"] / base, 3)


def add_speedups(result: dict[str, Any]) -> None:
    """Fill each baseline's ``speedups``: every file-mode result of the same model and frame size."""
    for base in result["baselines"]:
        base["speedups"] = []
        if base["status"] != "ok" or not base["fps"]:
            continue
        for row in result["results"]:
            same = (row["model"], row["width"], row["height"]) == (
                base["model"],
                base["width"],
                base["height"],
            )
            if row["mode"] == "file" and row["status"] == "ok" and same and row["fps"]:
                base["speedups"].append(
                    {
                        "backend": row["backend"],
                        "precision": row["precision"],
                        "batch": row["batch"],
                        "workers": row["workers"],
                        "fps": row["fps"],
                        "ratio": round(row["fps"] / base["fps"], 3),
                    }
                )


def run_bench(
    config: BenchConfig, *, on_step: OnStep | None = None, work_dir: Path | None = None
) -> dict[str, Any]:
    """Measure the matrix of ``config`` and return the result object (see :mod:`vstyle.bench.results`).

    Args:
        config: what to measure.
        on_step: progress callback, ``(done, total, description)``.
        work_dir: where exported and converted models and rendered files go while the run lasts
            (default: a temporary folder, removed afterwards).

    Raises:
        ConfigError: file mode or baselines without a clip; an unknown backend.
        BackendUnavailableError: a backend named explicitly cannot run here.
        SourceError: the clip cannot be read.
        ModelError: a model or style cannot be found or read.
    """
    backends = resolve_backends(config.backends)
    needs_clip = "file" in config.modes or config.baselines
    clip = config.clip or (default_clip() if needs_clip else None)
    if needs_clip and clip is None:
        raise ConfigError(
            "file mode and --baselines need a real clip: pass --clip PATH (no shared data clip here)"
        )
    if clip is not None and not Path(clip).is_file():
        raise SourceError(f"clip {clip} does not exist; pass --clip PATH to a video file")
    with tempfile.TemporaryDirectory(prefix="vstyle-bench-") as tmp:
        folder = Path(work_dir) if work_dir is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        state = _Run(config, folder, on_step)
        if clip is not None and needs_clip:
            state.clip, state.clip_size = Path(clip), _clip_size(Path(clip))
        models = prepare_models(config, folder)
        gpu = any(backend_class(b).device_kind == "gpu" for b in backends)
        state.total = 1  # the peak, while the plan is not known yet
        state.advance("measuring the matrix-multiply peak")
        peaks = (
            matmul_peaks(gpu=gpu)
            if config.measure_peak
            else {"cpu_fp32": None, "gpu_fp32": None, "gpu_fp16": None, "how": {}}
        )
        state.result = {
            "format": FORMAT,
            "schema": SCHEMA,
            "created": "",
            "command": config.command,
            "machine": state.machine,
            "peak_gflops": peaks,
            "settings": {
                "runs": config.runs,
                "warmup": config.warmup,
                "live_seconds": config.live_seconds,
                "live_fps": config.live_fps,
                "clip": str(clip) if clip is not None and needs_clip else None,
                "clip_size": list(state.clip_size) if state.clip_size else None,
                "backends": backends,
                "precisions": list(config.precisions),
                "resolutions": [s.label for s in config.sizes],
                "batches": list(config.batches),
                "workers": list(config.workers),
                "modes": list(config.modes),
                "policies": list(config.policies),
                "baselines": config.baselines,
            },
            "models": {
                m.label: {
                    "path": str(m.path) if m.kind != "architecture" else f"{m.architecture} (random init)",
                    "kind": m.kind,
                    "architecture": m.architecture,
                    "sha256": m.sha256,
                    "precision": m.precision,
                    "flops": None,
                    "flops_error": None,
                }
                for m in models
            },
            "results": [],
            "baselines": [],
        }
        planned = state.cells(models, backends)
        pairs = state.baselines(models) if config.baselines else []
        state.total = 1 + len(planned) + 2 * len(pairs)
        for row, model, path_of in planned:
            mode = row["mode"] if row["policy"] is None else f"{row['mode']} {row['policy']}"
            state.advance(
                f"{model.label} · {row['backend']} · {row['precision']} · {row['resolution']} · "
                f"b{row['batch']} · {mode}"
            )
            state.measure_cell(row, model, path_of)
            state.result["results"].append(row)
        for model, size in pairs:
            state.result["baselines"] += state.measure_baselines(model, size)
        add_backend_ratios(state.result)
        add_speedups(state.result)
        if on_step is not None:
            on_step(state.total, state.total, "done")
    state.result["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return state.result

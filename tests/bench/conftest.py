"""Fixtures of the bench tests: one real `vstyle bench` run on the tiny model, shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from media import make_clip

from vstyle.cli import main

#: The matrix of the shared run: every mode, two precisions, two batch sizes, the baselines.
BENCH_ARGS = [
    "--precisions",
    "fp32",
    "int8",
    "--resolutions",
    "64x48",
    "--batch",
    "1",
    "2",
    "--modes",
    "backend",
    "pipeline",
    "file",
    "--runs",
    "3",
    "--warmup",
    "1",
    "--live-seconds",
    "0.4",
    "--baselines",
    "--no-progress",
]


@pytest.fixture(scope="session")
def bench_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-frame 128×96 H.264 clip with audio (file mode scales it to 64×48, the backend mode's size)."""
    return make_clip(tmp_path_factory.mktemp("bench-clip") / "clip.mp4", frames=20, size=(128, 96))


@pytest.fixture(scope="session")
def bench_run(tiny_model: Path, bench_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``vstyle bench`` on the tiny model, run once: ``{"out": folder, "code": status, "data": json}``."""
    out = tmp_path_factory.mktemp("bench-out")
    code = main(
        ["bench", "--models", str(tiny_model), "--clip", str(bench_clip), "--out", str(out), *BENCH_ARGS]
    )
    data = json.loads((out / "bench.json").read_text()) if (out / "bench.json").is_file() else None
    return {"out": out, "code": code, "data": data}

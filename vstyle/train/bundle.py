"""Ship a trained run as a bundled style: evaluate it, write its model card, copy it into the package.

``vstyle train --recipe NAME --bundle`` trains (or resumes) the recipe, then calls :func:`bundle`:

1. ``vstyle eval`` on the run's ONNX model (flicker on the sample clips against the teacher's,
   fidelity to the teacher on held-out photos, style scores) into ``<run>/eval``;
2. the model's speed at 640×360 on ONNX Runtime CPU (median of timed runs after a warm-up);
3. ``vstyle/assets/models/NAME.onnx`` and its sidecar ``NAME.json`` (the export sidecar plus a
   ``card`` entry: recipe command, config, data, training time and machine, metrics) and a
   readable ``NAME.md`` model card. Each file is written under a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from vstyle.bench.machine import cpu_model
from vstyle.errors import ModelError
from vstyle.models.metadata import file_sha256, read_sidecar, sidecar_path
from vstyle.styles import BUNDLED_DIR
from vstyle.train.config import TrainConfig


def measure_speed(onnx: Path, size: tuple[int, int] = (640, 360), runs: int = 20, warmup: int = 3) -> float:
    """Median milliseconds of one frame at ``size`` (W×H) with ONNX Runtime on all CPU cores."""
    from vstyle.backends.onnxrt import OnnxRuntimeBackend
    from vstyle.models.metadata import read_model_metadata

    m = read_model_metadata(onnx).size_multiple
    w, h = (-(-size[0] // m) * m, -(-size[1] // m) * m)
    batch = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    with OnnxRuntimeBackend(onnx) as backend:
        for _ in range(warmup):
            backend.infer(batch)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            backend.infer(batch)
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def _metrics(report: dict[str, Any], ms: float) -> dict[str, Any]:
    clips = {
        c["name"]: {
            "ratio": c["ratio"],
            "teacher_ratio": (c.get("teacher") or {}).get("ratio"),
            "E_output": c["E_output"],
            "E_input": c["E_input"],
        }
        for c in report["clips"]["items"]
    }
    photos = report["photos"]
    return {
        "flicker": clips,
        "middlebury_ratio": report["middlebury"].get("ratio"),
        "fidelity": photos.get("fidelity"),
        "style_scores": photos.get("scores"),
        "ms_640x360_onnxruntime_cpu": round(ms, 1),
    }


def _card_markdown(name: str, card: dict[str, Any], sha: str) -> str:
    m, t = card["metrics"], card["training"]
    lines = [
        f"# {name}",
        "",
        f"- Architecture: `{card['architecture']}`; {card['what']}.",
        f"- Recipe: `{card['command']}` (seed {card['config']['seed']}).",
        f"- Data: {card['data']}",
        f"- Training: {t['steps']} steps in {t['minutes']:.1f} min on {t['machine']} (torch {t['torch']})"
        + (
            " = "
            + " + ".join(f"`{g['recipe']}` {g['steps']} steps, {g['minutes']:.1f} min" for g in t["stages"])
            if len(t.get("stages", [])) > 1
            else ""
        )
        + ".",
        f"- Speed: {m['ms_640x360_onnxruntime_cpu']} ms per 640×360 frame on ONNX Runtime CPU, this machine.",
        f"- sha256 of `{name}.onnx`: `{sha}`",
        "",
        "## Flicker (warping error ratio output/input, Lai et al. 2018; 24 frames at 180 px)",
        "",
        "| clip | this model | frame-by-frame teacher |",
        "|---|---|---|",
    ]
    for clip, row in m["flicker"].items():
        teacher = "—" if row["teacher_ratio"] is None else f"{row['teacher_ratio']:.2f}"
        lines.append(f"| {clip} | {row['ratio']:.2f} | {teacher} |")
    fid = m.get("fidelity") or {}
    if fid and not fid.get("skipped"):
        lines += ["", "## Fidelity to the teacher (held-out photos)", ""]
        lines += [
            f"- {k}: {v:.3f}" if isinstance(v, float) else f"- {k}: {v}"
            for k, v in fid.items()
            if v is not None
        ]
        lines.append(
            "- (LPIPS-like ratio: 0 is the teacher's picture, 1 is no closer to it than the photo itself)"
        )
    lines += ["", "Full numbers: the `card` entry of the JSON sidecar beside this file.", ""]
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def bundle(
    name: str, config: TrainConfig, run_dir: Path, *, dest: Path = BUNDLED_DIR, **eval_options: Any
) -> Path:
    """Evaluate the finished run in ``run_dir`` and install it as bundled style ``name``.

    ``eval_options`` go to :func:`vstyle.evaluate.evaluate` (the bundled models use its defaults).

    Returns:
        The installed ``.onnx`` path.

    Raises:
        ModelError: the run has no exported model or training summary yet.
    """
    import torch

    from vstyle.evaluate import evaluate

    onnx, summary = run_dir / "model.onnx", run_dir / "train.json"
    if not onnx.is_file() or not summary.is_file():
        raise ModelError(f"{run_dir} has no finished run (model.onnx, train.json); train it first")
    trained = json.loads(summary.read_text())
    stage = trained.get("teacher_run")  # the first stage of a recipe: teacher
    teacher = config.teacher
    first: TrainConfig | None = None
    if config.teacher_recipe is not None:
        if stage is None:
            raise ModelError(f"{summary} does not name its teacher stage; train the recipe again")
        from vstyle.train.recipes import get_recipe

        first = get_recipe(config.teacher_recipe)
        teacher = str(Path(stage["run_dir"]) / "model.onnx")
        if first.teacher is not None:  # a distilled first stage: judge against the original teacher
            from vstyle.train.trainer import teacher_source

            teacher = str(teacher_source(first.teacher))
    elif teacher is not None:
        from vstyle.train.trainer import teacher_source

        # The teacher the training used: a bundled student of the same name must not stand in.
        teacher = str(teacher_source(teacher))
        if config.init_recipe is not None:
            from vstyle.train.recipes import get_recipe

            first = get_recipe(config.init_recipe)
    source = first or config
    painting = Path(source.style_image).stem if source.style_image else None
    style_image = painting or _painting_of(source.teacher)
    report = evaluate(
        onnx,
        out_dir=run_dir / "eval",
        teacher=teacher,
        style_image=style_image,
        overwrite=True,
        **eval_options,
    )
    ms = measure_speed(onnx)
    from vstyle.train.photos import split_photos

    train, heldout = split_photos()
    shown = min(config.max_photos or len(train), len(train))
    clips = ", ".join(config.clips) if config.real_fraction > 0 else "none"
    data = (
        f"{shown} training photos of the shared photo set (fixed hash split, {len(heldout)} held out); "
        f"real-motion pairs from clips {clips} (frames {config.clip_skip}+, the first frames kept for "
        f"evaluation); synthetic motion on every photo"
    )
    if first is not None and config.init_recipe is not None:
        what = (
            f"distilled from the {config.teacher} teacher without the temporal loss (`{config.init_recipe}`), "
            "then, from that network, from the same teacher with the temporal loss"
        )
    elif first is not None and first.teacher is not None:
        what = (
            f"distilled from the {first.teacher} teacher without the temporal loss (`{config.teacher_recipe}`), "
            "then distilled into itself with the temporal loss"
        )
    elif first is not None:
        what = (
            f"from the painting {Path(first.style_image).name}: perceptual loss (`{config.teacher_recipe}`), "  # type: ignore[arg-type]
            "then distilled into itself with the temporal loss"
        )
    elif config.teacher:
        what = f"distilled from the {config.teacher} teacher" + (
            " (started from its weights)" if config.warm_start else ""
        )
    else:
        what = f"trained from the painting {Path(config.style_image).name} with the perceptual loss"  # type: ignore[arg-type]
    seconds = trained["seconds"] + (stage["seconds"] if stage else 0.0)
    steps = trained["steps"] + (stage["steps"] if stage else 0)
    card = {
        "name": name,
        "architecture": config.arch,
        "what": what,
        "command": f"vstyle train --recipe {name} --bundle",
        "config": config.to_dict(),
        "data": data,
        "training": {
            "steps": steps,
            "minutes": seconds / 60,
            "stages": (
                [{"recipe": stage["recipe"], "steps": stage["steps"], "minutes": stage["seconds"] / 60}]
                if stage
                else []
            )
            + [{"recipe": name, "steps": trained["steps"], "minutes": trained["seconds"] / 60}],
            "machine": f"{cpu_model()}, {len(os.sched_getaffinity(0))} cores",
            "torch": torch.__version__,
        },
        "metrics": _metrics(report, ms),
    }
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / f"{name}.onnx"
    side = read_sidecar(onnx) or {}
    side.update({"onnx_file": final.name, "style": name, "card": card})
    tmp_onnx = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.copyfile(onnx, tmp_onnx)
    sha = file_sha256(tmp_onnx)
    side["sha256"] = sha
    _write_atomic(sidecar_path(final), json.dumps(side, indent=2) + "\n")
    _write_atomic(dest / f"{name}.md", _card_markdown(name, card, sha))
    tmp_onnx.replace(final)
    return final


def _painting_of(teacher: str | None) -> str | None:
    """The painting a teacher style imitates, where the shared data has it (for style scores)."""
    known = {
        "scream": "the_scream",
        "udnie": "udnie",
        "wave": "wave",
        "wreck": "the_shipwreck_of_the_minotaur",
    }
    return known.get(teacher or "")

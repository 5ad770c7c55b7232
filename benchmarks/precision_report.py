"""FP16 and INT8 (QDQ) versions of the bundled styles against their FP32 models: PSNR and flicker.

    python benchmarks/precision_report.py [--styles scream scream-tiny starry_night-fast]

For each style: the FP16 model (:func:`vstyle.models.precision.to_fp16`, instance norm in FP32) and
the INT8 QDQ model (:func:`vstyle.models.quantize.quantize_qdq`, calibrated on the recipe in
``calibration/RECIPE.md``: 64 frames of fox, sam2_01_dog and photos/bsds500 at 360 rows) are made in
a work folder, then compared with the FP32 model on frames the calibration never saw
(``sam2_04_coffee`` and ``photos/set14`` at 360 rows, plus a bright frame and a black-and-white
checkerboard): PSNR of the 8-bit outputs. Flicker: the warping-error ratio (as ``vstyle eval``) of
each precision on the evaluation clips. Speed per precision is in the ``vstyle bench`` matrix.
Writes ``benchmarks/results/precision.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.config import StylizeConfig  # noqa: E402
from vstyle.data import shared_data_dir  # noqa: E402
from vstyle.evaluate.flicker import DEFAULT_CLIPS, load_clip, shared_clips  # noqa: E402
from vstyle.evaluate.similarity import psnr  # noqa: E402
from vstyle.models.metadata import read_model_metadata  # noqa: E402
from vstyle.models.precision import to_fp16  # noqa: E402
from vstyle.models.quantize import calibration_frames, quantize_qdq  # noqa: E402
from vstyle.styles import resolve_model  # noqa: E402
from vstyle.stylizer import Stylizer  # noqa: E402
from vstyle.temporal.warping_error import warping_error  # noqa: E402

HEIGHT = 360


def extreme_frames(height: int, width: int) -> list[np.ndarray]:
    """A bright, nearly white frame and a high-contrast checkerboard (where FP16 norms overflow)."""
    rng = np.random.default_rng(0)
    bright = np.clip(245 + rng.normal(0, 4, (height, width, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:height, :width]
    checker = np.repeat(((((yy // 8) + (xx // 8)) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)
    return [bright, checker]


def outputs(model: Path, frames: list[np.ndarray], threads: int) -> list[np.ndarray]:
    with Stylizer(StylizeConfig(model=model, workers=1, threads=threads, backend="onnxruntime")) as stylizer:
        return [stylizer(f) for f in frames]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", default=["scream", "scream-tiny", "starry_night-fast"])
    parser.add_argument("--calibration-count", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "precision.json")
    args = parser.parse_args()
    root = shared_data_dir()
    if root is None:
        print(
            "skipped: ../shared/data is not here (calibration and held-out frames come from it)",
            file=sys.stderr,
        )
        return 0
    video, photos = root / "video", root / "photos"
    calib_sources = [video / "fox.mp4", video / "sam2_01_dog.mp4", photos / "bsds500"]
    held_sources = [video / "sam2_04_coffee.mp4", photos / "set14"]
    known = shared_clips()
    clips = [load_clip(known[name], frames=24, height=180) for name in DEFAULT_CLIPS if name in known]
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="vstyle-precision-") as work:
        for style in args.styles:
            fp32 = resolve_model(None, style)
            m = read_model_metadata(fp32).size_multiple
            held = calibration_frames(held_sources, count=8, height=HEIGHT, size_multiple=m)
            held += extreme_frames(*held[0].shape[:2])
            calib = calibration_frames(
                calib_sources, count=args.calibration_count, height=HEIGHT, size_multiple=m
            )
            models = {
                "fp32": fp32,
                "fp16": to_fp16(fp32, Path(work) / f"{style}.fp16.onnx"),
                "int8": quantize_qdq(fp32, Path(work) / f"{style}.int8.onnx", calib),
            }
            ref = outputs(fp32, held, args.threads)
            row: dict[str, dict] = {}
            for precision, path in models.items():
                out = ref if precision == "fp32" else outputs(path, held, args.threads)
                values = [psnr(r, o) for r, o in zip(ref, out)]
                entry: dict = {}
                if precision != "fp32":
                    entry["psnr_mean"] = float(np.mean(values))
                    entry["psnr_min"] = float(np.min(values))
                    entry["psnr_extreme_min"] = float(np.min(values[-2:]))
                ratios = {}
                for clip in clips:
                    ratios[clip.name] = warping_error(
                        clip.frames, outputs(path, list(clip.frames), args.threads)
                    ).ratio
                entry["flicker_ratio"] = ratios
                row[precision] = entry
                print(style, precision, json.dumps(entry), file=sys.stderr)
            report[style] = row
    command = ("python benchmarks/precision_report.py " + " ".join(sys.argv[1:])).strip()
    data = {"command": command, "held_out": [str(p) for p in held_sources], "calibration": [str(p) for p in calib_sources],
            "height": HEIGHT, "styles": report}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(args.out)
    names = [c.name for c in clips]
    print(
        "| style | precision | PSNR vs FP32, mean (min; bright/checker min) dB | " + " | ".join(names) + " |"
    )
    print("|---|---|---|" + "---|" * len(names))
    for style, row in report.items():
        for precision, entry in row.items():
            quality = (
                "–"
                if precision == "fp32"
                else f"{entry['psnr_mean']:.1f} ({entry['psnr_min']:.1f}; {entry['psnr_extreme_min']:.1f})"
            )
            flicker = " | ".join(f"{entry['flicker_ratio'][n]:.2f}" for n in names)
            print(f"| {style} | {precision} | {quality} | {flicker} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How stable and how faithful a teacher's blurred grid mean is: the target ``teacher_blur`` trains on.

    python benchmarks/steady_target.py [--style wave] [--sigmas 0 0.5 0.8 1 1.5 2]

For each Gaussian σ, the teacher's grid mean (``Teacher.grid_mean``, 4×4 offsets) blurred by σ is
compared with the teacher on the 8 held-out photos (PSNR, short side 256, as ``vstyle eval``), and
its E_warp ratio is measured on the first 24 frames of ``fox`` at 180 px. σ = 0 is the grid mean
itself. A student that reproduced one of these pictures would have its fidelity and its flicker.
Writes ``benchmarks/results/steady_target_<style>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.data import shared_data_dir  # noqa: E402
from vstyle.evaluate.flicker import load_clip  # noqa: E402
from vstyle.evaluate.inputs import heldout_photos, photo_input  # noqa: E402
from vstyle.evaluate.similarity import psnr  # noqa: E402
from vstyle.temporal.warping_error import warping_error  # noqa: E402
from vstyle.train.trainer import Teacher  # noqa: E402

GRID = 4


def to_u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) if sigma > 0 else image


def inputs(style: str) -> tuple[Teacher, list[np.ndarray], list[np.ndarray], list[np.ndarray]] | None:
    """The style's teacher, the 8 held-out photos (short side 256), its outputs on them and the first
    24 frames of ``fox`` at 180 px; ``None`` (with the reason printed) without the shared data."""
    shared = shared_data_dir()
    if shared is None:
        print("skipped: no shared data folder (../shared/data) with the teachers and photos", file=sys.stderr)
        return None
    teacher = Teacher(str(shared / "teachers" / style))
    images = [
        photo_input(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), 256, 4) for p in heldout_photos(8)
    ]
    return teacher, images, [teacher(image) for image in images], list(load_clip("fox", 24, 180).frames)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="wave")
    parser.add_argument("--sigmas", nargs="+", type=float, default=[0.0, 0.5, 0.8, 1.0, 1.5, 2.0])
    args = parser.parse_args()
    loaded = inputs(args.style)
    if loaded is None:
        return 0
    teacher, images, own, frames = loaded
    means = [teacher.grid_mean(image, GRID) for image in images]
    frame_means = [teacher.grid_mean(frame, GRID) for frame in frames]
    rows = []
    for sigma in args.sigmas:
        fidelity = float(np.mean([psnr(to_u8(blur(m, sigma)), o) for m, o in zip(means, own)]))
        ratio = warping_error(frames, [to_u8(blur(m, sigma)) for m in frame_means]).ratio
        rows.append({"sigma": sigma, "psnr_vs_teacher": round(fidelity, 2), "fox_ratio": round(ratio, 2)})
    teacher.close()
    report = {
        "command": ("python benchmarks/steady_target.py " + " ".join(sys.argv[1:])).strip(),
        "style": args.style,
        "grid": GRID,
        "rows": rows,
    }
    out = ROOT / "benchmarks" / "results" / f"steady_target_{args.style}.json"
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(out)
    print("| σ | PSNR vs teacher dB | fox E_warp ratio |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row['sigma']:g} | {row['psnr_vs_teacher']:.2f} | {row['fox_ratio']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

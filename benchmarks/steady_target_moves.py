"""Does averaging the teacher over more moves of its input than the grid mean give a better target?

    python benchmarks/steady_target_moves.py [--style wave]

``steady_target.py`` measures the teacher's 4×4 grid mean (whole-pixel offsets) blurred by σ. This
averages the teacher over other sets of moves — half-pixel offsets, random offsets, small scale
changes — each applied to the input with ``cv2.warpAffine`` (bicubic, reflected border) and undone
on the output, then blurred by σ, and reports PSNR against the teacher on the 8 held-out photos
(short side 256) and the E_warp ratio on the first 24 frames of ``fox`` at 180 px. The whole-pixel
set is measured again here, since this warp's border handling differs from ``grid_mean``'s: compare
rows within one run. Writes ``benchmarks/results/steady_target_moves_<style>.json``.
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

from steady_target import blur, inputs, to_u8  # noqa: E402  (this folder is on the path when run as a script)
from vstyle.evaluate.similarity import psnr  # noqa: E402
from vstyle.temporal.warping_error import warping_error  # noqa: E402
from vstyle.train.trainer import Teacher  # noqa: E402

SIGMAS = (0.0, 0.5, 0.8, 1.0)
BORDER = 4  # reflected margin around the moved picture, pixels per side


def move_sets() -> dict[str, tuple[list[tuple[float, float]], tuple[float, ...]]]:
    """Named sets of (dx, dy) offsets and scales; the teacher runs once per offset and scale."""
    rng = np.random.default_rng(0)
    return {
        "4x4 whole-pixel offsets": ([(x, y) for y in range(4) for x in range(4)], (1.0,)),
        "8x8 half-pixel offsets": ([(x / 2, y / 2) for y in range(8) for x in range(8)], (1.0,)),
        "32 random offsets in [0, 4)^2": (
            [(float(a), float(b)) for a, b in rng.uniform(0, 4, (32, 2))],
            (1.0,),
        ),
        "4x4 offsets at scales 0.92, 1, 1.08": (
            [(x, y) for y in range(4) for x in range(4)],
            (0.92, 1.0, 1.08),
        ),
    }


def moved_mean(teacher: Teacher, image: np.ndarray, offsets, scales) -> np.ndarray:
    """The teacher's outputs for the picture moved by each offset and scale, moved back and averaged.

    Written with ``cv2.warpAffine`` rather than ``Teacher.grid_mean``'s crops because fractional
    offsets and scales need resampling; whole-pixel offsets go through the same path for a fair row.
    """
    h, w = image.shape[:2]
    m = teacher.multiple
    total = np.zeros((h, w, 3), np.float32)
    n = 0
    for s in scales:
        for dx, dy in offsets:
            hh, ww = round(h * s) + 2 * BORDER, round(w * s) + 2 * BORDER
            hh, ww = hh + -hh % m, ww + -ww % m
            affine = np.array([[s, 0, dx + BORDER], [0, s, dy + BORDER]], np.float32)
            moved = cv2.warpAffine(
                image, affine, (ww, hh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
            )
            out = teacher._backend.infer(moved.transpose(2, 0, 1)[None].astype(np.float32))[0]
            out = np.clip(out.transpose(1, 2, 0), 0, 255)
            total += cv2.warpAffine(
                out,
                affine,
                (w, h),
                flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            )
            n += 1
    return total / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="wave")
    args = parser.parse_args()
    loaded = inputs(args.style)
    if loaded is None:
        return 0
    teacher, images, own, frames = loaded
    rows = []
    for name, (offsets, scales) in move_sets().items():
        means = [moved_mean(teacher, image, offsets, scales) for image in images]
        frame_means = [moved_mean(teacher, frame, offsets, scales) for frame in frames]
        for sigma in SIGMAS:
            fidelity = float(np.mean([psnr(to_u8(blur(m, sigma)), o) for m, o in zip(means, own)]))
            ratio = warping_error(frames, [to_u8(blur(m, sigma)) for m in frame_means]).ratio
            row = {
                "moves": name,
                "teacher_calls": len(offsets) * len(scales),
                "sigma": sigma,
                "psnr_vs_teacher": round(fidelity, 2),
                "fox_ratio": round(ratio, 2),
            }
            rows.append(row)
            print(
                f"| {name} | {row['teacher_calls']} | {sigma:g} | {fidelity:.2f} | {ratio:.2f} |", flush=True
            )
    teacher.close()
    report = {
        "command": ("python benchmarks/steady_target_moves.py " + " ".join(sys.argv[1:])).strip(),
        "style": args.style,
        "rows": rows,
    }
    out = ROOT / "benchmarks" / "results" / f"steady_target_moves_{args.style}.json"
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

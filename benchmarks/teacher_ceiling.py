"""How well each teacher reproduces itself when its input moves a little: the ceiling on a stable student's PSNR.

    python benchmarks/teacher_ceiling.py [--styles scream udnie wave wreck] [--photos 8]

The fidelity target compares a student with its frame-by-frame teacher on held-out photos (PSNR).
A temporally stable student must give nearly the same strokes when the picture moves by a pixel;
the teachers do not: their stride-2 encoders see a shifted picture on another sampling grid. For
each teacher and each held-out photo (short side 256, as ``vstyle eval``), this compares the
teacher's output with

* its output on the photo shifted by 1 and by 2 pixels, shifted back (interior only, 8 px border
  cut: the wrap-around column stays out);
* its output on the photo plus Gaussian noise of σ = 2 levels (sensor noise).

If a teacher's outputs for the shifted pictures differ from a common picture by independent errors
of equal size, a student that is exactly shift-equivariant can at best be that common picture, 3 dB
above the PSNR of a pair; "stable ceiling" is that bound from the less consistent of the two
shifts (a rough bound: it rests on that independence).

It also measures that common picture directly: the teacher's grid mean (``Teacher.grid_mean``, the
mean of its outputs over the 4×4 offsets of its two stride-2 layers, what ``teacher_grid=4`` trains
on), as PSNR against the teacher on the same photos, and the E_warp ratio of the teacher and of its
grid mean on the first 24 frames of ``fox`` at 180 px (as ``vstyle eval``).
Writes ``benchmarks/results/teacher_ceiling.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.config import StylizeConfig  # noqa: E402
from vstyle.data import shared_data_dir  # noqa: E402
from vstyle.evaluate.inputs import heldout_photos, photo_input  # noqa: E402
from vstyle.evaluate.similarity import psnr  # noqa: E402
from vstyle.evaluate.flicker import load_clip  # noqa: E402
from vstyle.stylizer import Stylizer  # noqa: E402
from vstyle.temporal.warping_error import warping_error  # noqa: E402
from vstyle.train.trainer import Teacher  # noqa: E402

BORDER = 8
GRID = 4


def shifted(stylize: Stylizer, image: np.ndarray, dx: int) -> np.ndarray:
    """The output for ``image`` moved ``dx`` pixels right, moved back."""
    return np.roll(stylize(np.roll(image, dx, axis=1)), -dx, axis=1)


def measure(teacher: Path, photos: list[Path], rng: np.random.Generator) -> dict[str, float]:
    rows: dict[str, list[float]] = {"shift1": [], "shift2": [], "noise2": []}
    inner = np.s_[BORDER:-BORDER, BORDER:-BORDER]
    with Stylizer(StylizeConfig(model=teacher, workers=1)) as stylize:
        for path in photos:
            image = photo_input(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), 256, 4)
            out = stylize(image)
            for dx in (1, 2):
                rows[f"shift{dx}"].append(psnr(out[inner], shifted(stylize, image, dx)[inner]))
            noisy = np.clip(image + rng.normal(0.0, 2.0, image.shape), 0, 255).round().astype(np.uint8)
            rows["noise2"].append(psnr(out, stylize(noisy)))
    result = {name: round(float(np.mean(values)), 2) for name, values in rows.items()}
    result["stable_ceiling"] = round(min(result["shift1"], result["shift2"]) + 10 * math.log10(2), 2)
    result.update(grid_mean(teacher, photos))
    return result


def grid_mean(teacher: Path, photos: list[Path]) -> dict[str, float]:
    """The teacher's grid mean: PSNR against the teacher, and fox flicker of both."""
    net = Teacher(str(teacher))

    def mean(image: np.ndarray) -> np.ndarray:
        return np.clip(np.round(net.grid_mean(image, GRID)), 0, 255).astype(np.uint8)

    values = []
    for path in photos:
        image = photo_input(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), 256, 4)
        values.append(psnr(net(image), mean(image)))
    frames = list(load_clip("fox", 24, 180).frames)
    own = warping_error(frames, [net(f) for f in frames]).ratio
    averaged = warping_error(frames, [mean(f) for f in frames]).ratio
    net.close()
    return {
        f"grid{GRID}_psnr": round(float(np.mean(values)), 2),
        "fox_ratio": round(own, 2),
        f"grid{GRID}_fox_ratio": round(averaged, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", default=["scream", "udnie", "wave", "wreck"])
    parser.add_argument("--photos", type=int, default=8, help="held-out photos (default 8, as vstyle eval)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "teacher_ceiling.json")
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None:
        print("skipped: no shared data folder (../shared/data) with the teachers and photos", file=sys.stderr)
        return 0
    photos = heldout_photos(args.photos)
    rng = np.random.default_rng(0)
    report = {
        "command": ("python benchmarks/teacher_ceiling.py " + " ".join(sys.argv[1:])).strip(),
        "photos": [str(p.relative_to(shared / "photos")) for p in photos],
        "photo_size": 256,
        "teachers": {style: measure(shared / "teachers" / style, photos, rng) for style in args.styles},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)
    print(
        "| teacher | 1 px shift dB | 2 px shift dB | σ=2 noise dB | stable ceiling dB "
        "| grid mean dB | fox ratio | grid mean fox ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for style, r in report["teachers"].items():
        print(
            f"| {style} | {r['shift1']:.1f} | {r['shift2']:.1f} | {r['noise2']:.1f} | {r['stable_ceiling']:.1f} "
            f"| {r['grid4_psnr']:.1f} | {r['fox_ratio']:.2f} | {r['grid4_fox_ratio']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

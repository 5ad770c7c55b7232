"""How much the frame-by-frame teacher networks flicker: the baseline temporal targets compare to.

For each teacher style in the shared data and each clip, stylize consecutive frames one by one
and report the warping error (Lai et al. 2018, :func:`vstyle.evaluate.clip_flicker`) of the output
and of the input video, and their ratio. A style network trained for temporal consistency should
bring the ratio down to at most half of its teacher's.

Usage::

    python benchmarks/teacher_flicker.py [--frames 24] [--height 180] [--clips fox sam2_bedroom]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vstyle.capture import FileSource
from vstyle.config import StylizeConfig
from vstyle.data import shared_data_dir
from vstyle.evaluate import clip_flicker
from vstyle.models.zoo import available_styles
from vstyle.stylizer import Stylizer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24, help="consecutive frames per clip")
    parser.add_argument("--height", type=int, default=180, help="processing height")
    parser.add_argument("--clips", nargs="+", default=["fox", "sam2_bedroom", "sam2_04_coffee"])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "teacher_flicker.json"
    )
    args = parser.parse_args()
    root = shared_data_dir()
    if root is None:
        print("teacher_flicker: no shared data folder (../shared/data); nothing to measure", file=sys.stderr)
        return 1
    results = {
        "command": " ".join(["python", *sys.argv]),
        "frames": args.frames,
        "height": args.height,
        "rows": [],
    }
    clips = {}
    for name in args.clips:
        with FileSource(root / "video" / f"{name}.mp4") as source:
            clips[name] = [f.image for _, f in zip(range(args.frames), source.frames(), strict=False)]
    for style in available_styles():
        with Stylizer(StylizeConfig(style=style, height=args.height, workers=1)) as stylize:
            for name, frames in clips.items():
                e = clip_flicker(stylize, frames).error
                row = {
                    "style": style,
                    "clip": name,
                    "E_output": e.output,
                    "E_input": e.input,
                    "ratio": e.ratio,
                }
                results["rows"].append(row)
                print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n| style | " + " | ".join(clips) + " |")
    print("|---|" + "---|" * len(clips))
    for style in available_styles():
        cells = [f"{r['ratio']:.2f}" for r in results["rows"] if r["style"] == style]
        print(f"| {style} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bundled models' table for RESULTS.md, read from their model cards (no hand-copied numbers).

    python benchmarks/bundled_table.py            # prints a Markdown table
    python benchmarks/bundled_table.py --update benchmarks/RESULTS.md   # or fills it in there

Each ``vstyle/assets/models/NAME.json`` sidecar holds the ``card`` that ``vstyle train --recipe NAME
--bundle`` wrote: training steps and time, flicker ratios (the teacher's in brackets), fidelity to
the teacher and style scores, and the speed measured right after training. A target column says
whether the style meets the targets of the temporal-consistency work.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.styles import BUNDLED_DIR  # noqa: E402
from vstyle.train.config import WARM_ARCHS  # noqa: E402

CLIPS = ("fox", "sam2_bedroom", "sam2_04_coffee")


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "–" if value is None else format(value, fmt)


def targets(card: dict) -> list[str]:
    """What the card's numbers miss: ratio ≤ 3 and ≤ half the teacher's; PSNR ≥ 22 (quality) / 20 dB;
    and, for the "style intact" target, an LPIPS-like ratio under 1 (a student no closer to its
    teacher in feature space than the unstylized photo has lost the strokes, however high its PSNR:
    ``../shared/docs/quality-notes.md``)."""
    misses = []
    for clip, row in card["metrics"]["flicker"].items():
        if row["ratio"] > 3.0:
            misses.append(f"{clip} ratio {row['ratio']:.2f} > 3")
        if row["teacher_ratio"] is not None and row["ratio"] > row["teacher_ratio"] / 2:
            misses.append(f"{clip} ratio {row['ratio']:.2f} > half the teacher's")
    fidelity = card["metrics"].get("fidelity") or {}
    # The quality size is any teacher-sized layout (quality, quality-aa, the teacher's own engstrom:
    # the layouts a teacher's weights go into); the CPU sizes (fast, fast-hr*, tiny) have 20 dB.
    floor = 22.0 if card["architecture"] in WARM_ARCHS else 20.0
    # Students of a teacher (not the painting styles, whose "teacher" is their own first stage).
    if card["config"].get("teacher") and "from the painting" not in card.get("what", ""):
        psnr = fidelity.get("psnr")
        if psnr is not None and psnr < floor:
            misses.append(f"PSNR {psnr:.1f} < {floor:.0f} dB")
        lpips = fidelity.get("lpips_like_ratio")
        if lpips is not None and lpips >= 1.0:
            misses.append(f"LPIPS-like {lpips:.2f} ≥ 1: strokes lost")
    return misses


def table(folder: Path = BUNDLED_DIR) -> str:
    header = (
        "| model | arch | steps | train min | fox | bedroom | coffee | Middlebury GT | PSNR dB | SSIM "
        "| LPIPS-like | Gram style loss (teacher) | ms 640×360 | targets |"
    )
    lines = [header, "|" + "---|" * 14]
    for path in sorted(folder.glob("*.json")):
        card = json.loads(path.read_text()).get("card")
        if card is None:
            continue
        m, t = card["metrics"], card["training"]
        flicker = []
        for clip in CLIPS:
            row = m["flicker"].get(clip)
            if row is None:
                flicker.append("–")
                continue
            teacher = f" ({row['teacher_ratio']:.2f})" if row["teacher_ratio"] is not None else ""
            flicker.append(f"{row['ratio']:.2f}{teacher}")
        fid = m.get("fidelity") or {}
        scores = m.get("style_scores") or {}
        student = (scores.get("student") or {}).get("style_loss")
        teacher = (scores.get("teacher") or {}).get("style_loss")
        gram = _num(student, ",.0f").replace(",", " ")
        if teacher is not None:
            gram += f" ({_num(teacher, ',.0f').replace(',', ' ')})"
        misses = targets(card)
        lines.append(
            f"| {card['name']} | {card['architecture']} | {t['steps']} | {t['minutes']:.1f} | "
            + " | ".join(flicker)
            + f" | {_num(m.get('middlebury_ratio'))} | {_num(fid.get('psnr'), '.1f')} | "
            f"{_num(fid.get('ssim'))} | {_num(fid.get('lpips_like_ratio'))} | {gram} | "
            f"{m['ms_640x360_onnxruntime_cpu']} | {'met' if not misses else '; '.join(misses)} |"
        )
    return "\n".join(lines)


START, END = "<!-- bundled-table -->", "<!-- /bundled-table -->"


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="The bundled models' table, from their cards.")
    parser.add_argument(
        "--update", type=Path, metavar="MD", help=f"replace the text between {START} and {END}"
    )
    args = parser.parse_args()
    text = table()
    if args.update is None:
        print(text)
        return 0
    doc = args.update.read_text()
    if START not in doc or END not in doc:
        print(
            f"error: {args.update} has no {START} … {END} block; add one where the table goes",
            file=sys.stderr,
        )
        return 1
    head, rest = doc.split(START, 1)
    tail = rest.split(END, 1)[1]
    tmp = args.update.with_name(f".{args.update.name}.tmp")
    tmp.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    tmp.replace(args.update)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

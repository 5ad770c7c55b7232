"""Backend-only vs end-to-end throughput, and live latency (the streaming core's acceptance numbers).

Now a thin wrapper over ``vstyle bench`` (the measurements live in :mod:`vstyle.bench.measure`):
for each architecture (``quality``, ``fast``, ``tiny``; seeded random weights — speed does not
depend on the weights), at 640×360 and 1280×720, with 1 and 2 stylize workers, in one run:

* **backend** mode: ``backend.infer`` on preprocessed frames after warm-up, ``workers`` in flight;
* **file** mode: ``vstyle render`` of the real clip (decode → stylize → H.264 encode, audio copied);
* **pipeline live**: the synthetic source at 30 fps into the null sink for 10 s, latency and drops.

Each architecture is one ``vstyle bench`` run (its own frame count, so the slowest case takes
~20–40 s here), written to ``<out>/stream_bench-<arch>.{json,csv,md}``; then ``vstyle bench
compare`` merges them into ``<out>/stream_bench/compare.md`` (no charts: one machine).

Usage::

    python benchmarks/stream_bench.py [--clip PATH] [--archs quality fast tiny] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vstyle.cli import main as vstyle

#: Timed frames per architecture, chosen so its slowest (1280×720) cell takes ~20–40 s on 2 cores.
FRAMES = {"quality": 8, "fast": 30, "tiny": 90}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, help="a 1280×720 clip (default: the shared-data clip)")
    parser.add_argument("--archs", nargs="+", default=list(FRAMES), choices=list(FRAMES))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    results = []
    for arch in args.archs:
        argv = [
            "bench",
            "--models",
            arch,
            "--resolutions",
            "360p",
            "720p",
            "--workers",
            "1",
            "2",
            "--modes",
            "backend",
            "file",
            "pipeline",
            "--policies",
            "live",
            "--live-seconds",
            "10",
            "--runs",
            str(FRAMES[arch]),
            "--out",
            str(args.out),
            "--name",
            f"stream_bench-{arch}",
        ]
        if args.clip is not None:
            argv += ["--clip", str(args.clip)]
        code = vstyle(argv)
        if code != 0:
            return code
        results.append(str(args.out / f"stream_bench-{arch}.json"))
    return vstyle(["bench", "compare", *results, "--out", str(args.out / "stream_bench"), "--no-charts"])


if __name__ == "__main__":
    sys.exit(main())

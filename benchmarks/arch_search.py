"""Choose the ``fast`` and ``tiny`` architectures by measurement.

Exports each candidate spec (random weights) to ONNX with the project's exporter and times ONNX
Runtime on the CPU (2 intra-op threads, one frame, batch 1) at 640×360 and 1280×720: warm-up runs,
then ``--runs`` runs per candidate in blocks of 5, the candidates taking turns block by block so that
a shared machine's background load hits all alike; median (and min) reported. ``quality`` is
measured in the same run as the reference.
Prints a Markdown table (and optionally writes JSON). Speed depends on weights only through
denormals, which random weights avoid, so untrained networks time like trained ones.

    /work/venv/bin/python benchmarks/arch_search.py --runs 10 --json /tmp/arch_search.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from typing import Any

import numpy as np

from vstyle.models.spec import ARCHITECTURES, ArchSpec

SIZES = ((360, 640), (720, 1280))


def candidates() -> list[ArchSpec]:
    """``quality``, the candidates, and the current ``fast``/``tiny`` (whichever they equal)."""
    base = dict(stem_kernel=3, out_kernel=3, depthwise_res=True)
    specs = [
        ARCHITECTURES["quality"],
        # --- fast: pixel-unshuffle ×2, depthwise residual blocks --------------------------------
        ArchSpec(
            "f_u2_d2_r5_near",
            unshuffle=2,
            stem_channels=32,
            down_channels=(64, 128),
            res_blocks=5,
            up_channels=(64, 32),
            upsample="nearest",
            **base,
        ),
        ArchSpec(
            "f_u2_d2_r5_pxs",
            unshuffle=2,
            stem_channels=32,
            down_channels=(64, 128),
            res_blocks=5,
            up_channels=(64, 32),
            upsample="pixelshuffle",
            **base,
        ),
        ArchSpec(
            "f_u2_d2_r5_pxs_wide",
            unshuffle=2,
            stem_channels=32,
            down_channels=(64, 128),
            res_blocks=5,
            up_channels=(96, 48),
            upsample="pixelshuffle",
            **base,
        ),
        ArchSpec(
            "f_u2_d1_128_r5_near",
            unshuffle=2,
            stem_channels=32,
            down_channels=(128,),
            res_blocks=5,
            up_channels=(32,),
            upsample="nearest",
            **base,
        ),
        ArchSpec(
            "f_u2_d2_r5_full",
            unshuffle=2,
            stem_channels=32,
            down_channels=(64, 128),
            res_blocks=5,
            up_channels=(64, 32),
            upsample="nearest",
            stem_kernel=3,
            out_kernel=3,
            depthwise_res=False,
        ),
        # --- tiny: pixel-unshuffle ×4, everything at 1/4 (and 1/8) ------------------------------
        ArchSpec(
            "t_u4_48_r4",
            unshuffle=4,
            stem_channels=48,
            down_channels=(),
            res_blocks=4,
            up_channels=(),
            **base,
        ),
        ArchSpec(
            "t_u4_48_d64_r4_pxs",
            unshuffle=4,
            stem_channels=48,
            down_channels=(64,),
            res_blocks=4,
            up_channels=(48,),
            upsample="pixelshuffle",
            **base,
        ),
        ArchSpec(
            "t_u4_48_d64_r4_pxs_k1",
            unshuffle=4,
            stem_channels=48,
            down_channels=(64,),
            res_blocks=4,
            up_channels=(48,),
            upsample="pixelshuffle",
            up_kernel=1,
            **base,
        ),
        ArchSpec(
            "t_u4_48_d64_r5_pxs_k1",
            unshuffle=4,
            stem_channels=48,
            down_channels=(64,),
            res_blocks=5,
            up_channels=(48,),
            upsample="pixelshuffle",
            up_kernel=1,
            **base,
        ),
        ArchSpec(
            "t_u4_48_d64_r4_near",
            unshuffle=4,
            stem_channels=48,
            down_channels=(64,),
            res_blocks=4,
            up_channels=(48,),
            upsample="nearest",
            **base,
        ),
        ArchSpec(
            "t_u4_64_d96_r5_near",
            unshuffle=4,
            stem_channels=64,
            down_channels=(96,),
            res_blocks=5,
            up_channels=(64,),
            upsample="nearest",
            **base,
        ),
    ]

    # The shipped fast/tiny appear under their own name when no candidate above equals them.
    def same(a: ArchSpec, b: ArchSpec) -> bool:
        return dataclasses.replace(a, name="") == dataclasses.replace(b, name="")

    for name in ("fast", "tiny"):
        if not any(same(ARCHITECTURES[name], s) for s in specs):
            specs.append(ARCHITECTURES[name])
    return specs


def shipped_names(spec: ArchSpec) -> list[str]:
    return [
        n
        for n, s in ARCHITECTURES.items()
        if dataclasses.replace(s, name="") == dataclasses.replace(spec, name="")
    ]


def complexity(spec: ArchSpec, size: tuple[int, int]) -> tuple[int, float]:
    """(parameters, GMACs per frame at ``size``) counted from the convs' real output shapes."""
    import torch
    from torch import nn

    from vstyle.models.stylenet import StyleNet

    net = StyleNet(spec).eval()
    macs = 0

    def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal macs
        w = module.weight
        if isinstance(module, nn.ConvTranspose2d):
            macs += inputs[0].numel() * w.shape[1] * w.shape[2] * w.shape[3]
        else:
            macs += output.numel() * w.shape[1] * w.shape[2] * w.shape[3]

    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.zeros(1, 3, *size))
    params = sum(p.numel() for p in net.parameters())
    return params, macs / 1e9


def make_session(model_bytes: bytes, threads: int):
    """An ONNX Runtime CPU session as the app would create it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def time_in_blocks(
    sessions: dict[str, Any], size: tuple[int, int], runs: int, warmup: int, block: int = 5
) -> dict[str, list[float]]:
    """Milliseconds per ``1×3×H×W`` frame: each candidate in turn runs a block of ``block`` runs
    (after ``warmup`` untimed ones), and the turns repeat until every candidate has ``runs`` timings.

    Blocks spread a shared machine's changing background load over all candidates, so their ratios
    stay meaningful; whole blocks (not single interleaved runs) keep one session's thread pool busy
    at a time, as in the app (ORT's idle threads spin for a while and would slow the next session).
    """
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, *size)).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in sessions}
    while any(len(t) < runs for t in times.values()):
        for name, session in sessions.items():
            for _ in range(warmup):
                session.run(None, {"input": x})
            for _ in range(min(block, runs - len(times[name]))):
                t0 = time.perf_counter()
                session.run(None, {"input": x})
                times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per size (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before each block of 5")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    parser.add_argument("--only", nargs="*", help="candidate names to run (quality always runs)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch

    from vstyle.models.export import to_onnx
    from vstyle.models.stylenet import StyleNet

    torch.manual_seed(0)
    torch.set_num_threads(1)  # exports are single-threaded work; leave the cores to ORT timing
    specs = [s for s in candidates() if not args.only or s.name in args.only or s.name == "quality"]
    results = []
    sessions = {}
    started = time.perf_counter()
    for spec in specs:
        t0 = time.perf_counter()
        model_bytes = to_onnx(StyleNet(spec).eval()).SerializeToString()
        export_s = time.perf_counter() - t0
        params, gmacs = complexity(spec, SIZES[0])
        results.append(
            {
                "name": spec.name,
                "shipped_as": shipped_names(spec),
                "spec": spec.to_dict(),
                "size_multiple": spec.size_multiple,
                "export_s": round(export_s, 1),
                "params": params,
                "gmacs_360p": round(gmacs, 2),
            }
        )
        sessions[spec.name] = make_session(model_bytes, args.threads)
        print(f"exported {spec.name} in {export_s:.0f} s", flush=True)
    for h, w in SIZES:
        times = time_in_blocks(sessions, (h, w), args.runs, args.warmup)
        for row in results:
            row[f"ms_{h}p"] = round(statistics.median(times[row["name"]]), 1)
            row[f"min_ms_{h}p"] = round(min(times[row["name"]]), 1)
        print(f"timed {w}×{h}", flush=True)

    ref = next(r for r in results if r["name"] == "quality")
    print()
    print(
        f"ONNX Runtime {ort.__version__}, CPUExecutionProvider, {args.threads} intra-op threads, batch 1, "
        f"median of {args.runs} runs (blocks of 5, {args.warmup} warm-up each); "
        f"total {time.perf_counter() - started:.0f} s"
    )
    print()
    print(
        "| candidate | shipped as | ×mult | params | GMAC @360p | ms @640×360 (min) | fps | × vs quality "
        "| ms @1280×720 (min) | fps | × vs quality |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['name']} | {', '.join(r['shipped_as']) or '–'} | {r['size_multiple']} "
            f"| {r['params'] / 1e3:.0f} k | {r['gmacs_360p']:.2f} "
            f"| {r['ms_360p']:.1f} ({r['min_ms_360p']:.1f}) | {1e3 / r['ms_360p']:.1f} "
            f"| {ref['ms_360p'] / r['ms_360p']:.1f} | {r['ms_720p']:.1f} ({r['min_ms_720p']:.1f}) "
            f"| {1e3 / r['ms_720p']:.1f} | {ref['ms_720p'] / r['ms_720p']:.1f} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {"ort": ort.__version__, "threads": args.threads, "runs": args.runs, "results": results},
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()

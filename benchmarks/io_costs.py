"""What the file pipeline's I/O costs per frame on the CPU, next to the network it shares the cores with.

    python benchmarks/io_costs.py [--clip PATH] [--height 360] [--frames 120] [--model tiny]

Each step the file-to-file path does for a frame, timed alone on one thread (median ms/frame over
``--frames`` frames, after a warm-up pass; FFmpeg's own threads as the render uses them):

* decode: H.264 → ``VideoFrame`` (``thread_type="AUTO"``, as :class:`~vstyle.capture.FileSource`);
* to RGB + scale: ``to_ndarray("rgb24")`` at the clip's size and ``cv2.resize`` (INTER_AREA) to the
  working height, as the source and the stylizer do;
* RGB → YUV: swscale's BT.709 conversion in :class:`~vstyle.sinks.VideoFileSink`;
* encode: libx264 at CRF 18 for each preset (``veryfast`` is the default), with the file size;
* the network: one call of the model at the working size on one thread (``--model``, random
  weights of an architecture or an .onnx file), as each of the render's workers runs it.

The sum is the CPU time a frame needs; on ``C`` cores the file render cannot beat
``C / (network + I/O)`` frames per second however well the stages overlap, which is the ceiling
the "file-to-file ≥ 90 % of backend-only" target meets on a small machine. Writes
``benchmarks/results/io_costs.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vstyle.bench.machine import cpu_model  # noqa: E402
from vstyle.bench.matrix import default_clip  # noqa: E402
from vstyle.stylizer import scaled_size  # noqa: E402


def _median_ms(times: list[float]) -> float:
    return round(float(np.median(times)) * 1e3, 2)


def decode_frames(clip: Path, count: int) -> tuple[list[av.VideoFrame], float]:
    """``count`` decoded frames and the mean decode time per frame (of a second pass, warm caches)."""

    def one_pass() -> tuple[list[av.VideoFrame], float]:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            frames: list[av.VideoFrame] = []
            t0 = time.perf_counter()
            for frame in container.decode(stream):
                frames.append(frame)
                if len(frames) >= count:
                    break
            # Frame threads deliver in bursts: the mean over the run is the honest per-frame cost.
            return frames, (time.perf_counter() - t0) / len(frames)

    one_pass()
    frames, seconds = one_pass()
    return frames, round(seconds * 1e3, 2)


def encode_ms(images: list[np.ndarray], preset: str) -> tuple[float, int]:
    """Mean ms/frame of RGB→YUV plus libx264 at ``preset`` (CRF 18), and the bytes written."""
    height, width = images[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        stream.codec_context.options = {"crf": "18", "preset": preset}
        t0 = time.perf_counter()
        for index, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG"
            )
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
        elapsed = time.perf_counter() - t0
    return round(elapsed / len(images) * 1e3, 2), len(buffer.getvalue())


def network_ms(model: str, width: int, height: int, runs: int = 20) -> float:
    """Median ms of one single-threaded ONNX Runtime call at ``width×height``."""
    import onnxruntime as ort

    if model.endswith(".onnx"):
        path = Path(model)
    else:
        import torch

        from vstyle.models.export import export_onnx
        from vstyle.models.spec import ARCHITECTURES
        from vstyle.models.stylenet import StyleNet

        torch.manual_seed(0)
        spec = ARCHITECTURES[model]
        path = Path(tempfile.mkdtemp(prefix="vstyle-io-")) / f"{model}.onnx"
        export_onnx(StyleNet(spec).eval(), spec, path, source="random weights (io_costs)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    multiple = 16
    batch = np.random.default_rng(0).uniform(0, 255, (1, 3, -(-height // multiple) * multiple,
                                                       -(-width // multiple) * multiple)).astype(np.float32)  # fmt: skip
    for _ in range(3):
        session.run(None, {name: batch})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, {name: batch})
        times.append(time.perf_counter() - t0)
    return _median_ms(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, help="an H.264 clip (default: the bench's 1280×720 clip)")
    parser.add_argument("--height", type=int, default=360, help="working height (default 360)")
    parser.add_argument("--frames", type=int, default=120, help="frames per measurement (default 120)")
    parser.add_argument("--model", default="tiny", help="architecture name or .onnx (default tiny)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "io_costs.json")
    args = parser.parse_args()
    clip = args.clip or default_clip()
    if clip is None or not clip.is_file():
        print("skipped: no clip (pass --clip, or provide ../shared/data/video)", file=sys.stderr)
        return 0
    cv2.setNumThreads(1)
    frames, decode = decode_frames(clip, args.frames)
    width, height = scaled_size(frames[0].width, frames[0].height, args.height)
    times, images = [], []
    for frame in frames:
        t0 = time.perf_counter()
        image = cv2.resize(frame.to_ndarray(format="rgb24"), (width, height), interpolation=cv2.INTER_AREA)
        times.append(time.perf_counter() - t0)
        images.append(image)
    to_rgb = _median_ms(times)
    times = []
    for image in images:
        t0 = time.perf_counter()
        av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
            format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG"
        )
        times.append(time.perf_counter() - t0)
    to_yuv = _median_ms(times)
    encodes = {
        preset: encode_ms(images, preset) for preset in ("ultrafast", "superfast", "veryfast", "medium")
    }
    net = network_ms(args.model, width, height)
    io_ms = decode + to_rgb + encodes["veryfast"][0]  # the encode time includes RGB → YUV
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    ceiling = {
        "backend_only_fps": round(cores * 1e3 / net, 2),
        "file_fps": round(cores * 1e3 / (net + io_ms), 2),
        "file_of_backend_only": round(net / (net + io_ms), 3),
    }
    report = {
        "machine": cpu_model(),
        "cores": cores,
        "command": ("python benchmarks/io_costs.py " + " ".join(sys.argv[1:])).strip(),
        "clip": clip.name,
        "clip_size": [frames[0].width, frames[0].height],
        "size": [width, height],
        "ms_per_frame": {
            "decode": decode,
            "to_rgb_and_scale": to_rgb,
            "rgb_to_yuv": to_yuv,
            **{f"encode_{p}": ms for p, (ms, _) in encodes.items()},
            f"network_{Path(args.model).stem}": net,
        },
        "encoded_bytes": {p: size for p, (_, size) in encodes.items()},
        "ceiling": ceiling,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)
    print(
        f"{clip.name} {frames[0].width}×{frames[0].height} → {width}×{height}, {report['machine']}, {cores} cores"
    )
    print("| step | ms/frame |")
    print("|---|---|")
    for step, ms in report["ms_per_frame"].items():
        extra = ""
        if step.startswith("encode_"):
            extra = f" ({encodes[step[7:]][1] / len(images) / 1024:.1f} KiB/frame)"
        print(f"| {step} | {ms:.2f}{extra} |")
    print(
        f"\nCeiling on {cores} cores: backend-only {ceiling['backend_only_fps']} fps, file "
        f"{ceiling['file_fps']} fps = {ceiling['file_of_backend_only']:.0%} of backend-only"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

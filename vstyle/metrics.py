"""Honest numbers about a pipeline run: throughput, per-stage time, latency, drops."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vstyle.atomic import publish

STAGES: tuple[str, ...] = ("capture", "stylize", "write")


@dataclass
class StageStats:
    """Time a stage spent doing its own work (not waiting on queues)."""

    busy_s: float = 0.0
    items: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float, items: int = 1) -> None:
        with self._lock:  # several stylize workers may report at once
            self.busy_s += seconds
            self.items += items

    @property
    def ms_per_frame(self) -> float:
        return 1e3 * self.busy_s / self.items if self.items else 0.0


@dataclass
class Metrics:
    """Collected while a pipeline runs; read :meth:`as_dict` or :meth:`summary` afterwards.

    Attributes:
        frames_in: frames that left the source.
        frames_out: frames the sink wrote.
        dropped: frames discarded on purpose (live mode's newest-frame-wins queues, plus frames a
            camera overwrote before they were read).
        wall_s: from the start of the run to the last frame written.
        latencies_s: per written frame, capture → written, on the monotonic clock.
    """

    mode: str = "offline"
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    wall_s: float = 0.0
    # 8 bytes a frame (a list of floats takes 32): a live filter left running for a day at 30 fps
    # keeps ~21 MB of exact latencies rather than ~80 MB.
    latencies_s: array[float] = field(default_factory=lambda: array("d"))
    stages: dict[str, StageStats] = field(default_factory=lambda: {s: StageStats() for s in STAGES})
    extra: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_drop(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    @property
    def fps(self) -> float:
        """Frames written per second of wall time."""
        return self.frames_out / self.wall_s if self.wall_s > 0 else 0.0

    def latency_ms(self, percentile: float) -> float | None:
        if not self.latencies_s:
            return None
        return float(np.percentile(np.frombuffer(self.latencies_s, np.float64), percentile) * 1e3)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (milliseconds, frames per second)."""
        return {
            "mode": self.mode,
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "dropped": self.dropped,
            "interrupted": self.interrupted,
            "wall_s": round(self.wall_s, 4),
            "fps": round(self.fps, 3),
            "latency_ms": {f"p{p}": _round(self.latency_ms(p)) for p in (50, 95, 99)},
            "stages_ms_per_frame": {name: round(s.ms_per_frame, 3) for name, s in self.stages.items()},
            "stage_busy_s": {name: round(s.busy_s, 4) for name, s in self.stages.items()},
            **self.extra,
        }

    def summary(self) -> str:
        """A few lines for a terminal."""
        d = self.as_dict()
        lat = d["latency_ms"]
        stages = "  ".join(f"{k} {v:.1f}" for k, v in d["stages_ms_per_frame"].items())
        lines = [
            f"{d['frames_out']} frame{'' if d['frames_out'] == 1 else 's'} in {d['wall_s']:.2f} s: {d['fps']:.1f} fps ({self.mode}"
            + (f", {d['dropped']} dropped" if self.mode == "live" or d["dropped"] else "")
            + (", interrupted" if self.interrupted else "")
            + ")",
            f"stage ms/frame: {stages}",
        ]
        if lat["p50"] is not None:
            lines.append(
                f"latency capture→output ms: p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  p99 {lat['p99']:.1f}"
            )
        return "\n".join(lines)

    def write_json(self, path: Path) -> None:
        """Write :meth:`as_dict` to ``path`` atomically (temporary name, then rename)."""
        write_json_atomic(Path(path), self.as_dict())


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` via a temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, default=str)
            f.write("\n")
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["STAGES", "Metrics", "StageStats", "write_json_atomic"]

"""The package stays light: importing it, and running the CPU path's plumbing, needs no PyTorch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CODE = """
import sys
import vstyle, vstyle.cli, vstyle.render, vstyle.stylizer, vstyle.pipeline, vstyle.capture, vstyle.sinks
import vstyle.backends.onnxrt, vstyle.models, vstyle.models.metadata, vstyle.styles
heavy = sorted(m for m in ("torch", "tensorrt", "onnx", "pygame") if m in sys.modules)
assert not heavy, f"importing vstyle pulled in {heavy}"
print("ok")
"""


def test_import_needs_no_torch_tensorrt_or_gui() -> None:
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_reading_a_model_needs_no_torch(tiny_model: Path) -> None:
    code = (
        "import sys; from vstyle.models.metadata import read_model_metadata;"
        f"info = read_model_metadata({str(tiny_model)!r}); assert info.architecture == 'tiny';"
        "assert 'torch' not in sys.modules; print(info.size_multiple)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from vstyle.models.spec import get_arch

    assert int(proc.stdout) == get_arch("tiny").size_multiple

"""Files written atomically (through ``tempfile.mkstemp``) get the mode a plain ``open`` would give them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from vstyle.contact import save_png
from vstyle.metrics import write_json_atomic


def test_saved_png_and_json_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        png = save_png(tmp_path / "sheet.png", np.zeros((4, 6, 3), np.uint8))
        data = tmp_path / "metrics.json"
        write_json_atomic(data, {"fps": 1.0})
    finally:
        os.umask(old)
    assert stat.S_IMODE(png.stat().st_mode) == 0o644
    assert stat.S_IMODE(data.stat().st_mode) == 0o644

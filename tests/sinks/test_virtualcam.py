"""VirtualCameraSink without pyvirtualcam: a clear install hint (the camera itself needs a driver)."""

from __future__ import annotations

import sys

import pytest

from vstyle.capture.base import SourceInfo
from vstyle.errors import BackendUnavailableError
from vstyle.sinks import VirtualCameraSink


def test_missing_pyvirtualcam_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'vstyle\[virtualcam\]'"):
        VirtualCameraSink(30).open(SourceInfo(width=64, height=48))

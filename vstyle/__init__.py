"""vstyle: real-time video style transfer.

Capture (camera, file, images, synthetic) → stylize (ONNX Runtime on the CPU; TensorRT on NVIDIA
GPUs) → encode, display or a virtual camera. ``import vstyle`` needs neither PyTorch nor a GPU.

The Python API:

* :class:`vstyle.Stylizer` — frame in, frame out.
* :func:`vstyle.render` — a file in, a stylized file out (audio kept).
* :func:`vstyle.live` — a live filter from a camera.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vstyle.config import PipelineConfig, StylizeConfig
    from vstyle.frames import Frame
    from vstyle.render import live, render
    from vstyle.stylizer import Stylizer

_LAZY = {
    "Stylizer": "vstyle.stylizer",
    "StylizeConfig": "vstyle.config",
    "PipelineConfig": "vstyle.config",
    "Frame": "vstyle.frames",
    "render": "vstyle.render",
    "live": "vstyle.render",
}


def __getattr__(name: str) -> Any:
    # Lazy so that `import vstyle` stays light (no cv2/av/onnxruntime until first use).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vstyle' has no attribute {name!r}")


__all__ = ["Frame", "PipelineConfig", "StylizeConfig", "Stylizer", "__version__", "live", "render"]

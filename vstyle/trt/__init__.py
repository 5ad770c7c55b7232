"""TensorRT engines for NVIDIA GPUs: the engine cache, the builder and the runtime.

Layout (Polygraphy's: by concept): :mod:`vstyle.trt.cache` keys, stores and verifies engines (pure
Python, no TensorRT needed); :mod:`vstyle.trt.build` turns an ONNX model into an engine;
:mod:`vstyle.trt.runtime` runs one. Nothing in this package imports ``tensorrt`` or ``torch`` at
module import: only building or running an engine does, so ``import vstyle`` works on any machine.
"""

from __future__ import annotations

"""The one frame type that flows between stages."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One video frame.

    Attributes:
        image: ``H×W×3`` ``uint8`` RGB pixels. Colour order is fixed to RGB at capture; tensors and
            normalisation live only inside the stylizer and backends. The one exception: a
            :class:`~vstyle.capture.FileSource` with ``device_frames`` delivers a torch CUDA tensor
            of that shape (frames NVDEC left on the GPU), which only the stylizer reads.
        index: position in the source, counting from 0 (dropped live frames leave gaps).
        pts: presentation timestamp in ``time_base`` units, or ``None`` when the source has none.
        time_base: seconds per ``pts`` unit, or ``None``.
        captured_at: ``time.monotonic()`` when the frame left the source; end-to-end latency is
            measured from here.
    """

    image: np.ndarray
    index: int
    pts: int | None = None
    time_base: Fraction | None = None
    captured_at: float = 0.0

    @property
    def time(self) -> float | None:
        """Presentation time in seconds, or ``None`` without a timestamp."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def with_image(self, image: np.ndarray) -> Frame:
        """The same frame (index, timestamps) carrying other pixels."""
        return dataclasses.replace(self, image=image)


def check_image(image: np.ndarray, what: str = "frame") -> np.ndarray:
    """Raise ``ValueError`` unless ``image`` is ``H×W×3 uint8``; return it unchanged."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = (
            f"{image.dtype} array of shape {image.shape}"
            if isinstance(image, np.ndarray)
            else type(image).__name__
        )
        raise ValueError(f"{what} must be an H×W×3 uint8 RGB array. Got {got}")
    return image

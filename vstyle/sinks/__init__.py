"""Where stylized frames go: video files, image sequences or a still image, a window, a virtual camera, or nowhere.

Every sink is a :class:`Sink` context manager; :func:`open_sink` picks one from a user's output spec.
Optional GUI and camera libraries (pygame, pyvirtualcam) are imported only when their sink opens.
"""

from vstyle.sinks.base import Sink
from vstyle.sinks.display import DisplaySink
from vstyle.sinks.factory import open_sink
from vstyle.sinks.images import ImageFileSink, ImageSequenceSink
from vstyle.sinks.null import NullSink
from vstyle.sinks.tee import TeeSink
from vstyle.sinks.video import VideoFileSink
from vstyle.sinks.virtualcam import VirtualCameraSink

__all__ = [
    "DisplaySink",
    "ImageFileSink",
    "ImageSequenceSink",
    "NullSink",
    "Sink",
    "TeeSink",
    "VideoFileSink",
    "VirtualCameraSink",
    "open_sink",
]

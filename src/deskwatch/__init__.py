"""deskwatch: privacy-first, on-device workspace-compliance monitoring."""

import os

# MediaPipe, TFLite and OpenCV log to stderr when they load; keep deskwatch's stderr for
# its own messages unless the user asked for those logs.
for _name, _value in {
    "GLOG_minloglevel": "2",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "OPENCV_LOG_LEVEL": "ERROR",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"

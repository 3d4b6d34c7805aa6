"""deskwatch: privacy-first, on-device workspace-compliance monitoring."""

import os

# ONNX Runtime's official builds send usage telemetry and keep a device id in the home
# folder; deskwatch sends nothing anywhere, so it opts out (before onnxruntime loads).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

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

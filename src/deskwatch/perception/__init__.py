"""Perception: one module per detector in ``detectors/``, found by ``registry``; numbers out.

Importing this package (or a detector's config) loads no model library: MediaPipe, OpenCV
and onnxruntime are imported when a detector is built or first runs.
"""

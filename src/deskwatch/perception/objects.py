"""Optional object detector: YOLO-family ONNX models through onnxruntime.

Off unless a policy names a model file. Implementation lands with the ONNX work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from deskwatch.perception.base import DetectorConfig


class ObjectsConfig(DetectorConfig):
    type: Literal["objects"] = "objects"
    model_path: Path = Field(description="YOLO-format ONNX file supplied by the user")
    labels_path: Path | None = Field(default=None, description="class names, one per line")
    layout: Literal["auto", "ultralytics", "yolox"] = "auto"
    min_confidence: float = Field(default=0.35, ge=0, le=1)
    nms_iou: float = Field(default=0.45, gt=0, le=1)
    threads: int = Field(default=1, ge=1, le=8)

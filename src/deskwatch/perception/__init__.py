"""Perception: one module per detector, registered by name, numbers out."""

from deskwatch.perception import camera_health, face_detection, face_mesh, hands  # noqa: F401
from deskwatch.perception.base import Detector, DetectorConfig, create, registered

__all__ = ["Detector", "DetectorConfig", "create", "registered"]

"""The perception stages: one per detector, named as the detector's policy section."""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    """A detector's key: in policies, in ``Observation.stages`` and in what rules need.

    Each member is served by one module in ``perception/detectors/`` whose ``DETECTOR``
    spec names it (a test checks both ways). The order here only breaks ties: the order
    stages run in is derived from what each detector reads.
    """

    CAMERA_HEALTH = "camera_health"
    FACE = "face"
    FACE_MESH = "face_mesh"
    HANDS = "hands"
    OBJECTS = "objects"

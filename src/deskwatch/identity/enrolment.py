"""Enrolment from a frame source (the CLI's path; the agent enrols from its own loop)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from deskwatch.capture.frame import Frame
from deskwatch.identity.check import FaceWindow
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.encoder import FaceEncoder, FaceEncoderOptions
from deskwatch.identity.store import TemplateError, TemplateStore
from deskwatch.perception.face_mesh import FaceMesh, FaceMeshOptions

ENROL_SLOTS = 5  # descriptors in a template: a few angles
MIN_ENROL_DESCRIPTORS = 3


def enrolment_window(config: IdentityConfig) -> FaceWindow:
    mesh = FaceMesh.create_from_options(FaceMeshOptions())
    encoder = FaceEncoder.create_from_options(FaceEncoderOptions())
    return FaceWindow(config, mesh, encoder, ENROL_SLOTS)


def save_template(window: FaceWindow, store: TemplateStore) -> int:
    """Store the window's descriptors as the template; TemplateError if too few."""
    if len(window.descriptors) < MIN_ENROL_DESCRIPTORS:
        problem = window.main_problem().value.replace("_", " ")
        raise TemplateError(
            f"enrolment needs {MIN_ENROL_DESCRIPTORS} clear views of the face, got "
            f"{len(window.descriptors)} (mostly: {problem}); sit facing the camera in good light"
        )
    store.save(np.stack(window.descriptors))
    return len(window.descriptors)


def enrol_from(frames: Iterable[Frame], store: TemplateStore, seconds: float = 8.0) -> int:
    """Enrol from ``seconds`` of ``frames``; the number of views in the template."""
    window = enrolment_window(IdentityConfig(window_s=seconds))
    try:
        for frame in frames:
            window.add(frame)
            if window.done(frame.ts):
                break
        return save_template(window, store)
    finally:
        window.close()

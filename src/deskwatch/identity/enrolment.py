"""Enrolment: a few views of the face at slightly different angles become the template.

Every usable frame gives a descriptor; at the end up to ``ENROL_VIEWS`` are picked, as far
apart in head yaw/pitch (smoothed over three frames) as they come. Their spread must reach
``min_enrol_spread_deg``: until it does the worker is asked to turn slightly, for at most
``enrol_max_s``, and then told plainly what to do. The CLI enrols from a frame source; the
agent enrols from its own loop with the same window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deskwatch.capture.frame import Frame
from deskwatch.identity.check import DECISIVE, FaceWindow
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.liveness import smooth
from deskwatch.identity.store import TemplateError, TemplateStore

ENROL_VIEWS = 5  # descriptors in a template: a few angles
MIN_ENROL_VIEWS = 3
MAX_CAPTURES = 240  # descriptors kept in memory while enrolling (2 min at 2 fps)
TURN_TIP = (
    "turn your head a little to the left and right (or up and down) while you look at the "
    "camera, so it sees your face from slightly different angles"
)


def pick_views(angles: NDArray[np.float64], count: int) -> list[int]:
    """Indices of up to ``count`` rows of (yaw, pitch) spread as far apart as possible: the
    one nearest the median first, then each time the one farthest from those picked."""
    if len(angles) == 0:
        return []
    centre = np.median(angles, axis=0)
    picked = [int(np.argmin(np.linalg.norm(angles - centre, axis=1)))]
    nearest = np.linalg.norm(angles - angles[picked[0]], axis=1)
    while len(picked) < min(count, len(angles)):
        far = int(np.argmax(nearest))
        if nearest[far] <= 0:
            break
        picked.append(far)
        nearest = np.minimum(nearest, np.linalg.norm(angles - angles[far], axis=1))
    return picked


def spread_deg(angles: NDArray[np.float64]) -> float:
    """The largest yaw/pitch distance between any two rows."""
    if len(angles) < 2:
        return 0.0
    return float(np.max(np.linalg.norm(angles[:, None, :] - angles[None, :, :], axis=2)))


@dataclass
class EnrolmentWindow(FaceWindow):
    """A ``FaceWindow`` that describes every usable frame and ends once the views spread."""

    def _wants_capture(self, ts: float) -> bool:
        return len(self.captures) < MAX_CAPTURES

    def views(self) -> tuple[list[int], float]:
        """The captures picked for the template and their spread in degrees."""
        if len(self.captures) < 3:
            return list(range(len(self.captures))), 0.0
        raw = [(c.pose.yaw_deg, c.pose.pitch_deg) for c in self.captures]
        angles = np.stack([smooth([a[0] for a in raw]), smooth([a[1] for a in raw])], axis=1)
        picked = pick_views(angles, ENROL_VIEWS)
        return [i + 1 for i in picked], spread_deg(angles[picked])  # smoothing drops one

    def ready(self) -> bool:
        picked, spread = self.views()
        return len(picked) >= MIN_ENROL_VIEWS and spread >= self.config.min_enrol_spread_deg

    def needs_turn(self, ts: float) -> bool:
        """The window is over but the views are too alike: ask for a slight turn."""
        return super().done(ts) and not self.ready()

    def done(self, ts: float) -> bool:
        if self.start_s is None:
            return False
        elapsed = ts - self.start_s
        return elapsed >= self.config.enrol_max_s or (super().done(ts) and self.ready())


def enrolment_window(config: IdentityConfig) -> EnrolmentWindow:
    return EnrolmentWindow.create(config, ENROL_VIEWS)


def template_of(window: EnrolmentWindow) -> NDArray[np.float32]:
    """The picked views' descriptors; TemplateError with a plain tip if not good enough."""
    for decisive in DECISIVE:
        if window.problems[decisive]:
            raise TemplateError(
                "enrolment saw more than one face (or the face moved away): make sure only "
                "you are in view and try again"
            )
    picked, spread = window.views()
    if len(picked) < MIN_ENROL_VIEWS:
        problem = window.main_problem().value.replace("_", " ")
        raise TemplateError(
            f"enrolment needs {MIN_ENROL_VIEWS} clear views of the face, got {len(picked)} "
            f"(mostly: {problem}); sit facing the camera in good light"
        )
    if spread < window.config.min_enrol_spread_deg:
        raise TemplateError(
            f"the views were all from the same angle ({spread:.1f}° apart, "
            f"{window.config.min_enrol_spread_deg:.0f}° needed): {TURN_TIP}"
        )
    return np.stack([window.captures[i].descriptor for i in picked])


def enrol_from(
    frames: Iterable[Frame],
    store: TemplateStore,
    seconds: float = 8.0,
    config: IdentityConfig | None = None,
) -> int:
    """Enrol from at least ``seconds`` of ``frames`` (longer while the views are too alike,
    up to ``enrol_max_s``); the number of views in the template."""
    base = config or IdentityConfig()
    limit = max(seconds, base.enrol_max_s)
    timing = {"window_s": seconds, "enrol_max_s": limit}
    window = enrolment_window(IdentityConfig.model_validate({**base.model_dump(), **timing}))
    try:
        window.fill(frames)
        template = template_of(window)
    finally:
        window.close()
    store.save(template)
    return len(template)

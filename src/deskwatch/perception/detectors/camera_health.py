"""Camera health: absolute checks (dark, uniform, blurry, frozen) and, against a baseline of
this session's healthy view, covered, defocused, moved and looping (see ``camera_view``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from deskwatch import lazy
from deskwatch.perception.base import DetectorConfig
from deskwatch.perception.camera_view import (
    CoverTest,
    Deviation,
    RepeatWatch,
    ViewStats,
    deviation,
    median_stats,
    view_stats,
)
from deskwatch.perception.observation import CAMERA_CAUSES, CameraHealth, Observation
from deskwatch.perception.registry import DetectorSpec
from deskwatch.perception.stage import Stage

if TYPE_CHECKING:
    import cv2

    from deskwatch.arrays import Image
    from deskwatch.capture.frame import Frame
else:
    cv2 = lazy.module("cv2")

MIN_BASELINE_FRAMES = 3  # however short ``baseline_s``, the median of at least this many


class CameraHealthConfig(DetectorConfig):
    type: Literal["camera_health"] = "camera_health"
    dark_max_brightness: float = Field(default=30.0, ge=0, le=255)
    uniform_max_contrast: float = Field(default=8.0, ge=0)
    blurry_max_sharpness: float = Field(default=20.0, ge=0)
    baseline_s: float = Field(
        default=5.0, gt=0, le=120, description="seconds of healthy view the baseline is learnt from"
    )
    baseline_adapt_s: float = Field(
        default=120.0, gt=0, description="time constant of the baseline's drift while healthy"
    )
    covered_min_share: float = Field(
        default=0.5, gt=0, le=1, description="share of the baseline's bright cells dark and flat"
    )
    covered_max_brightness_ratio: float = Field(default=0.6, gt=0, lt=1)
    covered_max_contrast_ratio: float = Field(default=0.5, gt=0, lt=1)
    defocused_max_sharpness_ratio: float = Field(
        default=0.35, gt=0, lt=1, description="sharpness / the baseline's, where the scene matches"
    )
    moved_max_layout_match: float = Field(
        default=0.5, gt=0, lt=1, description="share of the baseline's scene still in place"
    )
    moved_min_s: float = Field(
        default=2.0, ge=0, description="the scene stays out of place this long (not a passer-by)"
    )
    moved_rebaseline_s: float = Field(
        default=60.0, gt=0, description="a view out of place this long becomes the baseline"
    )
    loop_window_s: float = Field(
        default=60.0, gt=0, le=600, description="how far back a repeated frame is looked for"
    )


@dataclass
class _Learning:
    """The baseline being learnt: healthy frames' statistics since ``since``."""

    since: float
    samples: list[ViewStats]

    def done(self, ts: float, baseline_s: float) -> bool:
        return ts - self.since >= baseline_s and len(self.samples) >= MIN_BASELINE_FRAMES


class CameraHealthDetector:
    """Frame statistics, checked absolutely and against this session's usual view."""

    key: ClassVar[str] = "camera_health"

    def __init__(self, config: CameraHealthConfig) -> None:
        self._config = config
        self._cover = CoverTest(
            config.covered_max_brightness_ratio,
            config.covered_max_contrast_ratio,
            config.uniform_max_contrast,
            config.dark_max_brightness,
        )
        self._repeats = RepeatWatch(config.loop_window_s)
        self._previous: Image | None = None
        self._learning: _Learning | None = None
        self._baseline: ViewStats | None = None
        self._last_ts: float | None = None
        self._changed_since: float | None = None  # the scene out of place since

    def measure(self, grey: Image, ts: float) -> CameraHealth:
        """The health of one grey thumbnail at frame time ``ts`` (increasing)."""
        c = self._config
        brightness, contrast = float(grey.mean()), float(grey.std())
        sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
        frozen = self._previous is not None and np.array_equal(grey, self._previous)
        loop_age_s = self._repeats.repeat_age_s(grey, ts)
        self._previous = grey
        health = CameraHealth(
            brightness=brightness,
            contrast=contrast,
            sharpness=sharpness,
            dark=brightness < c.dark_max_brightness,
            uniform=contrast < c.uniform_max_contrast,
            blurry=sharpness < c.blurry_max_sharpness,
            frozen=frozen,
            looping=loop_age_s > 0,
            loop_period_s=loop_age_s,
        )
        health = self._against_baseline(health, view_stats(grey), ts)
        self._last_ts = ts
        return health

    def _against_baseline(self, health: CameraHealth, stats: ViewStats, ts: float) -> CameraHealth:
        """Adds the baseline's flags, then learns from or adapts to this frame."""
        absolute = health.dark or health.uniform or health.frozen or health.looping
        if self._baseline is None:
            if not absolute:
                self._learn(stats, ts)
            return health
        dev = deviation(self._baseline, stats, self._cover)
        flagged = self._flagged(health, dev, ts)
        if flagged.moved and self._changed_s(ts) >= self._config.moved_rebaseline_s:
            self._rebaseline(stats, ts)  # the view it was moved to is accepted from now
            return health
        if not flagged.obstructed and self._calm(dev):
            self._adapt(stats, ts)
        return flagged

    def _flagged(self, health: CameraHealth, dev: Deviation, ts: float) -> CameraHealth:
        c = self._config
        covered = dev.covered_share >= c.covered_min_share
        changed = not covered and dev.layout_match <= c.moved_max_layout_match
        if not changed:
            self._changed_since = None
        elif self._changed_since is None:
            self._changed_since = ts
        moved = changed and self._changed_s(ts) >= c.moved_min_s
        return replace(
            health,
            covered=covered,
            defocused=not covered and dev.sharpness_ratio <= c.defocused_max_sharpness_ratio,
            moved=moved,
            covered_share=dev.covered_share,
            sharpness_ratio=dev.sharpness_ratio,
            layout_match=dev.layout_match,
            brightness_ratio=dev.brightness_ratio,
            baseline=True,
        )

    def _changed_s(self, ts: float) -> float:
        """How long the scene has been out of place (0 when it is in place)."""
        return 0.0 if self._changed_since is None else ts - self._changed_since

    def _calm(self, dev: Deviation) -> bool:
        """Near enough to the baseline to adapt to: halfway to each flag's threshold at most,
        so a slow covering, defocus or turn cannot drag the baseline along before it flags."""
        c = self._config
        return (
            dev.covered_share < c.covered_min_share / 2
            and dev.sharpness_ratio > (1 + c.defocused_max_sharpness_ratio) / 2
            and dev.layout_match > (1 + c.moved_max_layout_match) / 2
        )

    def _learn(self, stats: ViewStats, ts: float) -> None:
        if self._learning is None:
            self._learning = _Learning(ts, [])
        self._learning.samples.append(stats)
        if self._learning.done(ts, self._config.baseline_s):
            self._baseline = median_stats(self._learning.samples)
            self._learning = None

    def _adapt(self, stats: ViewStats, ts: float) -> None:
        assert self._baseline is not None
        dt = 0.0 if self._last_ts is None else ts - self._last_ts
        weight = min(1.0, max(0.0, dt) / self._config.baseline_adapt_s)
        self._baseline = self._baseline.blend(stats, weight)

    def _rebaseline(self, stats: ViewStats, ts: float) -> None:
        """The camera stayed moved: its new view is learnt afresh, starting now."""
        self._baseline, self._changed_since = None, None
        self._learning = None
        self._learn(stats, ts)

    def detect(self, frame: Frame, obs: Observation) -> None:
        obs.camera = self.measure(frame.thumbnail(), frame.ts)

    def close(self) -> None:
        self._previous = self._baseline = self._learning = None
        self._last_ts = self._changed_since = None
        self._repeats.clear()


def describe(obs: Observation) -> str | None:
    cam = obs.camera
    if cam is None:
        return None
    if cam.causes:
        return ", ".join(CAMERA_CAUSES[c] for c in cam.causes)
    return "picture looks fine" + ("" if cam.baseline else " (learning the usual view)")


DETECTOR = DetectorSpec(
    stage=Stage.CAMERA_HEALTH,
    config=CameraHealthConfig,
    factory=CameraHealthDetector,
    output="camera",
    title="camera picture check",
    describe=describe,
)

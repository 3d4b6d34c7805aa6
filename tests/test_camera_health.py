"""Camera tamper against the session's baseline: real footage stays quiet, and footage made
from its frames (a hand over the lens, defocus, a turned camera, a frozen or looping feed)
names its cause and clears once the real picture is back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache
from itertools import islice

import cv2
import numpy as np
import pytest

from deskwatch.arrays import Image, as_image
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import open_source
from deskwatch.events.event import Event
from deskwatch.perception.detectors.camera_health import (
    CameraHealthConfig,
    CameraHealthDetector,
    describe,
)
from deskwatch.perception.observation import CAMERA_CAUSES, CameraHealth, Observation
from deskwatch.rules.camera import RULE, CameraObstructedConfig, cause_words
from tests.conftest import shared_file

CLIPS = ("webcam-centre.mp4", "webcam-centre-left-centre.mp4", "people-enter-leave-room.mp4")
Alter = Callable[[int, Frame], Image | None]  # a frame's new picture, or None: unchanged


def stream(name: str) -> Iterator[Frame]:
    """A clip's frames at 2 fps, the pipeline's rate."""
    return iter(open_source(str(shared_file("data", "dev", "videos", name)), 2.0))


@cache
def _first_minute(name: str) -> tuple[Frame, ...]:
    return tuple(islice(stream(name), 120))


def frames(name: str, seconds: float = 60) -> tuple[Frame, ...]:
    """A clip's frames at 2 fps, its first ``seconds`` (a minute at most), kept for reuse."""
    return _first_minute(name)[: int(seconds * 2)]


def watch(clip: Sequence[Frame], alter: Alter, **config: float) -> list[CameraHealth]:
    det = CameraHealthDetector(CameraHealthConfig(**config))
    out = []
    for i, f in enumerate(clip):
        picture = alter(i, f)
        shown = f if picture is None else Frame(picture, f.ts, f.index)
        out.append(det.measure(shown.thumbnail(), f.ts))
    return out


def events(clip: Sequence[Frame], health: list[CameraHealth]) -> list[Event]:
    rule = RULE.build(CameraObstructedConfig(min_obstructed_s=2, end_grace_s=1))
    out: list[Event] = []
    for f, cam in zip(clip, health, strict=True):
        obs = Observation(f.ts, f.index, f.width, f.height)
        obs.camera = cam
        out += rule.update(obs, f.ts)
    return [e for e in out + rule.flush(clip[-1].ts) if not e.is_open]


def ramp(i: int, start: int, frames_: int) -> float:
    """0 before frame ``start``, rising to 1 over ``frames_`` frames."""
    return min(1.0, max(0.0, (i - start + 1) / frames_))


def during(first: int, last: int, change: Callable[[Image, int], Image]) -> Alter:
    """``change(picture, i)`` on frames ``first``..``last``; the real footage elsewhere."""
    return lambda i, f: change(f.image, i) if first <= i <= last else None


def hand(picture: Image, share: float) -> Image:
    """A dark, soft, hand-shaped blob over the lens coming in from the right."""
    h, w = picture.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cx, cy = int(w * (1.3 - 0.9 * share)), int(h * 0.55)
    palm = (int(w * 0.7 * share) + 1, int(h * 0.6 * share) + 1)
    cv2.ellipse(mask, (cx, cy), palm, 20, 0, 360, (255,), -1)
    for finger in range(4):
        centre = (cx - int(w * 0.5 * share), int(h * (0.2 + 0.15 * finger)))
        axes = (int(w * 0.35 * share) + 1, int(h * 0.05 * share) + 1)
        cv2.ellipse(mask, centre, axes, 0, 0, 360, (255,), -1)
    weight = cv2.GaussianBlur(mask, (0, 0), 9)[..., None] / 255.0
    skin_in_shadow = np.array([30.0, 35.0, 45.0])
    return as_image((picture * (1 - weight) + skin_in_shadow * weight).clip(0, 255))


def turned(picture: Image, amount: float) -> Image:
    """The camera turned: the picture shifted by a fifth of its width and rotated 15°."""
    h, w = picture.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 15 * amount, 1.0)
    m[0, 2] += 0.2 * w * amount
    return as_image(cv2.warpAffine(picture, m, (w, h), borderMode=cv2.BORDER_REFLECT))


def causes(health: list[CameraHealth], first: int, last: int) -> set[str]:
    return {c for h in health[first : last + 1] for c in h.causes}


@pytest.mark.parametrize("name", CLIPS)
def test_real_footage_raises_no_flag_and_no_event(name: str) -> None:
    clip = list(stream(name))  # the whole clip, not kept
    health = watch(clip, lambda i, f: None)
    assert causes(health, 0, len(clip)) == set()
    assert health[-1].baseline and events(clip, health) == []


def test_a_worker_filling_the_picture_who_gets_up_is_no_camera_fault() -> None:
    room = frames("people-enter-leave-room.mp4", 30)
    worker = frames("webcam-centre.mp4")

    def seated(i: int, f: Frame) -> Image | None:
        """The worker of the webcam clip pasted over the room, filling most of it, for 12 s."""
        if i >= 24:
            return None
        h, w = f.height, f.width
        x0, y0 = int(w * 0.14), int(h * 0.2)
        person = worker[i % len(worker)].image
        ph, pw = person.shape[:2]
        crop = person[int(ph * 0.1) :, int(pw * 0.05) : int(pw * 0.95)]
        picture = f.image.copy()
        picture[y0:, x0 : w - x0] = cv2.resize(crop, (w - 2 * x0, h - y0))
        return as_image(picture)

    health = watch(room, seated)
    assert causes(health, 0, len(room)) == set()  # the room behind is no moved camera
    assert np.median([h.layout_match for h in health[24:]]) > 0.7  # its border still matches


CENTRE_LEFT = "webcam-centre-left-centre.mp4"  # 31 frames: baseline 0-5.5 s, changes from 6 s


@pytest.mark.parametrize(
    ("cause", "change", "measure", "limit"),
    [
        ("covered", lambda p, i: hand(p, ramp(i, 12, 6)), "covered_share", (0.5, 1.0)),
        ("defocused", lambda p, i: cv2.GaussianBlur(p, (0, 0), 0.5 + 5 * ramp(i, 12, 6)),
         "sharpness_ratio", (0.0, 0.35)),
        ("moved", lambda p, i: turned(p, ramp(i, 12, 6)), "layout_match", (0.0, 0.5)),
    ],
)  # fmt: skip
def test_gradual_change_names_its_cause_and_clears(
    cause: str, change: Callable[[Image, int], Image], measure: str, limit: tuple[float, float]
) -> None:
    clip = frames(CENTRE_LEFT)
    health = watch(clip, during(12, 24, change))  # over 3 s from 6 s, held to 12 s
    assert causes(health, 0, 11) == set()
    assert causes(health, 18, 24) == {cause}  # once fully changed, this cause only
    assert all(limit[0] <= getattr(h, measure) <= limit[1] for h in health[18:25])
    assert causes(health, 25, len(clip)) == set()  # the real picture is back
    (event,) = events(clip, health)
    assert event.evidence[cause] == 1.0 and cause_words(event.evidence) == CAMERA_CAUSES[cause]
    assert 6.0 <= event.start_s <= 10.5 and 12.0 <= event.end_s <= 13.0  # type: ignore[operator]


def test_a_frozen_feed_is_named_and_clears() -> None:
    clip = frames(CENTRE_LEFT)
    health = watch(clip, lambda i, f: clip[12].image if 12 <= i <= 24 else None)
    assert causes(health, 13, 24) == {"frozen"}
    assert causes(health, 25, len(clip)) == set()
    (event,) = events(clip, health)
    assert event.evidence["frozen"] == 1.0 and cause_words(event.evidence) == "frozen picture"


def test_a_looping_feed_is_named_with_its_period_and_clears() -> None:
    clip = frames(CENTRE_LEFT)  # frames 12-15 (2 s) played four times, then the real feed
    health = watch(clip, lambda i, f: clip[12 + (i - 12) % 4].image if 12 <= i <= 27 else None)
    assert causes(health, 0, 15) == set()
    assert causes(health, 16, 27) == {"looping"}
    assert [h.loop_period_s for h in health[16:28]] == pytest.approx([2.0] * 12, abs=0.1)
    assert causes(health, 28, len(clip)) == set()
    (event,) = events(clip, health)
    assert event.evidence["looping"] == 1.0
    assert event.evidence["loop_period_s"] == pytest.approx(2.0, abs=0.1)


def test_a_slow_covering_cannot_drag_the_baseline_along() -> None:
    clip = frames("people-enter-leave-room.mp4", 60)  # people walk in and out meanwhile
    fast = {"baseline_adapt_s": 10.0}  # a baseline quick to adapt, were it let
    slow = watch(clip, during(20, 100, lambda p, i: hand(p, ramp(i, 20, 60))), **fast)  # 30 s
    sudden = watch(clip, during(80, 100, lambda p, i: hand(p, 1.0)), **fast)
    assert causes(slow, 0, 19) == set()
    assert causes(slow, 80, 100) == {"covered"}
    assert slow[100].covered_share == pytest.approx(sudden[100].covered_share, abs=0.05)
    assert causes(slow, 101, len(clip)) == set()


def test_a_camera_left_turned_becomes_the_new_baseline() -> None:
    clip = frames(CENTRE_LEFT)
    moved_view = during(12, 30, lambda p, i: turned(p, 1.0))
    health = watch(clip, moved_view, moved_rebaseline_s=5, baseline_s=3)
    moved = [h.moved for h in health]
    assert not any(moved[:16]) and all(moved[17:22])  # out of place for 2 s: moved
    assert not any(moved[23:])  # out of place for 5 s: accepted as the new view
    assert not health[24].baseline and health[30].baseline  # learnt afresh in 3 s


def test_the_page_words_and_the_observation_name_the_cause() -> None:
    clip = frames(CENTRE_LEFT)
    health = watch(clip, during(12, 24, lambda p, i: hand(p, ramp(i, 12, 6))))
    obs = Observation(clip[20].ts, clip[20].index, clip[20].width, clip[20].height)
    obs.camera = health[20]
    assert describe(obs) == "covered"
    shown = obs.to_dict()["camera"]
    assert shown["covered"] is True and shown["moved"] is False and shown["covered_share"] >= 0.5
    obs.camera = health[0]
    assert describe(obs) == "picture looks fine (learning the usual view)"
    obs.camera = health[-1]
    assert describe(obs) == "picture looks fine"

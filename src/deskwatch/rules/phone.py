"""``phone_in_use``: a phone held (in or near a hand, or at the face) over most of a window.

A phone lying on the desk is not use: the cue reads only held phones (``fusion.fuse``). The
evidence accumulates over the last ``min_phone_s``: the rule fires once the phone cue has
reached ``min_confidence`` on ``min_evidence_share`` of the analysed frames of that window
(``rules.evidence``), so a missed detection or two do not reset it and a few stray ones do
not fire it. Posture alone (a hand at the ear, hands in front with the head down) is capped
at its measured precision, ``fusion.POSTURE_PRECISION`` (0.25), below the default
``min_confidence``: at the defaults posture alone never fires; a seen, held phone is needed.
"""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleSpec, Signal, SignalFn
from deskwatch.rules.evidence import EvidenceConfig, windowed


class PhoneConfig(EvidenceConfig):
    min_phone_s: float = Field(default=3.0, ge=0)
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    end_grace_s: float = Field(default=2.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        return self.min_phone_s


def make_signal(config: PhoneConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        c = obs.cues
        if c.phone < config.min_confidence:
            return None
        return Signal(c.phone, {"object": c.phone_object, "posture": c.phone_posture})

    return signal


RULE = RuleSpec(
    "phone_in_use",
    PhoneConfig,
    make_signal,
    needs=frozenset({Stage.FACE, Stage.FACE_MESH, Stage.HANDS, Stage.OBJECTS}),
    debounce=windowed,
)

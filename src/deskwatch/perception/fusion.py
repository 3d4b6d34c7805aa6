"""Fusion: object evidence and posture evidence into phone and eating cues."""

from __future__ import annotations

from deskwatch.perception.observation import Cues, Observation

HEAD_DOWN_MIN_PITCH_DEG = 15.0
AT_EAR_WEIGHT = 0.8
IN_FRONT_WEIGHT = 0.7
# The most a phone cue from posture alone (no held phone seen) may claim: the share of
# posture cues that were a phone on the validation data. ``python -m benchmarks.posture``,
# 2026-12-03, on hfuet (the one real webcam session; wallets and AirPods cases held like
# phones): posture >= 0.3 on 40 of 205 images, 10 of them phones: precision 0.25 (10/40),
# below hfuet's share of phone images (58/205 = 0.28); at the rule's 0.5 it fired on 3
# images, none a phone (0/3). So posture alone never fires at the default min_confidence.
POSTURE_PRECISION = 0.25


def phone_posture(obs: Observation) -> float:
    """The raw posture cue for a phone: a hand at the ear, or hands in front of the chest
    with the head down (before the cap; ``benchmarks.posture`` measures this one)."""
    hands, head = obs.hands, obs.head
    if hands is None or obs.face_count == 0:
        return 0.0
    head_down = head is not None and head.pitch_deg >= HEAD_DOWN_MIN_PITCH_DEG
    in_front = hands.in_front * IN_FRONT_WEIGHT if head_down else 0.0
    return max(hands.at_ear * AT_EAR_WEIGHT, in_front)


def fuse(obs: Observation) -> Cues:
    """Phone: a phone held (in or near a hand, or at the face), or the posture of one in use.

    A phone lying on the desk is not use: only ``phone_held`` counts. Posture alone is
    capped at ``POSTURE_PRECISION``, what it earned on the validation data.

    Eating/drinking: food or drink objects, or a hand at the mouth. Each source keeps its
    own confidence; the fused cue is the strongest, with posture discounted because it is
    weaker evidence than a seen object.
    """
    hands, objects = obs.hands, obs.objects
    phone_object = objects.phone_held if objects else 0.0
    posture = min(phone_posture(obs), POSTURE_PRECISION)
    eating_posture = 0.0
    if hands is not None and obs.face_count > 0:
        eating_posture = hands.at_mouth * 0.6
    eating_object = max(objects.food, objects.drink) if objects else 0.0
    if eating_object and eating_posture:
        eating_posture = max(eating_posture, 0.9)
    return Cues(
        phone=max(phone_object, posture),
        phone_object=phone_object,
        phone_posture=posture,
        eating=max(eating_object * 0.45, eating_posture),  # an object alone never fires
        eating_object=eating_object,
        eating_posture=eating_posture,
    )

"""Fusion: object evidence and posture evidence into phone and eating cues."""

from __future__ import annotations

from deskwatch.perception.observation import Cues, Observation

HEAD_DOWN_MIN_PITCH_DEG = 15.0


def fuse(obs: Observation) -> Cues:
    """Phone: a phone object, or hand at the ear, or hands in front with the head down.

    Eating/drinking: food or drink objects, or a hand at the mouth. Each source keeps its
    own confidence; the fused cue is the strongest, with posture discounted because it is
    weaker evidence than a seen object.
    """
    hands, head, objects = obs.hands, obs.head, obs.objects
    phone_object = objects.phone if objects else 0.0
    phone_posture = 0.0
    eating_posture = 0.0
    if hands is not None and obs.face_count > 0:
        head_down = head is not None and head.pitch_deg >= HEAD_DOWN_MIN_PITCH_DEG
        phone_posture = max(hands.at_ear * 0.8, hands.in_front * 0.7 if head_down else 0.0)
        eating_posture = hands.at_mouth * 0.6
    eating_object = max(objects.food, objects.drink) if objects else 0.0
    if eating_object and eating_posture:
        eating_posture = max(eating_posture, 0.9)
    return Cues(
        phone=max(phone_object, phone_posture),
        phone_object=phone_object,
        phone_posture=phone_posture,
        eating=max(eating_object * 0.45, eating_posture),  # an object alone never fires
        eating_object=eating_object,
        eating_posture=eating_posture,
    )

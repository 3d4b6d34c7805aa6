"""An event's evidence in plain words, for the person who decides whether it happened.

Each rule's evidence keys (``deskwatch.rules``) get a sentence a reviewer reads at a
glance; a key no sentence knows is shown as ``its words: value``, never dropped."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from deskwatch.rules.camera import cause_words

Evidence = Mapping[str, float]
Words = Callable[[Evidence, float | None], tuple[list[str], set[str]]]
IDENTITY_REASONS = {
    "reason_no_face": "no face in view",
    "reason_dark": "too dark to see the face",
    "reason_too_far": "the face was too far from the camera",
    "reason_turned_away": "the face was turned away",
    "reason_multiple_faces": "more than one face in view",
    "reason_face_changed": "the face jumped elsewhere in the picture",
    "liveness_failed": "no sign of a live face (a photo or a video?)",
    "camera_frozen": "the camera's picture was frozen",
    "not_enrolled": "the worker has no enrolled face yet",
}


def duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``: how long, in the units people read (the pages'
    ``duration`` filter; empty for None)."""
    if seconds is None:
        return ""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def how_long(seconds: float | None) -> str:
    """``duration``, or ``a while (still going on)`` for an event not yet over."""
    return duration(seconds) if seconds is not None else "a while (still going on)"


def _share(x: float) -> str:
    return f"{x:.0%}"


def _away(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    out = [f"no face in view for {how_long(length)}"]
    if "motion" in e:
        out.append(f"movement in {_share(e['motion'])} of the picture")
    return out, {"faces", "motion"}


def _phone(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    out = []
    if e.get("object"):
        out.append(f"a phone held in a hand or near the face (detector {_share(e['object'])} sure)")
    if e.get("posture"):
        out.append(
            "a posture like phone use: hand at the ear or head down over the hands "
            f"(posture cue {_share(e['posture'])})"
        )
    if not out:
        out.append("a held phone was seen")
    return [*out, f"for {how_long(length)}"], {"object", "posture"}


def _eating(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    out = []
    if e.get("object"):
        out.append(f"food or a drink in view (detector {_share(e['object'])} sure)")
    if e.get("posture"):
        out.append(f"a hand at the mouth (posture cue {_share(e['posture'])})")
    return [*out, f"for {how_long(length)}"], {"object", "posture"}


def _extra_person(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    people = round(e.get("persons", 2))
    faces = round(e.get("faces", 0))
    said = f"{people} people in view ({faces} face{'' if faces == 1 else 's'} seen)"
    return [said, f"for {how_long(length)}"], {"persons", "faces"}


def _camera(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    causes = cause_words(e) or "cannot be trusted to show the desk"
    # Its other keys are the causes' flags and the frame measures behind them.
    return [f"camera: {causes}", f"for {how_long(length)}"], set(e) - {"low_confidence"}


def _measured(
    e: Evidence, length: float | None, parts: Mapping[str, Callable[[float], str]]
) -> tuple[list[str], set[str]]:
    """A sentence part for each measure present, in order, then how long."""
    out = [say(e[key]) for key, say in parts.items() if key in e]
    return [*out, f"for {how_long(length)}"], set(parts)


LOOKING_AWAY: dict[str, Callable[[float], str]] = {
    "gaze_yaw_deg": lambda v: f"eyes turned {abs(v):.0f}° to the side",
    "head_yaw_deg": lambda v: f"head turned {abs(v):.0f}°",
    "pitch_deg": lambda v: f"head tilted {abs(v):.0f}° up or down",
}
NOISE: dict[str, Callable[[float], str]] = {
    "level_dbfs": lambda v: f"room sound at {v:.0f} dBFS",
    "floor_dbfs": lambda v: f"against a quiet floor of {v:.0f} dBFS",
}
VOICE: dict[str, Callable[[float], str]] = {
    "speech_ratio": lambda v: f"speech in {_share(v)} of the sound",
    "mouth_motion": lambda v: f"while the worker's mouth barely moved ({v:.2f})",
    "level_dbfs": lambda v: f"at {v:.0f} dBFS",
}


def _looking_away(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    return _measured(e, length, LOOKING_AWAY)


def _noise(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    return _measured(e, length, NOISE)


def _voice(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    return _measured(e, length, VOICE)


def _identity(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    out = []
    if e.get("method_password"):
        out.append("confirmed by password")
    if "distance" in e:
        out.append(f"face distance {e['distance']:.2f} to the enrolled face (0 is identical)")
    if "liveness" in e:
        out.append(f"liveness score {e['liveness']:.2f}")
    if "challenge_s" in e:
        out.append(f"asked to turn the head or blink for {how_long(e['challenge_s'])}")
    out += [words for key, words in IDENTITY_REASONS.items() if e.get(key)]
    known = {"method_face", "method_password", "distance", "liveness", "challenge_s"}
    return out, known | set(IDENTITY_REASONS)


def _self_check(e: Evidence, length: float | None) -> tuple[list[str], set[str]]:
    passed = e.get("passed")
    said = "the camera self-check passed" if passed else "the camera self-check failed"
    return [said], {"passed"}


WORDS: dict[str, Words] = {
    "away": _away,
    "phone_in_use": _phone,
    "eating_drinking": _eating,
    "extra_person": _extra_person,
    "camera_obstructed": _camera,
    "looking_away": _looking_away,
    "background_noise": _noise,
    "other_voice": _voice,
    "identity_verified": _identity,
    "identity_mismatch": _identity,
    "identity_unverified": _identity,
    "self_check": _self_check,
}


def _number(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


def evidence_words(kind: str, evidence: Evidence, length_s: float | None) -> list[str]:
    """What the detectors saw, one plain sentence part each (``low_confidence`` last)."""
    said, known = WORDS[kind](evidence, length_s) if kind in WORDS else ([], set())
    rest = sorted(set(evidence) - known - {"low_confidence"})
    said += [f"{key.replace('_', ' ')}: {_number(evidence[key])}" for key in rest]
    if evidence.get("low_confidence"):
        said.append("recorded after a failed camera self-check: less reliable")
    return said

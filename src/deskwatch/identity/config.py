"""The policy's ``[identity]`` section: off unless a team turns it on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IdentityConfig(BaseModel):
    """When and how strictly identity is checked; every threshold names its unit."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=False, description="run identity checks at all")
    every_min: float = Field(
        default=120.0, gt=0, description="re-check this often during a shift (minutes)"
    )
    max_distance: float = Field(
        default=0.55,
        gt=0,
        le=2,
        description="largest descriptor distance that is the same person (dlib's usual is "
        "0.6; 0.55 had no false accept on the dev footage, see benchmarks/identity.py)",
    )
    window_s: float = Field(
        default=8.0,
        gt=0,
        le=60,
        description="seconds of frames the passive part of a check (and enrolment) looks at; "
        "a liveness cue must leave and come back within this long",
    )
    challenge_s: float = Field(
        default=30.0,
        ge=0,
        le=120,
        description="the passive part saw the worker's face (or one not yet compared) but no "
        "liveness cue: the page asks for a slight head turn or a blink and the check keeps "
        "watching for at most this long (seconds of source time; 0: no challenge)",
    )
    descriptor_frames: int = Field(
        default=3, ge=1, le=10, description="frames turned into a face descriptor per check"
    )
    min_turn_deg: float = Field(
        default=8.0,
        gt=0,
        description="liveness: a head turn or nod (yaw or pitch, degrees) away and back that "
        "counts, held for two analysed frames",
    )
    min_gaze_shift_deg: float = Field(
        default=8.0, gt=0, description="liveness: a look aside and back (eye yaw, degrees)"
    )
    min_blink_drop: float = Field(
        default=0.4,
        gt=0,
        lt=1,
        description="liveness: eyelid gap falling by this share of its median and opening "
        "again counts as a blink",
    )
    min_cue_px: float = Field(
        default=3.0,
        gt=0,
        description="liveness: an eye cue (look aside, blink) counts only on faces large enough "
        "that it moves the iris or eyelid by at least this many pixels",
    )
    min_face_px: int = Field(
        default=60, ge=20, description="narrower faces (pixels) are too far away"
    )
    min_brightness: float = Field(
        default=40.0, ge=0, le=255, description="darker faces (mean grey level) cannot be checked"
    )
    max_yaw_deg: float = Field(
        default=30.0, gt=0, le=90, description="faces turned further away are not compared"
    )
    min_enrol_spread_deg: float = Field(
        default=5.0,
        gt=0,
        le=45,
        description="enrolment: the captures' head yaw/pitch must span at least this many "
        "degrees (slightly different angles)",
    )
    enrol_max_s: float = Field(
        default=30.0,
        gt=0,
        le=120,
        description="enrolment keeps asking for a slight turn for at most this long (seconds)",
    )
    password_wait_min: float = Field(
        default=10.0, gt=0, description="how long a password re-confirmation waits for an answer"
    )

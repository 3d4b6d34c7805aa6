"""The policy's ``[analysis]`` section: how often frames are analysed, how the gate saves work."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AnalysisConfig(BaseModel):
    """How often frames are analysed and how the gate saves work."""

    model_config = ConfigDict(extra="forbid")

    fps: float = Field(default=2.0, gt=0, le=30, description="analysed frames per source second")
    full_check_every_s: float = Field(
        default=5.0, gt=0, description="run every enabled stage at least this often"
    )
    motion_threshold: float = Field(
        default=0.01, ge=0, le=1, description="changed share of the picture that counts as motion"
    )
    face_motion_threshold: float = Field(
        default=0.04,
        ge=0,
        le=1,
        description="changed share of the face region that re-runs face mesh and hands",
    )

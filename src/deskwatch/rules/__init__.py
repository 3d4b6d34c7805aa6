"""The rule set: configs, and ``build_rules`` to instantiate the enabled ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.events.event import EventType
from deskwatch.rules import (
    away,
    background_noise,
    camera,
    eating,
    extra_person,
    looking_away,
    other_voice,
    phone,
)
from deskwatch.rules.away import AwayConfig
from deskwatch.rules.background_noise import BackgroundNoiseConfig
from deskwatch.rules.base import Rule, RuleConfig, SignalFn, SustainedRule
from deskwatch.rules.camera import CameraObstructedConfig
from deskwatch.rules.eating import EatingConfig
from deskwatch.rules.extra_person import ExtraPersonConfig
from deskwatch.rules.looking_away import LookingAwayConfig
from deskwatch.rules.other_voice import OtherVoiceConfig
from deskwatch.rules.phone import PhoneConfig


class RulesConfig(BaseModel):
    """One section per rule, named as the event it produces."""

    model_config = ConfigDict(extra="forbid")

    away: AwayConfig = Field(default_factory=AwayConfig)
    phone_in_use: PhoneConfig = Field(default_factory=PhoneConfig)
    extra_person: ExtraPersonConfig = Field(default_factory=ExtraPersonConfig)
    camera_obstructed: CameraObstructedConfig = Field(default_factory=CameraObstructedConfig)
    looking_away: LookingAwayConfig = Field(default_factory=LookingAwayConfig)
    eating_drinking: EatingConfig = Field(default_factory=EatingConfig)
    background_noise: BackgroundNoiseConfig = Field(default_factory=BackgroundNoiseConfig)
    other_voice: OtherVoiceConfig = Field(default_factory=OtherVoiceConfig)


_SIGNALS: dict[str, Callable[[Any], SignalFn]] = {
    "away": away.make_signal,
    "phone_in_use": phone.make_signal,
    "extra_person": extra_person.make_signal,
    "camera_obstructed": camera.make_signal,
    "looking_away": looking_away.make_signal,
    "eating_drinking": eating.make_signal,
    "background_noise": background_noise.make_signal,
    "other_voice": other_voice.make_signal,
}


def build_rules(config: RulesConfig, origin: datetime | None = None) -> list[Rule]:
    """The enabled rules, in a fixed order."""
    rules: list[Rule] = []
    for name, make_signal in _SIGNALS.items():
        rule_config: RuleConfig = getattr(config, name)
        if rule_config.enabled:
            event_type: EventType = name  # type: ignore[assignment]
            rules.append(
                SustainedRule(
                    event_type,
                    make_signal(rule_config),
                    rule_config.min_duration_s,
                    rule_config.end_grace_s,
                    origin,
                )
            )
    return rules


__all__ = ["Rule", "RulesConfig", "build_rules"]

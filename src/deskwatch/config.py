"""The policy: analysis rate, detectors and rule thresholds, loaded from TOML.

Its sections come from where they are used: ``[analysis]`` from gating, each
``[detectors.*]`` from its detector's module, each ``[rules.*]`` from its rule's module
(both through their registries), ``[identity]`` from the identity check. Reading a policy
loads no model library, so the server validates policies with this same schema.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deskwatch.errors import PolicyError
from deskwatch.gating.config import AnalysisConfig
from deskwatch.identity.config import IdentityConfig
from deskwatch.perception.base import DetectorConfig
from deskwatch.perception.registry import default_configs, detectors
from deskwatch.rules.registry import RulesConfig

if TYPE_CHECKING:
    AnyDetectorConfig = DetectorConfig
else:  # every registered detector's config, told apart by ``type``
    AnyDetectorConfig = Annotated[
        Union[tuple(s.config for s in detectors().values())],  # noqa: UP007
        Field(discriminator="type"),
    ]

FORBIDDEN_WORDS = ("emotion", "sentiment", "affect", "mood")


class Policy(BaseModel):
    """A team's monitoring policy. Unknown keys are refused, naming the key."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=1, ge=1)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    detectors: dict[str, AnyDetectorConfig] = Field(default_factory=default_configs)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)

    def watches_anything(self) -> bool:
        """Whether any rule or the identity check is on: if none, no camera is needed."""
        return self.identity.enabled or bool(self.rules.enabled())

    @field_validator("detectors", mode="before")
    @classmethod
    def _merge_detectors(cls, value: Any) -> Any:
        """Sections name their detector; given sections replace the defaults of that name."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = dict(default_configs())
        for name, section in value.items():
            if isinstance(section, dict):
                section = {"type": name, **section}
                if section["type"] != name:
                    raise ValueError(f"detector section {name!r} has type {section['type']!r}")
            merged[name] = section
        return merged


def _refuse_emotion(data: Any, path: str = "") -> None:
    """No emotion recognition, ever (EU AI Act Art. 5(1)(f)): refuse configs that ask."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if any(word in str(key).lower() for word in FORBIDDEN_WORDS):
                raise PolicyError(f"{where}: emotion recognition is not available in deskwatch")
            _refuse_emotion(value, where)
    elif isinstance(data, str) and any(word in data.lower() for word in FORBIDDEN_WORDS):
        raise PolicyError(f"{path}: emotion recognition is not available in deskwatch")


def policy_from_dict(data: dict[str, Any]) -> Policy:
    _refuse_emotion(data)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_describe(exc)) from None


def load_policy_text(text: str) -> Policy:
    """Parse and validate a policy from TOML text; PolicyError says what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy is not valid TOML: {exc}") from None
    return policy_from_dict(data)


def load_policy(path: Path | None) -> Policy:
    if path is None:
        return Policy()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from None
    return load_policy_text(text)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return "invalid policy: " + "; ".join(parts)

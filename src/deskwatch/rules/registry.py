"""The rule registry: every module in ``rules/`` that declares a ``RULE`` spec.

The policy's ``[rules.*]`` sections, the rules a pipeline builds, which detectors each rule
needs and which rules listen to room audio are all derived from these specs. Rules run
(and their sections are listed) in the order of the event vocabulary (``EVENT_TYPES``).
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from deskwatch.events.event import EVENT_TYPES
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import Rule, RuleConfig, RuleSpec


def _discover() -> dict[str, RuleSpec]:
    import deskwatch.rules as package

    specs = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        spec = getattr(module, "RULE", None)
        if isinstance(spec, RuleSpec):
            specs.append(spec)
    specs.sort(key=lambda s: EVENT_TYPES.index(s.event_type))
    return {s.event_type: s for s in specs}


RULES: dict[str, RuleSpec] = _discover()
# Which detectors each rule (named as its event) reads, and the rules that read room audio.
RULE_NEEDS: dict[str, frozenset[Stage]] = {t: s.needs for t, s in RULES.items()}
AUDIO_RULES = frozenset(t for t, s in RULES.items() if s.audio)


class RulesBase(BaseModel):
    """One section per rule, named as the event it produces (fields come from ``RULES``)."""

    model_config = ConfigDict(extra="forbid")

    def of(self, event_type: str) -> RuleConfig:
        """The section of the rule that produces ``event_type``."""
        section: RuleConfig = getattr(self, event_type)
        return section

    def enabled(self) -> list[str]:
        """The event types of the rules that are on, in order."""
        return [t for t in RULES if self.of(t).enabled]

    if TYPE_CHECKING:  # the sections are fields made from the registry

        def __getattr__(self, name: str) -> Any: ...


if TYPE_CHECKING:
    RulesConfig = RulesBase
else:
    RulesConfig = create_model(
        "RulesConfig",
        __base__=RulesBase,
        __doc__=RulesBase.__doc__,
        **{t: (s.config, Field(default_factory=s.config)) for t, s in RULES.items()},
    )


def build_rules(config: RulesBase, origin: datetime | None = None) -> list[Rule]:
    """The enabled rules, in the registry's order."""
    return [RULES[t].build(config.of(t), origin) for t in config.enabled()]

"""The rooms of the code: what the registries derive, what the server loads, how large one
piece may grow."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import get_args

import deskwatch
from deskwatch.config import AnyDetectorConfig, Policy, policy_from_dict
from deskwatch.events.event import EVENT_TYPES
from deskwatch.perception.observation import Observation
from deskwatch.perception.registry import detectors
from deskwatch.perception.stage import Stage
from deskwatch.privacy.categories import CATEGORIES, UNCATEGORISED
from deskwatch.rules.registry import AUDIO_RULES, RULE_NEEDS, RULES, RulesConfig

SRC = Path(deskwatch.__file__).parent
MODEL_LIBRARIES = ("mediapipe", "cv2", "onnxruntime")
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 250


def test_importing_the_server_app_loads_no_model_library() -> None:
    code = (
        "import sys, deskwatch.server.app\n"
        f"print(','.join(m for m in {MODEL_LIBRARIES!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_stages_detectors_and_the_policy_union_match() -> None:
    specs = detectors()
    assert set(specs) == set(Stage)  # one module per stage, one stage per module
    union = get_args(get_args(AnyDetectorConfig)[0])
    assert set(union) == {s.config for s in specs.values()}
    for key, spec in specs.items():
        assert spec.stage == key and spec.config.model_fields["type"].default == key
        required = {n: "x.onnx" for n, f in spec.config.model_fields.items() if f.is_required()}
        parsed = policy_from_dict({"detectors": {key: {"type": key, **required}}})
        assert type(parsed.detectors[key]) is spec.config
        assert spec.output in {f.name for f in dataclasses.fields(Observation)}
        assert spec.reads <= set(Stage)
    assert set(Policy().detectors) == {k for k, s in specs.items() if s.default_on}


def test_rules_the_policy_and_the_categories_match() -> None:
    assert set(RulesConfig.model_fields) == set(RULES)
    assert list(RULES) == [t for t in EVENT_TYPES if t in RULES]  # vocabulary order
    for event_type, needs in RULE_NEEDS.items():
        assert needs <= set(Stage), event_type
    assert set(AUDIO_RULES) <= set(RULES)
    categorised = {t for c in CATEGORIES.values() for t in c.event_types}
    assert set(RULES) <= categorised  # every rule's events have a purpose and retention
    assert categorised | UNCATEGORISED <= set(EVENT_TYPES)


def _too_large(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            lines = (node.end_lineno or first) - first + 1
            limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            if lines > limit:
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_over_60_lines_and_no_class_over_250() -> None:
    paths = [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]
    assert [f for p in paths for f in _too_large(p)] == []

"""The server's imports go one direction: infra < domains < wiring < routes < the top.

Parsed from the source (``ast``), so a lazy import inside a function counts as well."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).parents[2] / "src" / "deskwatch" / "server"
PREFIX = "deskwatch.server"

INFRA = (
    "errors",
    "bounds",
    "keyfiles",
    "settings",
    "db",
    "periodic",
    "reload",
    "probe",
    "security",
    "live",
    "ops.metrics",  # counted in every layer; imports nothing of the server
    "ops.logs",
)
DOMAINS = (
    "audit",
    "orgs",
    "auth",
    "devices",
    "privacy",
    "identity",
    "events",
    "integrations",
    "snapshots",
    "policies",
    "schedules",  # below status (the board shows the schedule) and reports (adherence)
    "status",
    "reviews",
    "reports",
    "requests",
    "dpia",
    "web",
)
WIRING = ("deps", "flows", "caches", "scheduled", "openapi")
TOP = ("models", "migrations", "migrate", "ops", "app", "users_cli", "cli")
# What the server may import from outside itself: plain data and the policy's schema.
SERVER_MAY_IMPORT = {"config", "console", "errors", "events", "files", "privacy", "rules"}
APP_STATE_READERS = ("app", "deps")


def _name(path: Path) -> str:
    parts = path.relative_to(SERVER).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SERVER.rglob("*.py")):
        if "migrations" in path.parts[len(SERVER.parts) :]:
            continue
        yield _name(path), ast.parse(path.read_text(encoding="utf-8"))


def _is_module(dotted: str) -> bool:
    base = SERVER.joinpath(*dotted.split(".")) if dotted else SERVER
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(tree: ast.Module) -> Iterator[str]:
    """Every deskwatch module imported (``from pkg import module`` names the module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("deskwatch"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("deskwatch"):
                continue
            yield node.module
            if node.module == PREFIX or node.module.startswith(PREFIX + "."):
                inner = node.module.removeprefix(PREFIX).lstrip(".")
                for alias in node.names:
                    dotted = f"{inner}.{alias.name}" if inner else alias.name
                    if _is_module(dotted):
                        yield f"{PREFIX}.{dotted}"


def _routes(name: str) -> bool:
    """A route module: a domain's ``routes``, or a web page (every web module but schemas)."""
    parts = name.split(".")
    if parts[0] == "web":
        return len(parts) > 1 and parts[-1] != "schemas"
    return parts[-1] == "routes"


def rank(name: str) -> tuple[int, int]:
    """Lower ranks are imported by higher ones, never the other way."""
    head = name.split(".")[0]
    if head in INFRA or name in INFRA:
        return (0, 0)
    if head in DOMAINS:
        return (3 if _routes(name) else 1, DOMAINS.index(head))
    if head in WIRING:
        return (2, WIRING.index(head))
    if head in TOP:
        return (4, TOP.index(head))
    if name == "":
        return (5, 0)
    raise AssertionError(f"server module {name!r} has no layer: add it to test_layers")


def test_every_module_has_a_layer() -> None:
    for name, _ in _modules():
        rank(name)


def test_imports_go_one_direction() -> None:
    wrong = []
    for name, tree in _modules():
        for imported in _imports(tree):
            if not imported.startswith(PREFIX + "."):
                continue
            other = imported.removeprefix(PREFIX + ".")
            if rank(other) > rank(name):
                wrong.append(f"{name} imports {other}")
    assert wrong == []


def _reads_app_state(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "state"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "app"
        for node in ast.walk(tree)
    )


def test_the_server_imports_no_edge_code() -> None:
    wrong = {
        f"{name} imports {imported}"
        for name, tree in _modules()
        for imported in _imports(tree)
        if imported.split(".")[1] not in {"server", *SERVER_MAY_IMPORT}
    }
    assert wrong == set()


def test_app_state_is_read_only_in_app_and_deps() -> None:
    readers = [name for name, tree in _modules() if _reads_app_state(tree)]
    assert set(readers) <= set(APP_STATE_READERS), readers


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_has_schemas(domain: str) -> None:
    assert (SERVER / domain / "schemas.py").exists()


def test_services_take_keywords() -> None:
    """A domain service that takes a session takes everything else by keyword."""
    wrong = []
    for path in sorted(SERVER.glob("*/service.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            positional = [a.arg for a in node.args.posonlyargs + node.args.args]
            if positional[:1] == ["session"] and len(positional) > 1:
                wrong.append(f"{_name(path)}.{node.name}")
    assert wrong == []

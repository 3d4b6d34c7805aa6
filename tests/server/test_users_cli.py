"""``deskwatch users``: the real command in a fresh process, on SQLite and PostgreSQL, then a
real app that the new admin signs in to."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from deskwatch.server.app import create_app
from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.orgs.service import create_site, create_team
from deskwatch.server.settings import Settings
from tests.server.conftest import postgres_schema

PASSWORD = "a long enough password"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no server has touched yet (the command migrates it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with postgres_schema("dw_users") as engine:
        yield engine.url.render_as_string(hide_password=False)


def _cli(
    tmp_path: Path, url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "160",
        "DESKWATCH_SECRET_KEY_FILE": str(tmp_path / "secret"),
        "DESKWATCH_DATABASE_URL": url,
    }
    return subprocess.run(
        [sys.executable, "-m", "deskwatch", "users", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _add(
    tmp_path: Path, url: str, *args: str, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    """``deskwatch users add *args``, the password given on standard input."""
    return _cli(tmp_path, url, "add", *args, "--password-stdin", stdin=password + "\n")


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _refused(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 2, result.stdout
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        database_url=url,
        secret_key_file=tmp_path / "secret",
        heartbeat_flush_s=0,
        cache_refresh_s=0,
        purge_every_s=0,
    )


def _login(client: TestClient, username: str, password: str = PASSWORD) -> int:
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    if reply.status_code == 200:
        client.headers["x-csrf-token"] = reply.json()["csrf_token"]
    return int(reply.status_code)


def _team(tmp_path: Path, url: str) -> int:
    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as s:
            return create_team(s, site=create_site(s, name="Leeds"), name="Alpha").id
    finally:
        engine.dispose()


def _audit(tmp_path: Path, url: str) -> list[tuple[int | None, str, str, dict[str, object]]]:
    engine = make_engine(url)
    chain = AuditChain.from_settings(Settings(secret_key_file=tmp_path / "secret"), create=False)
    try:
        with attach(session_factory(engine), chain)() as s:
            rows = s.execute(
                select(
                    AuditEntry.actor_id, AuditEntry.action, AuditEntry.subject, AuditEntry.detail
                ).order_by(AuditEntry.id)
            )
            return [(a, b, c, d) for a, b, c, d in rows]
    finally:
        engine.dispose()


def test_a_fresh_server_gets_its_first_admin_who_signs_in(tmp_path: Path, url: str) -> None:
    added = _add(tmp_path, url, "admin", "--role", "admin", "--display-name", "Ada")
    assert "added admin admin" in _ok(added)
    app = create_app(_settings(tmp_path, url), migrate=False)
    with TestClient(app) as client:
        assert _login(client, "admin") == 200
        me = client.get("/api/v1/auth/me").json()
        assert me["role"] == "admin"
    listed = _ok(_cli(tmp_path, url, "list"))
    assert "admin" in listed and "Ada" in listed and "yes" in listed
    assert (None, "user:created", "user:1", {"role": "admin", "via": "cli"}) in _audit(
        tmp_path, url
    )
    assert _ok(_cli(tmp_path, url, "--help"))  # the sub-app lists its commands


def test_agents_roles_disable_and_reset_end_sessions(tmp_path: Path, url: str) -> None:
    _ok(_add(tmp_path, url, "admin", "--role", "admin"))
    team_id = _team(tmp_path, url)
    _ok(_add(tmp_path, url, "ann", "--team", "Alpha"))
    _ok(_add(tmp_path, url, "bob", "--team", str(team_id)))
    listed = _ok(_cli(tmp_path, url, "list"))
    assert listed.count("Alpha") == 2
    app = create_app(_settings(tmp_path, url), migrate=False)
    with TestClient(app) as ann, TestClient(app) as bob:
        assert _login(ann, "ann") == 200 and _login(bob, "bob") == 200
        assert "switched off, 1 session(s) ended" in _ok(_cli(tmp_path, url, "disable", "ann"))
        assert ann.get("/api/v1/auth/me").status_code == 401
        assert _login(ann, "ann") == 401
        new = "another long password"
        assert "1 session(s) ended" in _ok(
            _cli(tmp_path, url, "reset-password", "bob", "--password-stdin", stdin=new + "\n")
        )
        assert bob.get("/api/v1/auth/me").status_code == 401
        assert _login(bob, "bob") == 401 and _login(bob, "bob", new) == 200
        assert "role supervisor" in _ok(_cli(tmp_path, url, "set-role", "bob", "supervisor"))
        assert bob.get("/api/v1/auth/me").json()["role"] == "supervisor"
    actions = [
        (actor, action, detail.get("via")) for actor, action, _s, detail in _audit(tmp_path, url)
    ]
    assert (None, "auth:password_reset", "cli") in actions
    changed = [d for _a, action, _s, d in _audit(tmp_path, url) if action == "user:changed"]
    assert changed[0]["active"] == [True, False] and changed[1]["role"] == ["agent", "supervisor"]


def test_bad_input_is_one_clear_line_and_a_failure(tmp_path: Path, url: str) -> None:
    def add(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        return _add(tmp_path, url, *args, password=password)

    _ok(add("admin", "--role", "admin"))
    _refused(add("admin"), "username admin is taken")
    _refused(add("eve", "--role", "boss"), "no role 'boss'")
    _refused(add("eve", "--team", "Nowhere"), "no team 'Nowhere'")
    _refused(add("eve", password="short"), "at least 10 characters")
    _refused(_cli(tmp_path, url, "set-role", "nobody", "admin"), "no user 'nobody'")
    _refused(_cli(tmp_path, url, "disable", "nobody"), "no user 'nobody'")
    _refused(
        _cli(tmp_path, url, "reset-password", "nobody", "--password-stdin", stdin=PASSWORD + "\n"),
        "no user 'nobody'",
    )
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    _refused(_cli(tmp_path, unreachable, "list"), "cannot open the database")


def test_the_password_is_asked_twice_at_a_prompt(tmp_path: Path, url: str) -> None:
    mismatch = _cli(
        tmp_path, url, "add", "admin", "--role", "admin", stdin=f"{PASSWORD}\nsomething else\n" * 3
    )
    assert mismatch.returncode != 0 and "Traceback" not in mismatch.stderr
    twice = _cli(tmp_path, url, "add", "admin", "--role", "admin", stdin=f"{PASSWORD}\n" * 2)
    assert "added admin admin" in _ok(twice)
    assert PASSWORD not in twice.stdout + twice.stderr  # never echoed

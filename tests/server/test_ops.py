"""Operations: /healthz, /readyz, /metrics (single process and two real workers on
PostgreSQL), JSON logs, and the Grafana dashboard's metric names against a real scrape."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy import text as sa_text
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.app import create_app
from deskwatch.server.db import make_engine
from deskwatch.server.dpia.render import to_markdown
from deskwatch.server.dpia.service import build, retention_of
from deskwatch.server.dpia.text import METRICS
from deskwatch.server.migrate import upgrade
from deskwatch.server.ops.logs import JsonFormatter
from deskwatch.server.scheduled import purger
from deskwatch.server.settings import Settings
from tests.server.conftest import Clock, Org, postgres_schema
from tests.server.helpers import beat, enrol, event
from tests.server_process import ServerProcess

DASHBOARD = Path(__file__).parents[2] / "docs" / "admins" / "grafana-dashboard.json"
TOKEN = "a-scrape-token-of-some-length"
BEARER = {"authorization": f"Bearer {TOKEN}"}
PASSWORD = "a long enough password"


def _on(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_enabled": True, "metrics_token": TOKEN})


@pytest.fixture
def metrics_client(
    db: sessionmaker[Session], clock: Clock, settings: Settings
) -> Iterator[TestClient]:
    with TestClient(create_app(_on(settings), sessions=db, clock=clock)) as client:
        yield client


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value for every sample line of a scrape."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def names(text: str) -> set[str]:
    return {key.partition("{")[0] for key in samples(text)}


def test_health_and_readiness_answer_without_signing_in(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_readiness_says_why_not(tmp_path: Path) -> None:
    settings = Settings(secret_key="s", secret_key_file=tmp_path / "secret", purge_every_s=0)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(settings.model_copy(update={"database_url": url}), migrate=False)
    with TestClient(app) as client:
        empty = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert empty.status_code == 503
    assert empty.json() == {
        "status": "not ready",
        "reason": "database unavailable (OperationalError)",
    }
    old: Engine = make_engine(url)
    upgrade(old, "0007")
    old.dispose()
    with TestClient(
        create_app(settings.model_copy(update={"database_url": url}), migrate=False)
    ) as c:
        behind = c.get("/readyz")
    assert behind.status_code == 503 and "at migration 0007" in behind.json()["reason"]


def test_metrics_are_off_by_default_and_need_the_token(
    app_client: TestClient, metrics_client: TestClient
) -> None:
    assert app_client.get("/metrics", headers=BEARER).status_code == 404
    assert metrics_client.get("/metrics").status_code == 401
    wrong = metrics_client.get("/metrics", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert metrics_client.get("/metrics", headers={"authorization": TOKEN}).status_code == 401
    assert metrics_client.get("/metrics", headers=BEARER).status_code == 200


def test_a_token_is_required_to_switch_metrics_on() -> None:
    with pytest.raises(ValueError, match="metrics_token"):
        Settings(metrics_enabled=True, metrics_token="short")


def test_a_scrape_counts_events_heartbeats_and_agents_by_status(
    metrics_client: TestClient, org: Org, clock: Clock
) -> None:
    before = samples(metrics_client.get("/metrics", headers=BEARER).text)
    assert before['deskwatch_agents{state="offline"}'] == 3  # nobody has sent a heartbeat
    device = enrol(metrics_client, org.agent_a1.id)
    beat(device, "at_desk", clock.now)
    reply = device.post("/api/v1/events", json={"events": [event("phone_in_use", clock.now)]})
    assert reply.status_code == 200, reply.text
    scrape = metrics_client.get("/metrics", headers=BEARER)
    assert scrape.headers["content-type"].startswith("text/plain")
    after = samples(scrape.text)
    assert after['deskwatch_agents{state="at_desk"}'] == 1
    assert after['deskwatch_agents{state="offline"}'] == 2
    assert after["deskwatch_events_received_total"] - before["deskwatch_events_received_total"] == 1
    stored = 'deskwatch_heartbeat_seconds_count{path="stored"}'
    assert after[stored] - before[stored] == 1
    assert "deskwatch_webhook_failures_total" in after
    for person in ("agent_a1", "admin", "Agent_A1", "Alpha"):
        assert person not in scrape.text  # counts only, never who


def test_scheduled_purges_are_counted(
    db: sessionmaker[Session], settings: Settings, clock: Clock, metrics_client: TestClient
) -> None:
    key = 'deskwatch_purge_runs_total{outcome="done"}'
    before = samples(metrics_client.get("/metrics", headers=BEARER).text)[key]
    purger(db, settings, clock)._work()
    assert samples(metrics_client.get("/metrics", headers=BEARER).text)[key] == before + 1


def test_the_grafana_dashboard_uses_only_exported_metrics(
    metrics_client: TestClient, org: Org, clock: Clock
) -> None:
    beat(enrol(metrics_client, org.agent_a1.id), "at_desk", clock.now)
    exported = names(metrics_client.get("/metrics", headers=BEARER).text)
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 7
    used = {n for e in exprs for n in re.findall(r"\bdeskwatch_[a-z0-9_]+", e)}
    assert used and used <= exported, used - exported
    for family in (
        "agents",
        "heartbeat_seconds",
        "events_received",
        "heartbeat_buffer_pending",
        "purge_runs",
        "webhook_failures",
    ):
        assert any(n.startswith(f"deskwatch_{family}") for n in used), family


def test_json_log_lines_carry_only_the_message() -> None:
    record = logging.LogRecord("deskwatch.x", logging.WARNING, __file__, 1, "n=%d", (3,), None)
    record.token = "secret-value"  # an extra attribute is never written
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["logger"] == "deskwatch.x"
    assert line["message"] == "n=3" and datetime.fromisoformat(line["time"]).tzinfo == UTC
    assert "secret-value" not in json.dumps(line)


def _cli(folder: Path, url: str, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deskwatch", *args, "--password-stdin", "--database-url", url],
        env={
            **os.environ,
            "DESKWATCH_SECRET_KEY_FILE": str(folder / "server.secret"),
        },
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _device(base: str) -> httpx.Client:
    admin = httpx.Client(base_url=base, timeout=10)
    login = admin.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert login.status_code == 200, login.text
    admin.headers["x-csrf-token"] = login.json()["csrf_token"]
    code = admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": 2}).json()["code"]
    token = httpx.post(
        f"{base}/api/v1/devices/enroll", json={"code": code, "hostname": "pc"}
    ).json()["token"]
    return httpx.Client(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=10)


def test_two_workers_on_postgresql_add_up_and_log_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with postgres_schema("dw_ops") as engine:
        url = engine.url.render_as_string(hide_password=False)
        _cli(tmp_path, url, "users", "add", "admin", "--role", "admin")
        _cli(tmp_path, url, "users", "add", "ann")
        monkeypatch.setenv("DESKWATCH_METRICS_ENABLED", "true")
        monkeypatch.setenv("DESKWATCH_METRICS_TOKEN", TOKEN)
        monkeypatch.setenv("DESKWATCH_LOG_FORMAT", "json")
        monkeypatch.setenv("DESKWATCH_HEARTBEAT_FLUSH_S", "0.2")
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
        server = ServerProcess(url, tmp_path, workers=2)
        server.start(timeout_s=60)
        try:
            device = _device(server.url)
            sent = 20
            for _ in range(sent):
                with httpx.Client(base_url=server.url, headers=device.headers) as fresh:
                    now = datetime.now(UTC).isoformat()
                    reply = fresh.post(
                        "/api/v1/heartbeat", json={"status": "at_desk", "sent_at": now}
                    )
                    assert reply.status_code == 200, reply.text
            assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}
            for _ in range(6):  # whichever worker answers, it reports both workers' counts
                scrape = samples(httpx.get(f"{server.url}/metrics", headers=BEARER).text)
                beats = sum(
                    v
                    for k, v in scrape.items()
                    if k.startswith("deskwatch_heartbeat_seconds_count")
                )
                assert beats == sent
                assert scrape['deskwatch_agents{state="at_desk"}'] == 1
        finally:
            server.stop()
        lines = (tmp_path / "server.log").read_text().splitlines()
        logged = [json.loads(line) for line in lines if line.startswith("{")]
        assert any(entry["logger"].startswith("uvicorn") for entry in logged), lines[:5]
        assert not [line for line in lines if line.strip() and not line.startswith("{")]


def test_the_dpia_lists_the_metrics_as_a_recipient_while_on(
    db: sessionmaker[Session], settings: Settings, clock: Clock
) -> None:
    with db() as s:
        off = build(s, now=clock.now, retention=retention_of(settings))
        on = build(s, now=clock.now, retention=retention_of(_on(settings)))
    assert METRICS not in off.recipients
    assert on.recipients[-2] == METRICS and on.recipients[-1].who == "Nobody else"
    assert "Prometheus" in to_markdown(on)


def test_switching_an_environment_integration_is_audited_once_per_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    server = ServerProcess(url, tmp_path)

    def restart() -> None:
        server.start()
        server.stop()

    restart()
    restart()  # nothing changed: nothing more recorded
    monkeypatch.setenv("DESKWATCH_METRICS_ENABLED", "true")
    monkeypatch.setenv("DESKWATCH_METRICS_TOKEN", TOKEN)
    restart()
    engine = make_engine(url)
    with engine.connect() as c:
        rows = c.execute(
            sa_text("SELECT detail FROM audit_log WHERE action = 'config:integrations' ORDER BY id")
        ).all()
    engine.dispose()
    details = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    assert [d["metrics"] for d in details] == [False, True]
    assert all(TOKEN not in json.dumps(d) for d in details)  # never a secret

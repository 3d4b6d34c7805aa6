"""The OpenAPI document describes the errors the server really sends: every operation
documents each error status with the shape ``server/errors.py`` sends, and real error
bodies validate against what their operation documents (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient

from deskwatch.server.errors import ERRORS
from tests.server.conftest import Org, login
from tests.server.helpers import enrol

METHODS = {"get", "put", "post", "delete", "patch"}


def _documented(doc: dict[str, Any], path: str, method: str, code: int) -> Any:
    schema = doc["paths"][path][method]["responses"][str(code)]["content"]["application/json"]
    return jsonschema_rs.validator_for({**schema["schema"], "components": doc["components"]})


def test_every_operation_documents_the_errors_the_server_sends(app_client: TestClient) -> None:
    doc = app_client.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert '"loc"' not in str(doc).replace("'", '"')
    operations = [(p, m) for p, item in doc["paths"].items() for m in item if m in METHODS]
    assert len(operations) > 40
    for path, method in operations:
        documented = doc["paths"][path][method]["responses"]
        assert {str(code) for code in ERRORS} <= set(documented), (method, path)


def test_real_error_bodies_match_what_their_operation_documents(
    app_client: TestClient, org: Org
) -> None:
    doc = app_client.get("/api/openapi.json").json()
    anonymous = TestClient(app_client.app)
    agent = login(TestClient(app_client.app), "agent_a1")
    admin = login(app_client, "admin")
    device = enrol(admin, org.agent_a1.id)
    taken = {"username": "agent_a1", "password": "x" * 12}
    cases = [
        (401, "/api/v1/board", "get", anonymous.get("/api/v1/board")),
        (401, "/api/v1/events", "post", anonymous.post("/api/v1/events", json={"events": []})),
        (403, "/api/v1/admin/users", "get", agent.get("/api/v1/admin/users")),
        (404, "/api/v1/teams/{team_id}/policy", "get", admin.get("/api/v1/teams/99999/policy")),
        (
            400,
            "/api/v1/admin/users",
            "post",
            admin.post("/api/v1/admin/users", json={**taken, "role": "agent"}),
        ),
        (
            413,
            "/api/v1/events",
            "post",
            device.post("/api/v1/events", content=b"{" * (3 * 1024 * 1024)),
        ),
        (
            422,
            "/api/v1/agents/{agent_id}/events",
            "get",
            admin.get(f"/api/v1/agents/{org.agent_a1.id}/events", params={"day": "9999-12-31"}),
        ),
        (422, "/api/v1/events", "post", device.post("/api/v1/events", json={"events": [{}]})),
        (
            422,
            "/api/v1/teams/{team_id}/policy",
            "put",
            admin.put(f"/api/v1/teams/{org.team_a.id}/policy", json={"toml": "nonsense ="}),
        ),
    ]
    for code, path, method, reply in cases:
        assert reply.status_code == code, (path, reply.status_code, reply.text)
        body = reply.json()
        errors = [e.message for e in _documented(doc, path, method, code).iter_errors(body)]
        assert errors == [], (path, code, body)

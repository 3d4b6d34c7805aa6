"""Evidence stills on the server: only for enabled categories, kept sealed, at most 7 days,
seen by the worker, their team's supervisors and admins (audited), nobody else."""

from __future__ import annotations

import base64
import os
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.privacy.categories import category_of
from deskwatch.privacy.sealing import public_key_from_b64, seal
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.privacy.models import CategorySetting, Objection
from deskwatch.server.privacy.schemas import CategoryIn
from deskwatch.server.privacy.service import set_category
from deskwatch.server.settings import Settings
from deskwatch.server.snapshots.keys import KeyFileError, key_file, public_key_b64
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.snapshots.service import insert_once
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import enrol, event


def jpeg() -> bytes:
    image = np.zeros((48, 64, 3), np.uint8)
    cv2.circle(image, (32, 24), 12, (0, 200, 255), -1)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


def enable(db: sessionmaker[Session], org: Org, key: str, **change: Any) -> None:
    """An admin's change to team A's category ``key`` (through the privacy service)."""
    with db() as s:
        team, admin = s.get(Team, org.team_a.id), s.get(User, org.admin.id)
        assert team is not None and admin is not None
        change_in = CategoryIn(**change)
        set_category(
            s,
            team=team,
            key=key,
            change=change_in,
            actor=admin,
            now=Clock().now,
            max_retention_days=1095,
        )
        s.commit()


def upload(
    device: TestClient, kind: str, at: datetime, picture: bytes, *, event_id: str | None = None
) -> tuple[str, Any]:
    """Send an event (unless ``event_id`` names one) and a still sealed for it."""
    if event_id is None:
        sent = event(kind, at, length_s=None)
        assert device.post("/api/v1/events", json={"events": [sent]}).status_code == 200
        event_id = str(sent["id"])
    settings: Settings = device.app.state.settings  # type: ignore[attr-defined]
    public = public_key_from_b64(public_key_b64(settings))
    sealed = seal(picture, public, context=event_id.encode())
    body = {
        "event_id": event_id,
        "taken_at": at.isoformat(),
        "sealed": base64.b64encode(sealed).decode(),
    }
    return event_id, device.post("/api/v1/snapshots", json=body)


def reads(db: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with db() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_stored_sealed_and_seen_only_by_the_right_people(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    enable(db, org, "security", snapshot=True)
    device = enrol(app_client, org.agent_a1.id)
    picture = jpeg()
    _, reply = upload(device, "phone_in_use", clock.now, picture)
    assert reply.status_code == 200, reply.text
    stored = reply.json()
    assert not stored["duplicate"]
    with db() as s:
        row = s.get(Snapshot, stored["id"])
        assert row is not None and row.category == "security"
        assert row.sealed[:2] != b"\xff\xd8" and picture not in row.sealed
        assert row.expires_at - row.taken_at == timedelta(days=7)  # security keeps 90 days
    url = f"/api/v1/snapshots/{stored['id']}.jpg"
    listing = f"/api/v1/agents/{org.agent_a1.id}/snapshots"
    expected = {"agent_a1": 200, "sup_a": 200, "admin": 200, "agent_a2": 404, "sup_b": 404}
    expected["privacy"] = 404
    for who, code in expected.items():
        client = login(TestClient(app_client.app), who)
        image = client.get(url)
        assert image.status_code == code, (who, image.text)
        assert client.get(listing).status_code == code, who
        if code == 200:
            assert image.content == picture and image.headers["content-type"] == "image/jpeg"
            assert "no-store" in image.headers["cache-control"]
            assert client.get(listing).json()[0]["url"] == url
    viewed = reads(db, f"read:snapshot:{stored['id']}")
    assert sorted(e.actor_id or 0 for e in viewed) == sorted([org.sup_a.id, org.admin.id])
    assert all(e.subject == f"agent:{org.agent_a1.id}" for e in viewed)


def _send(device: TestClient, kind: str, at: datetime) -> str:
    sent = event(kind, at, length_s=None)
    reply = device.post("/api/v1/events", json={"events": [sent]})
    assert reply.status_code == 200 and reply.json()["new"] == 1, reply.text
    return str(sent["id"])


def test_refused_unless_the_category_has_stills_on(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    """Events sent while their category was on; each still arrives after a change."""
    device = enrol(app_client, org.agent_a1.id)
    _, off = upload(device, "phone_in_use", clock.now, jpeg())
    assert off.status_code == 403 and "off" in off.json()["detail"]
    _, never = upload(device, "away", clock.now, jpeg())  # attendance: never stills
    assert never.status_code == 403
    enable(db, org, "conduct", snapshot=True)
    enable(db, org, "security", snapshot=True)
    looking, other = (
        _send(device, "looking_away", clock.now),
        _send(device, "extra_person", clock.now),
    )
    with db() as s:
        s.add(Objection(agent_id=org.agent_a1.id, category="conduct", created_at=clock.now))
        s.commit()
    _, objected = upload(device, "looking_away", clock.now, jpeg(), event_id=looking)
    assert objected.status_code == 403 and "objected" in objected.json()["detail"]
    enable(db, org, "security", enabled=False)
    _, disabled = upload(device, "extra_person", clock.now, jpeg(), event_id=other)
    assert disabled.status_code == 403 and "off" in disabled.json()["detail"]
    with db() as s:
        assert s.scalars(select(Snapshot)).all() == []


def test_only_for_the_devices_own_sent_events(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    enable(db, org, "security", snapshot=True)
    mine, other = enrol(app_client, org.agent_a1.id), enrol(app_client, org.agent_a2.id, "pc-2")
    theirs, reply = upload(other, "phone_in_use", clock.now, jpeg())
    assert reply.status_code == 200
    _, stolen = upload(mine, "phone_in_use", clock.now, jpeg(), event_id=theirs)
    assert stolen.status_code == 404
    _, early = upload(mine, "phone_in_use", clock.now, jpeg(), event_id=str(uuid.uuid4()))
    assert early.status_code == 404 and "send the event first" in early.json()["detail"]
    enable(db, org, "security", snapshot=False)  # no still allowed at all now: the agent
    _, dropped = upload(mine, "phone_in_use", clock.now, jpeg(), event_id=str(uuid.uuid4()))
    assert dropped.status_code == 403  # stops retrying for an event that will never come


def test_size_shape_duplicates_and_expiry(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    enable(db, org, "conduct", snapshot=True, retention_days=3)
    device = enrol(app_client, org.agent_a1.id)
    event_id, reply = upload(device, "eating_drinking", clock.now, jpeg())
    assert reply.status_code == 200
    first = reply.json()
    assert datetime.fromisoformat(first["expires_at"]) == clock.now + timedelta(days=3)
    _, again = upload(device, "eating_drinking", clock.now, jpeg(), event_id=event_id)
    assert again.json() == {**first, "duplicate": True}
    big = {"event_id": event_id, "taken_at": clock.now.isoformat()}
    too_large = device.post(
        "/api/v1/snapshots", json={**big, "sealed": base64.b64encode(bytes(600_000)).decode()}
    )
    assert too_large.status_code == 413 and "at most 524288" in too_large.json()["detail"]
    plain = device.post(
        "/api/v1/snapshots", json={**big, "sealed": base64.b64encode(jpeg()).decode()}
    )
    assert plain.status_code == 422 and plain.json()["detail"][0]["field"] == "sealed"
    later = clock.now + timedelta(hours=1)
    assert device.post("/api/v1/snapshots", json={**big, "sealed": "@@"}).status_code == 422
    _, future = upload(device, "eating_drinking", later, jpeg(), event_id=event_id)
    assert future.status_code == 422
    clock.advance(3 * 24 * 3600)
    user = login(TestClient(app_client.app), "agent_a1")  # sessions end sooner than that
    assert user.get(f"/api/v1/snapshots/{first['id']}.jpg").status_code == 404
    assert user.get(f"/api/v1/agents/{org.agent_a1.id}/snapshots").json() == []


def test_server_key_is_made_once_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(secret_key="s", secret_key_file=tmp_path / "deskwatch.secret")
    first = public_key_b64(settings)
    assert first == public_key_b64(Settings(secret_key_file=tmp_path / "deskwatch.secret"))
    path = key_file(settings)
    assert path.parent == tmp_path and path.stat().st_mode & 0o777 == 0o600
    assert first not in path.read_text()  # the file holds the private key
    assert len(base64.b64decode(first)) == 32
    configured = Settings(snapshot_key=path.read_text(), secret_key_file=tmp_path / "x")
    assert public_key_b64(configured) == first


def test_server_key_made_by_racing_threads_is_one_key(tmp_path: Path) -> None:
    """Temporary names are unique (not per pid), so threads of one process, or a restart
    with the same pid (pid 1 in a container) beside a stale temporary file, never collide."""
    secret = tmp_path / "deskwatch.secret"
    stale = key_file(Settings(secret_key_file=secret))
    stale.with_name(f"{stale.name}.{os.getpid()}.tmp").write_text("left by a crash")
    start = threading.Barrier(8)
    keys: list[str] = []

    def make() -> None:
        start.wait()
        keys.append(public_key_b64(Settings(secret_key="s", secret_key_file=secret)))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "deskwatch.secret.snapshot-key",
        f"deskwatch.secret.snapshot-key.{os.getpid()}.tmp",  # the stale one, untouched
    ]


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = Settings(secret_key="s", secret_key_file=tmp_path / "deskwatch.secret")
    path = key_file(settings)
    path.write_text(base64.b64encode(bytes(range(32))).decode())
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"readable by others \(mode 0644\).*chmod 600"):
        public_key_b64(settings)
    path.chmod(0o600)
    assert len(base64.b64decode(public_key_b64(settings))) == 32


@pytest.mark.parametrize("kind", ["background_noise", "identity_mismatch", "self_check"])
def test_never_for_audio_identity_or_information(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, kind: str
) -> None:
    """Even a team row that (bypassing the settings check) turns stills on for audio and
    identity gets none: the server's own list of still categories decides."""
    with db() as s:
        for key in ("environment", "identity"):
            s.add(
                CategorySetting(
                    team_id=org.team_a.id,
                    category=key,
                    enabled=True,
                    purpose="forced on by hand in the database",
                    legal_basis="consent",
                    retention_days=30,
                    may_object=True,
                    snapshot=True,
                )
            )
        s.commit()
    device = enrol(app_client, org.agent_a1.id)
    _, reply = upload(device, kind, clock.now, jpeg())
    assert reply.status_code == 403, reply.text
    assert reply.json()["detail"] == f"no evidence stills for {category_of(kind) or kind!r} events"


def test_stills_are_hidden_from_others_after_an_objection_or_a_switch_off(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    """The worker keeps seeing their own until they expire; nobody else does."""
    enable(db, org, "conduct", snapshot=True)
    enable(db, org, "security", snapshot=True)
    device = enrol(app_client, org.agent_a1.id)
    ids = {}
    for kind in ("looking_away", "phone_in_use"):
        _, reply = upload(device, kind, clock.now, jpeg())
        assert reply.status_code == 200
        ids[kind] = reply.json()["id"]
    worker, sup = (login(TestClient(app_client.app), n) for n in ("agent_a1", "sup_a"))
    listing = f"/api/v1/agents/{org.agent_a1.id}/snapshots"

    def seen(client: TestClient) -> set[str]:
        listed = {s["id"] for s in client.get(listing).json()}
        opened = {
            i for i in ids.values() if client.get(f"/api/v1/snapshots/{i}.jpg").status_code == 200
        }
        assert listed == opened
        return listed

    assert seen(sup) == seen(worker) == set(ids.values())
    worker.put("/api/v1/me/objections/conduct", json={"objected": True})
    assert seen(sup) == {ids["phone_in_use"]} and seen(worker) == set(ids.values())
    enable(db, org, "security", snapshot=False)
    assert seen(sup) == set() and seen(login(TestClient(app_client.app), "admin")) == set()
    assert seen(worker) == set(ids.values())
    worker.put("/api/v1/me/objections/conduct", json={"objected": False})
    assert seen(sup) == {ids["looking_away"]}


def test_a_concurrent_duplicate_is_answered_with_the_first(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    """The unique event id decides between two uploads that both found no still yet."""
    enable(db, org, "security", snapshot=True)
    device = enrol(app_client, org.agent_a1.id)
    event_id, reply = upload(device, "phone_in_use", clock.now, jpeg())
    first = reply.json()["id"]
    with db() as s:
        late = Snapshot(
            id=str(uuid.uuid4()),
            event_id=event_id,
            agent_id=org.agent_a1.id,
            category="security",
            taken_at=clock.now,
            received_at=clock.now,
            expires_at=clock.now + timedelta(days=1),
            sealed=b"the second upload",
        )
        stored, duplicate = insert_once(s, row=late)
        assert duplicate and stored.id == first
        s.commit()
        assert [r.id for r in s.scalars(select(Snapshot))] == [first]


def test_agent_still_reaches_the_worker_blurred_after_its_event(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    """The real agent side (redaction models, sealing, retries) against the real app."""
    from deskwatch.agent.snapshots import SnapshotTaker
    from deskwatch.arrays import as_image
    from deskwatch.capture.frame import Frame
    from deskwatch.events.event import Event
    from deskwatch.privacy.redact import Redactor
    from deskwatch.transport.client import DeviceClient
    from tests.test_snapshot_redaction import webcam_beside_two_people

    enable(db, org, "security", snapshot=True)
    device = enrol(app_client, org.agent_a1.id)
    token = device.headers["authorization"].split()[1]
    client = DeviceClient("http://testserver", token, http=device)
    settings: Settings = app_client.app.state.settings  # type: ignore[attr-defined]
    ticks = [0.0]
    key = public_key_b64(settings)
    taker = SnapshotTaker(
        client, categories={"security"}, public_key=key, clock=lambda: ticks[0], wall=clock
    )
    phone = Event(type="phone_in_use", start_s=0, peak_confidence=0.9, started_at=clock.now)
    assert taker.consider(Frame(webcam_beside_two_people(), ts=0.0, index=0), [phone])
    taker.step()  # redact and seal
    taker.step()  # the server does not know the event yet: 404, retry later
    assert taker.waiting() == 1 and taker.notices[0].status == "sealed, will retry sending"
    client.send_events([phone.to_json_dict()])
    ticks[0] += 120
    taker.step()
    assert taker.waiting() == 0 and taker.notices[0].status == "sent"
    snapshot_id = taker.notices[0].snapshot_id
    worker = login(TestClient(app_client.app), "agent_a1")
    still = worker.get(f"/api/v1/snapshots/{snapshot_id}.jpg")
    assert still.status_code == 200 and still.content[:2] == b"\xff\xd8"
    image = as_image(cv2.imdecode(np.frombuffer(still.content, np.uint8), cv2.IMREAD_COLOR))
    assert image.shape[1] <= 640
    with Redactor() as redactor:  # only the worker's face is still a face
        assert len(redactor.find_faces(as_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))) == 1

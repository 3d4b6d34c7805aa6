"""The review queue with context: filters and paging (page and API), bulk decisions, the
note a disputed event needs, who may see what, and the audit of each look (both DBs)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.events.models import EventRecord
from deskwatch.server.reviews.measured import measured
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol, event, flashed
from tests.server.test_snapshots import enable, jpeg, upload

PHONE = {"object": 0.8, "posture": 0.0}


def _as(client: TestClient, username: str, *, follow: bool = True) -> TestClient:
    return login(TestClient(client.app, follow_redirects=follow), username)


def _send(device: TestClient, kind: str, at: datetime, **extra: Any) -> str:
    sent = event(kind, at, **extra)
    reply = device.post("/api/v1/events", json={"events": [sent]})
    assert reply.status_code == 200 and reply.json()["new"] == 1, reply.text
    return str(sent["id"])


def _ids(reply: Any) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [q["event"]["id"] for q in reply.json()]


def _cards(html: str) -> list[str]:
    return re.findall(r'<li id="review-([0-9a-f-]+)"', html)


def _state(db: sessionmaker[Session], event_id: str) -> str:
    with db() as s:
        row = s.get(EventRecord, event_id)
        assert row is not None
        return row.review


def _audit(db: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with db() as s:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(s.scalars(query))


def _dispute(app_client: TestClient, username: str, event_id: str) -> None:
    body = {"kind": "dispute", "body": "that was my calculator"}
    reply = _as(app_client, username).post(f"/api/v1/events/{event_id}/comments", json=body)
    assert reply.status_code == 201, reply.text


def _three_days(app_client: TestClient, org: Org, clock: Clock) -> dict[str, str]:
    """Pending events of team A's two workers (and one of team B) on 2 and 3 November."""
    a1, a2 = enrol(app_client, org.agent_a1.id), enrol(app_client, org.agent_a2.id, "pc-2")
    b1 = enrol(app_client, org.agent_b1.id, "pc-b")
    day1 = clock.now
    clock.advance(900)
    made = {
        "a1_phone": _send(a1, "phone_in_use", day1, evidence=PHONE),
        "a1_person": _send(a1, "extra_person", day1 + timedelta(minutes=5)),
        "a2_phone": _send(a2, "phone_in_use", day1 + timedelta(minutes=10), evidence=PHONE),
        "b1_phone": _send(b1, "phone_in_use", day1, evidence=PHONE),
        "a1_away": _send(a1, "away", day1),  # never reviewed: not in the queue
    }
    clock.advance(24 * 3600)
    cam = {"covered": 1.0, "dark": 1.0, "brightness": 3.0}
    made["a1_camera"] = _send(a1, "camera_obstructed", clock.now, evidence=cam)
    return made


def test_filters_and_paging_on_the_api_and_the_page(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    made = _three_days(app_client, org, clock)
    sup_a, sup_b = _as(app_client, "sup_a"), _as(app_client, "sup_b")
    team_a = {made[k] for k in ("a1_phone", "a1_person", "a2_phone", "a1_camera")}
    url = "/api/v1/reviews"
    assert set(_ids(sup_a.get(url))) == team_a
    assert _ids(sup_b.get(url)) == [made["b1_phone"]]
    assert _ids(sup_b.get(url, params={"agent_id": org.agent_a1.id})) == []  # not theirs
    assert _ids(sup_a.get(url, params={"agent_id": org.agent_a2.id})) == [made["a2_phone"]]
    assert _ids(sup_a.get(url, params={"type": "camera_obstructed"})) == [made["a1_camera"]]
    nov2 = {"since": "2026-11-02", "until": "2026-11-02"}
    assert set(_ids(sup_a.get(url, params=nov2))) == team_a - {made["a1_camera"]}
    assert _ids(sup_a.get(url, params={"since": "2026-11-03"})) == [made["a1_camera"]]
    assert _ids(sup_a.get(url, params={"state": "confirmed"})) == []
    pages = [_ids(sup_a.get(url, params={"per_page": 3, "page": n})) for n in range(3)]
    assert [len(p) for p in pages] == [3, 1, 0] and set(pages[0] + pages[1]) == team_a
    for bad in ({"per_page": 0}, {"per_page": 201}, {"page": -1}, {"state": "maybe"}):
        assert sup_a.get(url, params=bad).status_code == 422, bad
    assert sup_a.get(url, params={"type": "nonsense"}).status_code == 422

    _dispute(app_client, "agent_a2", made["a2_phone"])
    assert _ids(sup_a.get(url, params={"state": "disputed"})) == [made["a2_phone"]]
    assert _ids(sup_a.get(url))[0] == made["a2_phone"]  # disputed first

    page = sup_a.get("/reviews", params={"agent_id": "", "type": "", "since": "", "until": ""})
    assert page.status_code == 200 and set(_cards(page.text)) == team_a  # an empty form
    page = sup_a.get("/reviews", params={"agent_id": org.agent_a1.id, "type": "phone_in_use"})
    count = re.search(r'<p id="count"[^>]*>([^<]*)</p>', page.text)
    assert _cards(page.text) == [made["a1_phone"]] and count is not None
    assert " ".join(count.group(1).split()) == "1 event · page 1 of 1"
    assert f'<option value="{org.agent_a1.id}" selected>' in page.text
    assert "Bravo" not in page.text and "Agent_B1" not in page.text  # only sup_a's teams
    first = sup_a.get("/reviews", params={"per_page": 2})
    assert len(_cards(first.text)) == 2 and "page 1 of 2" in first.text
    assert 'href="/reviews?per_page=2&amp;page=1"' in first.text
    second = sup_a.get("/reviews", params={"per_page": 2, "page": 1})
    assert set(_cards(first.text) + _cards(second.text)) == team_a
    assert sup_a.get("/reviews", params={"per_page": 101}).status_code == 422
    assert sup_a.get("/reviews", params={"page": -1}).status_code == 422


def test_each_event_comes_with_its_evidence_detectors_timeline_and_still(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    enable(db, org, "security", snapshot=True)
    device = enrol(app_client, org.agent_a1.id)
    start = clock.now
    for status, minutes in (("at_desk", 10), ("away", 5), ("at_desk", 1)):
        for _ in range(minutes):  # a heartbeat a minute: never offline meanwhile
            beat(device, status, clock.now)
            clock.advance(60)
    clock.advance(-60)
    phone = _send(device, "phone_in_use", start + timedelta(minutes=9), evidence=PHONE)
    _, still = upload(device, "phone_in_use", clock.now, jpeg(), event_id=phone)
    assert still.status_code == 200, still.text
    camera = _send(device, "camera_obstructed", clock.now, evidence={"covered": 1.0, "dark": 0.0})
    clock.advance(60)
    sup = _as(app_client, "sup_a")

    queue = {q["event"]["id"]: q for q in sup.get("/api/v1/reviews").json()}
    item = queue[phone]
    assert item["detectors"] == ["face", "face_mesh", "hands", "objects"]
    said = "a phone held in a hand or near the face (detector 80% sure)"
    assert item["evidence_words"][0] == said
    assert item["evidence_words"][-1] == "for 40 s"
    assert item["measured"] == measured()["phone_in_use"].model_dump()
    spans = item["context"]["spans"]
    assert [s["status"] for s in spans] == ["offline", "at_desk", "away", "at_desk"]
    assert item["context"]["start"].startswith("2026-11-02T08:39:00")  # 30 min before
    assert item["snapshot"]["url"] == f"/api/v1/snapshots/{still.json()['id']}.jpg"
    assert queue[camera]["evidence_words"][0] == "camera: covered"
    assert queue[camera]["snapshot"] is None

    html = sup.get("/reviews").text
    card = html[html.index(f'id="review-{phone}"') :]
    for said in (
        "a phone held in a hand or near the face",
        "face mesh, hands, objects",
        f"{measured()['phone_in_use'].precision:.0%}",
        'class="st-away"',
        'class="mark"',
        "09:00:00–09:10:00: at desk (10 min)",
        item["snapshot"]["url"],
    ):
        assert said in card, said
    assert "covered=" not in html and "camera: covered" in html
    assert sup.get(item["snapshot"]["url"]).status_code == 200  # the link's picture
    viewed = _audit(db, f"read:snapshot:{still.json()['id']}")
    assert [e.actor_id for e in viewed] == [org.sup_a.id]  # each look is audited


def test_queue_reads_are_audited_per_agent_listed(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    _three_days(app_client, org, clock)
    sup = _as(app_client, "sup_a")
    before = len(_audit(db, "read:reviews"))
    sup.get("/reviews", params={"agent_id": org.agent_a2.id})
    sup.get("/api/v1/reviews", params={"type": "camera_obstructed"})
    sup.get("/api/v1/reviews", params={"state": "rejected"})  # nothing listed: no read
    read = _audit(db, "read:reviews")[before:]
    assert [(e.actor_id, e.subject) for e in read] == [
        (org.sup_a.id, f"agent:{org.agent_a2.id}"),
        (org.sup_a.id, f"agent:{org.agent_a1.id}"),
    ]


def test_bulk_decisions_are_single_reviews_all_or_none(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    made = _three_days(app_client, org, clock)
    sup = _as(app_client, "sup_a", follow=False)
    token = sup.headers["x-csrf-token"]
    picked = [made["a1_phone"], made["a2_phone"]]
    form = {"csrf_token": token, "decision": "rejected", "note": "a calculator", "query": ""}
    query = "state=pending&type=phone_in_use"
    reply = sup.post("/reviews", data={**form, "event_id": picked, "query": query})
    assert reply.headers["location"] == f"/reviews?{query}"  # back to the same filters
    assert flashed(sup, reply) == "2 events rejected."
    assert [_state(db, i) for i in picked] == ["rejected", "rejected"]
    reviewed = [e for e in _audit(db, "review:rejected") if e.detail["event"] in picked]
    assert sorted(e.subject for e in reviewed) == sorted(
        [f"agent:{org.agent_a1.id}", f"agent:{org.agent_a2.id}"]
    )
    with db() as s:
        row = s.get(EventRecord, made["a1_phone"])
        assert row is not None and row.review_note == "a calculator"
        assert row.reviewed_by == org.sup_a.id
    page = sup.get("/reviews", params={"state": "rejected"}).text
    assert set(_cards(page)) == set(picked) and "✗ Rejected: a calculator" in page
    assert 'name="event_id"' not in page  # nothing to decide in a decided list

    # One already decided (or unseen) in the selection: nothing of it is recorded.
    again = [made["a1_person"], made["a1_phone"]]
    said = flashed(sup, sup.post("/reviews", data={**form, "event_id": again}))
    assert said.startswith(f"Not recorded: event {made['a1_phone']}: ") and "rejected" in said
    assert _state(db, made["a1_person"]) == "pending"
    theirs = [made["a1_camera"], made["b1_phone"]]
    said = flashed(sup, sup.post("/reviews", data={**form, "event_id": theirs}))
    assert said == f"Not recorded: event {made['b1_phone']}: no such event"
    assert _state(db, made["a1_camera"]) == "pending"
    said = flashed(sup, sup.post("/reviews", data=form))
    assert said == "Not recorded: select at least one event."
    many = {**form, "event_id": [made["a1_camera"]] * 101}
    assert sup.post("/reviews", data=many).status_code == 422
    no_token = {**form, "csrf_token": "forged", "event_id": [made["a1_camera"]]}
    assert sup.post("/reviews", data=no_token).status_code == 403

    api = _as(app_client, "sup_a")
    body = {"decision": "confirmed", "event_ids": [made["a1_person"], made["a1_camera"]]}
    done = api.post("/api/v1/reviews", json=body)
    assert done.status_code == 200 and [e["review"] for e in done.json()] == ["confirmed"] * 2
    assert api.post("/api/v1/reviews", json={**body, "event_ids": []}).status_code == 422
    assert api.post("/api/v1/reviews", json=body).status_code == 400  # decided already


def test_a_disputed_event_is_confirmed_only_with_a_note(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    made = _three_days(app_client, org, clock)
    for name in ("a1_phone", "a1_person"):
        _dispute(app_client, "agent_a1", made[name])
    api = _as(app_client, "sup_a")
    url = f"/api/v1/events/{made['a1_phone']}/review"
    for note in ("", "   "):
        refused = api.post(url, json={"decision": "confirmed", "note": note})
        assert refused.status_code == 400
        assert "disputed" in refused.json()["detail"] and "note" in refused.json()["detail"]
    assert _state(db, made["a1_phone"]) == "pending"

    sup = _as(app_client, "sup_a", follow=False)
    token = sup.headers["x-csrf-token"]
    page = sup.get("/reviews").text
    needed = re.search(rf'<input id="note-{made["a1_phone"]}"[^>]*>', page)
    assert needed is not None and "required" in needed.group(0)
    plain = re.search(rf'<input id="note-{made["a2_phone"]}"[^>]*>', page)
    assert plain is not None and "required" not in plain.group(0)
    form = {"csrf_token": token, "decision": "confirmed"}
    said = flashed(sup, sup.post(f"/reviews/{made['a1_phone']}", data=form))
    assert said.startswith("Not recorded: the worker disputed this event")
    bulk = {**form, "event_id": [made["a2_phone"], made["a1_person"]]}
    said = flashed(sup, sup.post("/reviews", data=bulk))
    assert said.startswith(f"Not recorded: event {made['a1_person']}: the worker disputed")
    assert _state(db, made["a2_phone"]) == "pending"  # all or none

    said = flashed(sup, sup.post("/reviews", data={**bulk, "note": "seen on the still"}))
    assert said == "2 events confirmed."
    rejected = api.post(url, json={"decision": "rejected"})  # rejecting needs no note
    assert rejected.status_code == 200 and rejected.json()["review"] == "rejected"


def test_who_may_open_and_use_the_queue(app_client: TestClient, org: Org, clock: Clock) -> None:
    made = _three_days(app_client, org, clock)
    anonymous = TestClient(app_client.app, follow_redirects=False)
    assert anonymous.get("/reviews").headers["location"].startswith("/login")
    assert anonymous.get("/api/v1/reviews").status_code == 401
    for role in ("agent_a1", "privacy"):
        client = _as(app_client, role, follow=False)
        assert client.get("/reviews").status_code == 403, role
        assert client.get("/api/v1/reviews").status_code == 403, role
        form = {"csrf_token": client.headers["x-csrf-token"], "decision": "rejected"}
        bulk = {**form, "event_id": [made["a1_phone"]]}
        assert client.post("/reviews", data=bulk).status_code == 403, role
        body = {"decision": "rejected", "event_ids": [made["a1_phone"]]}
        assert client.post("/api/v1/reviews", json=body).status_code == 403, role
    admin = _as(app_client, "admin")
    assert made["b1_phone"] in _ids(admin.get("/api/v1/reviews"))  # admins see every team
    sup_b = _as(app_client, "sup_b")
    body = {"decision": "rejected", "event_ids": [made["a1_phone"]]}
    assert sup_b.post("/api/v1/reviews", json=body).status_code == 404

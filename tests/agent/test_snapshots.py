"""Evidence stills on the agent: never while off, one per event and per minute when on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from deskwatch.agent.snapshots import Redact, SnapshotTaker
from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.privacy.sealing import public_key_b64
from deskwatch.transport.client import DeviceClient

KEY_B64 = public_key_b64(X25519PrivateKey.generate().public_key())


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def recording_client() -> tuple[DeviceClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": "s-1"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return DeviceClient("http://server.test", "token", http=http), sent


def never_built() -> Redact:
    raise AssertionError("the redaction models were built while stills were off")


def frame(i: int = 0) -> Frame:
    return Frame(np.full((120, 160, 3), 90, np.uint8), ts=float(i), index=i)


def opened(kind: str) -> Event:
    return Event(type=kind, start_s=0.0, peak_confidence=0.9, started_at=datetime.now(UTC))


ALL_TYPES = ["phone_in_use", "extra_person", "looking_away", "eating_drinking", "away"]


def test_off_takes_nothing_builds_nothing_and_sends_nothing() -> None:
    client, sent = recording_client()
    for categories, key in (((), KEY_B64), (("security", "conduct"), None)):
        taker = SnapshotTaker(client, categories=categories, public_key=key, redact=never_built)
        for i, kind in enumerate(ALL_TYPES):
            assert not taker.consider(frame(i), [opened(kind)])
        for _ in range(3):
            taker.step()
        assert not taker.enabled and taker.waiting() == 0 and not taker.notices
        assert taker.page_state() == {"on_for": [], "taken": []}
    assert sent == [] and "snapshot" not in client.last_sent


def test_one_still_per_event_and_per_minute_only_for_chosen_categories() -> None:
    client, sent = recording_client()
    clock = FakeClock()
    made: list[int] = []

    def redact() -> Redact:
        made.append(1)
        return lambda image: b"\xff\xd8 a blurred jpeg"

    taker = SnapshotTaker(
        client, categories={"security"}, public_key=KEY_B64, redact=redact, clock=clock
    )
    phone = opened("phone_in_use")
    assert taker.consider(frame(), [phone])
    assert not taker.consider(frame(1), [phone])  # the same event: no second still
    assert not taker.consider(frame(2), [opened("looking_away")])  # conduct is off
    assert not taker.consider(frame(3), [phone.closed(5.0), opened("away")])
    clock.t += 30
    assert not taker.consider(frame(4), [opened("extra_person")])  # within the minute
    clock.t += 31
    assert taker.consider(frame(5), [opened("extra_person")])
    while taker.waiting():
        taker.step()
    assert len(made) == 1 and len(sent) == 2
    for request in sent:
        body = json.loads(request.content)
        assert request.url.path == "/api/v1/snapshots"
        assert b"\xff\xd8" not in request.content and b"blurred" not in request.content
        assert set(body) == {"event_id", "taken_at", "sealed"}
    assert [n.status for n in taker.notices] == ["sent", "sent"]
    words = taker.page_state()["taken"]
    assert isinstance(words, list) and "deleted within 7 days" in words[0]["words"]
    assert "encrypted" in client.last_sent["snapshot"]


def test_turning_stills_off_drops_what_was_waiting() -> None:
    client, sent = recording_client()
    taker = SnapshotTaker(
        client,
        categories={"security"},
        public_key=KEY_B64,
        redact=lambda: lambda image: b"jpeg",
    )
    assert taker.consider(frame(), [opened("phone_in_use")])
    taker.configure((), None)
    taker.step()
    assert taker.waiting() == 0 and sent == []

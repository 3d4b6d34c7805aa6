"""Evidence stills on the agent: never while off, one per event and per minute when on; a
still that cannot be made is dropped with its plain copy, and the redaction models live only
while stills are on and the worker is not paused. The server's side of each reply is tested
for real in tests/server/test_snapshots.py; here the replies are scripted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from deskwatch.agent.snapshots import GIVE_UP_S, MAX_WAITING, SEAL_WITHIN_S, Redact, SnapshotTaker
from deskwatch.arrays import Image
from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.privacy.redact import NoFaceError
from deskwatch.privacy.sealing import public_key_b64
from deskwatch.transport.client import DeviceClient
from deskwatch.transport.uploader import Backoff

KEY_B64 = public_key_b64(X25519PrivateKey.generate().public_key())


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeRedact:
    """Stands in for the MediaPipe models: records what it was given and whether closed."""

    def __init__(self, made: list[FakeRedact], fail: Exception | None = None) -> None:
        self.fail, self.closed, self.images = fail, False, 0
        made.append(self)

    def __call__(self, image: Image) -> bytes:
        assert not self.closed, "a closed redactor was used"
        self.images += 1
        if self.fail is not None:
            raise self.fail
        return b"\xff\xd8 a blurred jpeg"

    def close(self) -> None:
        self.closed = True


def factory(made: list[FakeRedact], fail: Exception | None = None) -> Callable[[], Redact]:
    return lambda: FakeRedact(made, fail)


def scripted_client(*statuses: int) -> tuple[DeviceClient, list[httpx.Request]]:
    """A device client whose snapshot uploads get ``statuses`` in turn (then 200)."""
    sent: list[httpx.Request] = []
    replies = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        status = replies.pop(0) if replies else 200
        if status != 200:
            return httpx.Response(status, json={"detail": f"status {status}"})
        return httpx.Response(200, json={"id": f"s-{len(sent)}"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return DeviceClient("http://server.test", "token", http=http), sent


def never_built() -> Redact:
    raise AssertionError("the redaction models were built while stills were off")


def frame(i: int = 0) -> Frame:
    return Frame(np.full((120, 160, 3), 90, np.uint8), ts=float(i), index=i)


def opened(kind: str) -> Event:
    return Event(type=kind, start_s=0.0, peak_confidence=0.9, started_at=datetime.now(UTC))


def taker_with(
    client: DeviceClient, redact: Callable[[], Redact], clock: FakeClock, **kw: object
) -> SnapshotTaker:
    return SnapshotTaker(
        client,
        categories={"security", "conduct"},
        public_key=KEY_B64,
        redact=redact,
        clock=clock,
        backoff=Backoff(base_s=1.0, cap_s=1.0),
        **kw,  # type: ignore[arg-type]
    )


def plain_copies(taker: SnapshotTaker) -> int:
    return sum(1 for s in taker._pending if s.image is not None)


ALL_TYPES = ["phone_in_use", "extra_person", "looking_away", "eating_drinking", "away"]


def test_off_takes_nothing_builds_nothing_and_sends_nothing() -> None:
    client, sent = scripted_client()
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
    client, sent = scripted_client()
    clock = FakeClock()
    made: list[FakeRedact] = []
    taker = SnapshotTaker(
        client, categories={"security"}, public_key=KEY_B64, redact=factory(made), clock=clock
    )
    phone = opened("phone_in_use")
    assert taker.consider(frame(), [phone])
    assert not taker.consider(frame(1), [phone])  # the same event: no second still
    assert not taker.consider(frame(2), [opened("looking_away")])  # conduct is off
    assert not taker.consider(frame(3), [phone.closed(5.0), opened("away")])
    taker.step()  # sealed at once: the plain copy is gone
    assert plain_copies(taker) == 0
    clock.t += 30
    assert not taker.consider(frame(4), [opened("extra_person")])  # within the minute
    clock.t += 31
    assert taker.consider(frame(5), [opened("extra_person")])
    while taker.waiting():
        taker.step()
    assert len(made) == 1 and made[0].images == 2 and len(sent) == 2
    for request in sent:
        body = json.loads(request.content)
        assert request.url.path == "/api/v1/snapshots"
        assert b"\xff\xd8" not in request.content and b"blurred" not in request.content
        assert set(body) == {"event_id", "taken_at", "sealed"}
    assert [n.status for n in taker.notices] == ["sent", "sent"]
    words = taker.page_state()["taken"]
    assert isinstance(words, list) and "expires after at most 7 days" in words[0]["words"]
    assert "encrypted" in client.last_sent["snapshot"]


def test_turning_stills_off_drops_what_was_waiting_and_closes_the_models() -> None:
    client, sent = scripted_client()
    made: list[FakeRedact] = []
    taker = taker_with(client, factory(made), FakeClock())
    assert taker.consider(frame(), [opened("phone_in_use")])
    taker.step()  # sealed, waiting to be sent
    assert made and not made[0].closed
    taker.configure((), None)
    taker.step()
    assert taker.waiting() == 0 and sent == [] and made[0].closed
    assert "switched off" in taker.notices[0].status


def test_an_objection_between_sealing_and_sending_stops_the_upload() -> None:
    """The category is checked again right before the still is sent."""
    client, sent = scripted_client()
    taker = taker_with(client, factory([]), FakeClock())
    assert taker.consider(frame(), [opened("looking_away")])
    taker.step()  # sealed
    taker.configure({"security"}, KEY_B64)  # the worker objected to conduct
    for _ in range(3):
        taker.step()
    assert sent == [] and taker.waiting() == 0
    assert taker.notices[0].status.startswith("not kept")


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("segmentation graph failed"),
        NoFaceError("no face found, so nobody could be kept sharp safely"),
    ],
)
def test_a_redaction_failure_drops_the_still_and_its_plain_copy(error: Exception) -> None:
    client, sent = scripted_client()
    made: list[FakeRedact] = []
    taker = taker_with(client, factory(made, error), FakeClock())
    assert taker.consider(frame(), [opened("phone_in_use")])
    assert taker.step() == 0.0
    assert taker.waiting() == 0 and plain_copies(taker) == 0 and sent == []
    assert made[0].images == 1 and taker.notices[0].status == f"not kept: {error}"


def test_models_that_fail_to_build_drop_the_still_and_are_tried_again_next_time() -> None:
    client, sent = scripted_client()
    clock = FakeClock()
    builds: list[int] = []

    def broken() -> Redact:
        builds.append(1)
        raise OSError("mediapipe models missing")

    taker = taker_with(client, broken, clock)
    assert taker.consider(frame(), [opened("phone_in_use")])
    assert taker.step() == 0.0  # no exception reaches the thread
    assert taker.waiting() == 0 and plain_copies(taker) == 0 and sent == []
    assert "mediapipe models missing" in taker.notices[0].status
    clock.t += 61
    assert taker.consider(frame(1), [opened("extra_person")])
    taker.step()
    assert len(builds) == 2 and taker.waiting() == 0


def test_a_refused_still_is_dropped_without_retry() -> None:
    client, sent = scripted_client(403)
    taker = taker_with(client, factory([]), FakeClock())
    assert taker.consider(frame(), [opened("phone_in_use")])
    for _ in range(4):
        taker.step()
    assert len(sent) == 1 and taker.waiting() == 0
    assert "the server refused it" in taker.notices[0].status


def test_an_unknown_event_is_retried_then_given_up_after_an_hour() -> None:
    client, sent = scripted_client(404, 404, 404, 404, 404, 404, 404, 404)
    clock = FakeClock()
    taker = taker_with(client, factory([]), clock)
    assert taker.consider(frame(), [opened("phone_in_use")])
    taker.step()  # sealed
    taker.step()  # 404: the server does not know the event yet
    assert taker.waiting() == 1 and taker.notices[0].status == "sealed, will retry sending"
    taker.step()  # not due yet: nothing sent
    assert len(sent) == 1
    clock.t += 2
    taker.step()
    assert len(sent) == 2 and taker.waiting() == 1
    clock.t += GIVE_UP_S
    taker.step()
    assert len(sent) == 3 and taker.waiting() == 0
    assert "not delivered within an hour" in taker.notices[0].status


def test_a_plain_copy_never_waits_long_and_few_stills_wait_at_once() -> None:
    client, _ = scripted_client(*[404] * 50)
    clock = FakeClock()
    taker = taker_with(client, factory([]), clock, min_interval_s=0.0)
    assert taker.consider(frame(), [opened("phone_in_use")])
    clock.t += SEAL_WITHIN_S + 1  # the sealing thread was held up
    taker.step()
    assert taker.waiting() == 0 and "in time" in taker.notices[0].status
    for i in range(MAX_WAITING + 3):
        taker.consider(frame(i + 1), [opened("extra_person")])
    assert taker.waiting() == MAX_WAITING


def test_pause_drops_plain_copies_and_closes_the_models() -> None:
    client, sent = scripted_client(404)
    made: list[FakeRedact] = []
    clock = FakeClock()
    taker = taker_with(client, factory(made), clock, min_interval_s=0.0)
    assert taker.consider(frame(), [opened("phone_in_use")])
    taker.step()  # sealed
    assert taker.consider(frame(1), [opened("looking_away")])  # taken, not yet sealed
    taker.pause()
    assert made[0].closed and taker.waiting() == 1 and plain_copies(taker) == 0
    assert taker.notices[1].status == "not kept: you paused before it was sealed"
    while taker.waiting():  # the sealed one may still go: no model is needed for that
        clock.t += 2
        taker.step()
    assert len(made) == 1 and len(sent) == 2

"""The privacy page's accuracy tables: a rate of nothing reads "no data", never 0%."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.server.conftest import Clock, Org, login
from tests.server.helpers import enrol, event


def _rates(html: str, table: str) -> dict[str, tuple[str, str]]:
    """First cell → (dispute rate, rejection rate), in words, from a table of the page."""
    body = html.split(f'<table id="{table}">')[1].split("</table>")[0]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        out[cells[0]] = (cells[-2], cells[-1])
    return out


def test_rates_of_nothing_read_no_data(app_client: TestClient, org: Org, clock: Clock) -> None:
    device = enrol(app_client, org.agent_a1.id)
    phone, away = event("phone_in_use", clock.now), event("away", clock.now)
    assert device.post("/api/v1/events", json={"events": [phone, away]}).status_code == 200
    admin = login(TestClient(app_client.app), "admin")
    page = admin.get("/privacy").text
    assert _rates(page, "accuracy") == {
        "away": ("0% (0 of 1)", "no data"),
        "phone_in_use": ("0% (0 of 1)", "no data"),
    }
    assert 'aria-label="dispute and rejection rates by event type">\n<table id="accuracy">' in page

    sup = login(TestClient(app_client.app), "sup_a")
    decided = sup.post(f"/api/v1/events/{phone['id']}/review", json={"decision": "rejected"})
    assert decided.status_code == 200, decided.text
    rates = _rates(admin.get("/privacy").text, "accuracy")
    assert rates["phone_in_use"] == ("0% (0 of 1)", "100% (1 of 1)")
    detectors = _rates(admin.get("/privacy").text, "detector-accuracy")
    assert all(rate != "0%" for pair in detectors.values() for rate in pair)
    assert "no data" in {rate for pair in detectors.values() for rate in pair}

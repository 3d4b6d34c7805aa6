"""The team report and the agent's day as pages: no mass absence on a day without data,
columns named apart, durations in h/min, days in the page's zone, and chart data blocks that
hold the report's own numbers."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.server.conftest import Clock, Org, login
from tests.server.helpers import enrol, event
from tests.server.test_reports import DAY, _day, _keep

ADHERENCE = round(5460 / (8 * 3600) * 100, 1)  # A1's seeded day, in %


def _block(html: str, block_id: str) -> Any:
    """The JSON data block ``block_id`` of a page."""
    found = re.search(f'<script type="application/json" id="{block_id}">(.*?)</script>', html, re.S)
    assert found, block_id
    return json.loads(found.group(1))


def _cells(html: str, table_id: str) -> list[list[str]]:
    """The rows of a table, as the text of their cells."""
    table = html.split(f'<table id="{table_id}">')[1].split("</table>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    return [
        [
            re.sub(r"<[^>]+>|\s+", " ", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def test_a_day_without_data_is_no_data_not_a_day_offline(app_client: TestClient, org: Org) -> None:
    sup = login(TestClient(app_client.app), "sup_a")
    html = sup.get(f"/teams/{org.team_a.id}/report", params={"day": "2026-11-01"}).text
    rows = _cells(html, "report")
    agents = {r[0]: r for r in rows[1:-1]}
    assert set(agents) == {"Agent_A1", "Agent_A2"}
    for row in agents.values():
        assert row[1:3] == ["no data", "no heartbeat or status this day"]
    assert rows[-1][:2] == ["team (2 with no data left out)", "no data"]
    assert "0%" not in html and "24 h 00 min" not in html and "1440" not in html
    assert _block(html, "data-agents") == {"labels": [], "values": []}
    assert "left out of the team" in html


def test_an_agent_silent_since_an_earlier_day_is_no_data_there(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    _day(app_client, clock, org)
    clock.advance(2 * 86400)
    sup = login(TestClient(app_client.app), "sup_a")
    report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params={"day": "2026-11-03"})
    a1 = next(a for a in report.json()["agents"] if a["agent_id"] == org.agent_a1.id)
    assert a1["no_data"] and a1["seconds"] == {} and a1["adherence"] is None


def test_report_columns_durations_and_chart_numbers(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    html = sup.get(f"/teams/{org.team_a.id}/report", params=DAY).text
    head, *rows = _cells(html, "report")
    assert "away (time)" in head and "times away" in head and "away" not in head
    a1 = dict(zip(head, next(r for r in rows if r[0] == "Agent_A1"), strict=True))
    assert a1["at desk (time)"] == "1 h 31 min" and a1["away (time)"] == "30 min"
    assert a1["times away"] == "1" and a1["adherence"] == "19%"
    assert rows[-1][0] == "team (1 with no data left out)" and rows[-1][1] == "19%"
    assert _block(html, "data-agents") == {"labels": ["Agent_A1"], "values": [ADHERENCE]}
    trend = _block(html, "data-trend")
    assert len(trend["labels"]) == 14 and trend["labels"][-1] == "2026-11-02"
    assert trend["values"] == [None] * 13 + [ADHERENCE]
    hours = _block(html, "data-hours")
    assert hours["labels"][10] == "10:00"
    assert hours["series"] == [{"label": "away", "values": [0] * 10 + [1] + [0] * 13}]
    for chart in ("chart-agents", "chart-trend", "chart-hours"):
        assert f'<canvas id="{chart}" role="img"' in html
    assert "Agent_A1: 19%" in html and "2026-11-02 19%" in html  # the charts' words
    assert "<script>" not in html and 'src="/static/report.js"' in html


def test_the_report_day_runs_in_the_page_zone(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    """In Tokyo the away event at 10:00 UTC is at 19:00, on the same day; the CSV link
    asks for the same zone and the API says which zone its day runs in."""
    _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    sup.cookies.set("deskwatch_tz", "Asia/Tokyo")
    html = sup.get(f"/teams/{org.team_a.id}/report", params=DAY).text
    assert "00:00–24:00 Asia/Tokyo" in html and "tz=Asia/Tokyo" in html
    assert _block(html, "data-hours")["series"][0]["values"][19] == 1
    api = sup.get(
        f"/api/v1/teams/{org.team_a.id}/report", params={**DAY, "tz": "Asia/Tokyo"}
    ).json()
    assert api["zone"] == "Asia/Tokyo" and api["by_hour"]["away"][19] == 1
    utc = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).json()
    assert utc["zone"] == "UTC" and utc["by_hour"]["away"][10] == 1
    # Tokyo's 2026-11-03 starts at 15:00 UTC on the 2nd: nothing of the seeded day is in it.
    later = {"day": "2026-11-03", "tz": "Asia/Tokyo"}
    nothing = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=later).json()
    assert all(a["no_data"] for a in nothing["agents"])
    bad = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params={**DAY, "tz": "Mars/Base"})
    assert bad.status_code == 422
    # The day's events CSV, linked from the timeline, runs in the same zone (times in UTC).
    timeline = sup.get(f"/agents/{org.agent_a1.id}", params=DAY).text
    assert "events.csv?day=2026-11-02&amp;tz=Asia/Tokyo" in timeline
    url = f"/api/v1/agents/{org.agent_a1.id}/events.csv"
    assert "away" in sup.get(url, params={**DAY, "tz": "Asia/Tokyo"}).text
    assert "away" not in sup.get(url, params=later).text


def test_the_adherence_trend_is_bounded(app_client: TestClient, org: Org, clock: Clock) -> None:
    _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    url = f"/api/v1/teams/{org.team_a.id}/adherence"
    trend = sup.get(url, params={**DAY, "days": 3}).json()
    assert [d["day"] for d in trend["days"]] == ["2026-10-31", "2026-11-01", "2026-11-02"]
    assert [d["adherence"] for d in trend["days"]] == [None, None, round(5460 / (8 * 3600), 4)]
    assert [d["measured"] for d in trend["days"]] == [0, 0, 1]
    assert sup.get(url, params={**DAY, "days": 32}).status_code == 422
    agent = login(TestClient(app_client.app), "agent_a1")
    assert agent.get(url, params=DAY).status_code == 403


def test_the_timeline_shows_the_shift_lanes_and_why_away_differs(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    away = _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    html = sup.get(f"/agents/{org.agent_a1.id}", params=DAY).text
    data = _block(html, "timeline-data")
    assert [g["id"] for g in data["groups"]] == ["status", "events"]
    assert data["window"] == {
        "start": "2026-11-02T08:30:00+00:00",
        "end": "2026-11-02T11:31:00+00:00",
    }
    (ev,) = [i for i in data["items"] if i["group"] == "events"]
    assert ev["id"] == f"ev-{away}" and ev["end"] == "2026-11-02T10:30:00+00:00"
    statuses = [i["className"] for i in data["items"] if i["group"] == "status"]
    assert statuses == ["st-offline", "st-at_desk", "st-away", "st-at_desk", "st-offline"]
    assert "the day&#39;s activity, 30 min either side" in html
    assert f'<tr id="event-{away}">' in html and "30 min</td>" in html  # duration in words
    assert "900 s" not in html and "about 13 s away" in html  # 40 s - 30 s + 3 s
    assert "faces seen 0" in html  # the evidence in words
    assert 'src="/static/timeline.js"' in html and "<script>" not in html


def test_a_timeline_without_data_shows_the_scheduled_hours_in_the_page_zone(
    app_client: TestClient, org: Org
) -> None:
    sup = login(TestClient(app_client.app), "sup_a")
    sup.cookies.set("deskwatch_tz", "Asia/Tokyo")
    html = sup.get(f"/agents/{org.agent_a2.id}", params={"day": "2026-11-01"}).text
    data = _block(html, "timeline-data")
    assert data["window"] == {
        "start": "2026-11-01T09:00:00+09:00",
        "end": "2026-11-01T17:00:00+09:00",
    }
    assert data["day"]["start"] == "2026-10-31T15:00:00+00:00" and data["offset_min"] == 540
    assert "no activity this day: the scheduled 8 h 00 min from 09:00" in html
    assert "No events on this day." in html


def test_the_trend_agrees_with_each_days_report(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    """Read once for the whole span and cut into days, the trend says what each day's report
    says: in UTC and in Tokyo, across midnight, with a rejected away event moved to at desk."""
    _day(app_client, clock, org)  # 2026-11-02, 09:00-11:00 UTC
    clock.advance(12.5 * 3600)  # 23:30
    device = enrol(app_client, org.agent_a1.id, hostname="pc-2")
    _keep(device, clock, "at_desk", 1200)
    away = event("away", clock.now, length_s=1800)
    assert device.post("/api/v1/events", json={"events": [away]}).status_code == 200
    _keep(device, clock, "away", 1800)
    _keep(device, clock, "at_desk", 600)
    agent = login(TestClient(app_client.app), "agent_a1")
    dispute = {"kind": "dispute", "body": "I was there"}
    assert agent.post(f"/api/v1/events/{away['id']}/comments", json=dispute).status_code == 201
    sup = login(TestClient(app_client.app), "sup_a")
    review = sup.post(f"/api/v1/events/{away['id']}/review", json={"decision": "rejected"})
    assert review.status_code == 200
    for tz in ("UTC", "Asia/Tokyo"):
        trend = sup.get(
            f"/api/v1/teams/{org.team_a.id}/adherence",
            params={"day": "2026-11-03", "days": 4, "tz": tz},
        ).json()
        assert trend["zone"] == tz
        for d in trend["days"]:
            params = {"day": d["day"], "tz": tz}
            report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=params).json()
            assert d["adherence"] == report["adherence"], (tz, d)
        assert [d["adherence"] is not None for d in trend["days"]] == [False, False, True, True]

"""The DPIA draft follows the live configuration; page, download and command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.privacy.categories import CATEGORIES
from deskwatch.server.audit.chain import AuditChain
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.db import make_engine
from deskwatch.server.dpia.render import to_html, to_markdown
from deskwatch.server.dpia.schemas import Dpia, Retention, TeamSetting
from deskwatch.server.dpia.service import build
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.privacy.schemas import CategoryIn
from deskwatch.server.privacy.service import set_category
from deskwatch.server.settings import Settings
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import server_cli

RETENTION = Retention(audit_days=1095, other_days=30, request_days=1095, purge_every_s=3600)


def _draft(db: sessionmaker[Session], clock: Clock) -> tuple[Dpia, str, str]:
    with db() as s:
        doc = build(s, now=clock.now, retention=RETENTION)
    return doc, to_markdown(doc), to_html(doc)


def _change(db: sessionmaker[Session], org: Org, clock: Clock, key: str, **change: object) -> None:
    with db() as s:
        team, admin = s.get(Team, org.team_b.id), s.get(User, org.admin.id)
        assert team is not None and admin is not None
        body = CategoryIn.model_validate(change)
        set_category(
            s, team=team, key=key, change=body, actor=admin, now=clock.now, max_retention_days=1095
        )
        s.commit()


def _row(doc: Dpia, key: str, team: str) -> TeamSetting:
    section = next(c for c in doc.categories if c.key == key)
    return next(t for t in section.teams if t.team == team)


def test_the_draft_follows_the_live_configuration(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    before, md0, html0 = _draft(db, clock)
    assert "Identity check (not in use)" in html0
    assert "Identity check (not in use)" in md0 and "Biometric identity check" not in md0
    assert "Exception enabled by a team" not in md0
    _change(db, org, clock, "security", retention_days=45, snapshot=True)
    _change(db, org, clock, "conduct", legal_basis="contract")
    _change(db, org, clock, "identity", enabled=True)
    after, md1, html1 = _draft(db, clock)

    assert _row(before, "security", "Bravo").retention_days == 90
    bravo = _row(after, "security", "Bravo")
    assert (bravo.retention_days, bravo.snapshot) == (45, True)
    assert _row(after, "security", "Alpha").retention_days == 90
    for text in (md1, html1):
        assert "Identity check (in use)" in text and "Biometric identity check" in text
        assert "Exception enabled by a team" in text  # the snapshot safeguard
        assert "Evidence snapshots show the inside" in text  # and its risk
        assert "performance of the employment contract" in text
    conduct = next(b for b in after.balancing if b.title == "Desk conduct")
    assert conduct.teams == ["Alpha"]  # Bravo now runs conduct on the contract
    assert "| Bravo | yes |" in md1 and "| 45 |" in md1 and "| 45 |" not in md0
    notice = next(n for n in after.notices if n.team == "Bravo")
    assert "Identity check" in [i.title for i in notice.items]


def test_markdown_and_html_name_every_category_and_escape_admin_text(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    _change(db, org, clock, "conduct", purpose="Watch <script>alert(1)</script> | pipes")
    _doc, md, html = _draft(db, clock)
    for cat in CATEGORIES.values():
        assert cat.title in md and cat.title in html
    assert "DRAFT" in md and "DRAFT" in html and "Art. 26(7)" in md and "Art. 26(7)" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\\<script\\>" in md and "\\| pipes" in md
    for heading in ("Recipients", "Safeguards", "Risks and mitigations", "To complete"):
        assert heading in md and heading in html


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent_a1", 403), ("sup_a", 403), ("privacy", 200), ("admin", 200)],
)
def test_only_the_privacy_officer_and_admins_read_the_draft(
    app_client: TestClient, db: sessionmaker[Session], org: Org, role: str, status: int
) -> None:
    client = login(TestClient(app_client.app), role)
    page = client.get("/privacy/dpia")
    download = client.get("/privacy/dpia.md")
    assert (page.status_code, download.status_code) == (status, status)
    if status != 200:
        return
    assert "DRAFT" in page.text and 'href="/privacy/dpia"' in page.text  # the nav link
    assert download.headers["content-type"].startswith("text/markdown")
    assert "attachment" in download.headers["content-disposition"]
    assert all(c.title in download.text for c in CATEGORIES.values())
    with db() as s:
        query = select(AuditEntry.subject).where(AuditEntry.action == "read:dpia")
        assert sorted(s.scalars(query)) == ["dpia:html", "dpia:md"]


def test_anonymous_visitors_are_sent_to_the_login(app_client: TestClient, org: Org) -> None:
    reply = TestClient(app_client.app).get("/privacy/dpia", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/login?next=/privacy/dpia"


def _cli(keys: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return server_cli(keys / "secret", "dpia", *args)


def test_the_command_writes_the_draft_and_fails_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    nokey = _cli(tmp_path, "--database-url", url)  # the read must be audited: no key, no draft
    assert nokey.returncode == 2 and "no audit key" in nokey.stderr and not nokey.stdout
    AuditChain.from_settings(Settings(secret_key_file=tmp_path / "secret"))  # as the server does
    md = _cli(tmp_path, "--database-url", url)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# DRAFT") and "(catalogue defaults)" in md.stdout
    out = tmp_path / "dpia.html"
    html = _cli(tmp_path, "--format", "html", "--out", str(out), "--database-url", url)
    assert html.returncode == 0, html.stderr
    assert out.read_text().startswith("<!doctype html>") and "Card-data security" in out.read_text()
    bad = _cli(tmp_path, "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert bad.returncode == 2 and "cannot read the configuration" in bad.stderr
    assert _cli(tmp_path, "--format", "pdf", "--database-url", url).returncode == 2


def test_the_draft_says_which_events_wait_for_a_person_and_which_reads_are_logged(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    doc, md, html = _draft(db, clock)
    attendance = next(c for c in doc.categories if c.key == "attendance")
    identity = next(c for c in doc.categories if c.key == "identity")
    assert attendance.counted_after_review == (
        "none; they count as recorded unless the worker disputes them"
    )
    assert identity.counted_after_review == (
        "identity_mismatch; the others: they count as recorded unless the worker disputes them"
    )
    for text in (md, html):
        assert "a disputed event waits for a person, a rejected one never" in text
        assert "the live board of each team, the device and user lists" in text
        assert "HMAC-SHA256 under a key kept outside the database" in text
        assert "a disputed event counts only if a person confirms it" in text  # the notice


def test_the_notice_names_the_microphone_only_for_a_team_that_monitors_noise(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    _change(db, org, clock, "environment", enabled=True)  # Bravo only
    draft, md, _ = _draft(db, clock)
    words = {n.team: " ".join(n.paragraphs) for n in draft.notices}
    assert "its microphone (the sound level and how much of it is speech" in words["Bravo"]
    assert "never its microphone" in words["Alpha"] and "its microphone (" not in words["Alpha"]
    assert "deskwatch agent run --audio mic" in md  # who actually listens

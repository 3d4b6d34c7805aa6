"""Single sign-on in Debian's Chromium: a real deskwatch server process with the OIDC
settings, a real provider (tests/oidc_provider.py) on another site (``localhost``, where
deskwatch is ``127.0.0.1``: the provider's redirect back is a cross-site navigation, as
with Entra ID or Okta, so the SameSite=Strict session cookie is really put to the test)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role
from deskwatch.server.orgs.service import create_site, create_team, create_user
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, Person
from tests.server_process import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")


@dataclass
class Sso:
    url: str
    idp: OidcProvider
    alpha: int


def _seed(url: str) -> int:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine).begin() as s:
        site = create_site(s, name="Leeds")
        alpha = create_team(s, site=site, name="Alpha")
        create_team(s, site=site, name="Bravo")
        create_user(s, username="admin", password="local admin password", role=Role.ADMIN)
        team_id = alpha.id
    engine.dispose()
    return team_id


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sso]:
    folder = tmp_path_factory.mktemp("browser-sso")
    db = f"sqlite:///{folder / 'server.db'}"
    alpha = _seed(db)
    people = [
        Person("ann", ["dw-agents", "dw-team-alpha"], name="Ann Agent"),
        Person("sue", ["dw-supervisors", "dw-team-alpha"], name="Sue Supervisor"),
    ]
    idp = OidcProvider(people, host="localhost").start()
    server = ServerProcess(db, folder)
    idp.client.redirect_uris = [f"{server.url}/login/sso/callback"]
    env = {
        "DESKWATCH_OIDC_ISSUER": idp.issuer,
        "DESKWATCH_OIDC_CLIENT_ID": CLIENT_ID,
        "DESKWATCH_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "DESKWATCH_OIDC_PROVIDER_NAME": "Test IdP",
        "DESKWATCH_OIDC_ROLES": json.dumps({"dw-agents": "agent", "dw-supervisors": "supervisor"}),
        "DESKWATCH_OIDC_TEAMS": json.dumps({"dw-team-alpha": "Alpha"}),
        "DESKWATCH_LOCAL_LOGIN": "false",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        server.start()
    yield Sso(server.url, idp, alpha)
    server.stop()
    idp.stop()


@pytest.fixture
def page(sso: Sso) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(timezone_id="Asia/Tokyo")
        yield context.new_page()
        browser.close()


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("DESKWATCH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _through_provider(page: Page, sso: Sso, username: str, tmp_path: Path) -> None:
    """On deskwatch's login page: the button, the provider's form, and back."""
    expect(page.locator("#password")).to_have_count(0)  # local passwords are off
    _shot(page, tmp_path, "sso-login")
    page.click("#sso")
    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.idp.issuer)}/authorize\?"))
    page.fill("#idp-username", username)
    page.click("#idp-submit")


def _log_out(page: Page, sso: Sso) -> None:
    ended = len(sso.idp.ended)
    page.click("header button[type=submit]")
    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.url)}/login$"))
    assert len(sso.idp.ended) == ended + 1  # the provider's end-session was hit
    assert sso.idp.ended[-1]["id_token_hint"].count(".") == 2
    page.goto(f"{sso.url}/account")  # the deskwatch session is over too
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_an_agent_signs_in_lands_on_their_day_and_logs_out(
    page: Page, sso: Sso, tmp_path: Path
) -> None:
    page.goto(f"{sso.url}/login")
    _through_provider(page, sso, "ann", tmp_path)
    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.url)}/agents/\d+$"))
    expect(page.locator("header")).to_contain_text("Ann Agent")
    _shot(page, tmp_path, "sso-agent-home")
    _log_out(page, sso)


def test_a_supervisor_lands_on_the_page_they_asked_for(
    page: Page, sso: Sso, tmp_path: Path
) -> None:
    asked = f"/teams/{sso.alpha}/report"
    page.goto(f"{sso.url}{asked}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    _through_provider(page, sso, "sue", tmp_path)
    expect(page).to_have_url(f"{sso.url}{asked}")
    expect(page.locator("header")).to_contain_text("Sue Supervisor")
    expect(page.locator("header")).to_contain_text("supervisor")
    _shot(page, tmp_path, "sso-supervisor-report")
    _log_out(page, sso)

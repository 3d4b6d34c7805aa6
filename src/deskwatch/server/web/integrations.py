"""The integrations page (admins): webhooks and syslog receivers, dead letters, replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from deskwatch.server.bounds import Id
from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.integrations import service as integrations
from deskwatch.server.integrations.models import Sink
from deskwatch.server.integrations.schemas import SIEM_TYPES, SinkChange, SinkIn
from deskwatch.server.web.access import AdminPage
from deskwatch.server.web.pages import Csrf, back, outcome, page

router = APIRouter(prefix="/admin/integrations", include_in_schema=False)
PATH = "/admin/integrations"
Text = Annotated[str, Form(max_length=500)]


@router.get("")
def integrations_page(
    request: Request, admin: AdminPage, session: SessionDep, now: NowDep
) -> HTMLResponse:
    sinks = integrations.list_sinks(session)
    letters = {
        s.id: integrations.dead_letters(session, reader=admin, sink_id=s.id, now=now)
        for s in sinks
        if s.dead
    }
    targets = {s.id: integrations.target(session.get_one(Sink, s.id)) for s in sinks}
    return page(
        request,
        "integrations.html",
        admin,
        session,
        sinks=sinks,
        letters=letters,
        targets=targets,
        siem_types=sorted(SIEM_TYPES),
    )


def _actions(text: str) -> list[str]:
    return [a.strip() for a in text.replace("\n", ",").split(",") if a.strip()]


@router.post("", dependencies=[Csrf])
def create_form(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=80)],
    kind: Annotated[str, Form(max_length=10)],
    url: Text = "",
    secret: Annotated[str, Form(max_length=200)] = "",
    host: Annotated[str, Form(max_length=255)] = "",
    port: Annotated[str, Form(max_length=5)] = "",
    tls: Annotated[bool, Form()] = False,
    ca_file: Text = "",
    facility: Annotated[int, Form(ge=0, le=23)] = 10,
    event_types: Annotated[list[str] | None, Form()] = None,
    audit_actions: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    def create() -> None:
        if kind == "webhook" and not secret:
            raise ValueError("secret: a webhook needs a signing secret of 16 characters or more")
        body = SinkIn.model_validate(
            {
                "name": name,
                "kind": kind,
                "url": url or None,
                "secret": secret or None,
                "host": host or None,
                "port": int(port) if port.isdigit() else None,
                "tls": tls,
                "ca_file": ca_file or None,
                "facility": facility,
                "event_types": event_types or [],
                "audit_actions": _actions(audit_actions),
            }
        )
        integrations.create_sink(
            session, admin=admin, body=body, now=now, signing_key=settings.signing_key()
        )

    return outcome(request, session, PATH, create, f"Integration {name} added (off)", "Not added")


@router.post("/{sink_id}/enabled", dependencies=[Csrf])
def enabled_form(
    sink_id: Id,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    def change() -> None:
        integrations.change_sink(
            session,
            admin=admin,
            sink_id=sink_id,
            change=SinkChange(enabled=enabled),
            now=now,
            signing_key=settings.signing_key(),
        )

    done = f"Integration {sink_id} switched {'on' if enabled else 'off'}"
    return outcome(request, session, PATH, change, done, "Not changed")


@router.post("/{sink_id}/delete", dependencies=[Csrf])
def delete_form(
    sink_id: Id, request: Request, admin: AdminPage, session: SessionDep, now: NowDep
) -> Response:
    def remove() -> None:
        integrations.delete_sink(session, admin=admin, sink_id=sink_id, now=now)

    return outcome(request, session, PATH, remove, f"Integration {sink_id} removed", "Not removed")


@router.post("/{sink_id}/replay", dependencies=[Csrf])
def replay_form(
    sink_id: Id, request: Request, admin: AdminPage, session: SessionDep, now: NowDep
) -> Response:
    count = integrations.replay(session, admin=admin, sink_id=sink_id, ids=None, now=now)
    return back(request, PATH, f"{count} dead letter(s) of integration {sink_id} queued again")


@router.post("/{sink_id}/discard", dependencies=[Csrf])
def discard_form(
    sink_id: Id, request: Request, admin: AdminPage, session: SessionDep, now: NowDep
) -> Response:
    count = integrations.discard(session, admin=admin, sink_id=sink_id, ids=None, now=now)
    return back(request, PATH, f"{count} dead letter(s) of integration {sink_id} discarded")

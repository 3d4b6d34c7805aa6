"""``deskwatch agent identity``: enrol a face template, decline, delete, status.

The running agent's local page offers the same buttons; ``enrol`` here opens the camera
itself, so use it while the agent is not running. Enrolling needs the worker's password,
checked by the server; declining and deleting never do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deskwatch.agent.config import AgentError, load_credentials, state_dir
from deskwatch.console import err, out
from deskwatch.identity.store import Choice, TemplateStore, owner_of

if TYPE_CHECKING:
    from deskwatch.transport.client import DeviceClient

identity_app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

DirOpt = Annotated[Path | None, typer.Option("--state-dir", help="agent state directory")]


@identity_app.command()
def enrol(
    source: Annotated[str, typer.Option(help="camera (camera:0) or a video file")] = "camera:0",
    seconds: Annotated[float, typer.Option(help="how long to look (turn slightly)")] = 8.0,
    directory: DirOpt = None,
) -> None:
    """I agree: make my face template from a few seconds of the camera (kept encrypted here).

    Asks for your password first; the server checks it before the camera is opened.
    """
    from deskwatch.capture.source import open_source
    from deskwatch.errors import DeskwatchError
    from deskwatch.identity.enrolment import enrol_from
    from deskwatch.identity.reconfirm import enrolment_refusal
    from deskwatch.transport.client import DeviceClient

    if not 0 < seconds <= 60:
        err.print("[red]error:[/red] --seconds must be in (0, 60]", highlight=False)
        raise typer.Exit(2)
    where = state_dir(directory)
    try:
        config = load_credentials(where)
    except AgentError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    client = DeviceClient(config.server_url, config.token)
    off = _identity_off(client, where)
    if off:
        err.print(f"[red]not enrolled:[/red] {off}", highlight=False)
        raise typer.Exit(2)
    password = typer.prompt("Your deskwatch password (the server checks it)", hide_input=True)
    refused = enrolment_refusal(client, password)
    if refused:
        err.print(f"[red]not enrolled:[/red] {refused}", highlight=False)
        raise typer.Exit(2)
    out.print("Look at the camera and turn your head slightly left and right…")
    store = TemplateStore(where, owner_of(config.device_id, config.agent_id))
    try:
        with_source = open_source(source, 4.0)
        try:
            count = enrol_from(with_source, store, seconds)
        finally:
            with_source.close()
    except DeskwatchError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    out.print(f"enrolled: template of {count} views, encrypted in {where}")


def _identity_off(client: DeviceClient, where: Path) -> str:
    """Why no face may be enrolled now ("" if it may): the team policy and the worker's
    identity category (their consent), as last fetched from the server."""
    from deskwatch.agent.policy import PolicyKeeper

    current = PolicyKeeper(client, where).refresh()
    if not current.known:
        return f"your privacy settings are not known yet ({current.note})"
    if not current.policy.identity.enabled:
        return "identity checks are off for you (team policy or your privacy settings)"
    return ""


@identity_app.command()
def decline(directory: DirOpt = None) -> None:
    """No face checks for me: delete any template and confirm with my password instead."""
    TemplateStore(state_dir(directory)).delete(Choice.PASSWORD)
    out.print("declined: you will be asked for your password on your local page")


@identity_app.command()
def delete(directory: DirOpt = None) -> None:
    """Delete my face template: identity checks stop; the server learns only "not enrolled"."""
    had = TemplateStore(state_dir(directory)).delete(Choice.NONE)
    out.print("template deleted" if had else "there was no template; nothing to delete")


@identity_app.command()
def status(directory: DirOpt = None) -> None:
    """What is stored: the choice and whether an encrypted template exists."""
    st = TemplateStore(state_dir(directory)).status()
    out.print(f"choice    {st.choice.value}")
    out.print(f"template  {'yes (encrypted, never sent)' if st.enrolled else 'none'}")

"""``deskwatch agent``: enrol this PC, run the monitor, pause / resume, show status."""

from __future__ import annotations

import json
import logging
import signal
import socket
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from deskwatch.agent.config import (
    AgentConfig,
    AgentError,
    load_credentials,
    save_credentials,
    state_dir,
)
from deskwatch.agent.control import Control
from deskwatch.agent.local_page import PAGE_FILE
from deskwatch.agent.outbox import DEFAULT_CAPACITY, Outbox
from deskwatch.console import err, fail, out
from deskwatch.identity.cli import identity_app

agent_app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
agent_app.add_typer(identity_app, name="identity")

DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir", help="agent state (default $DESKWATCH_AGENT_DIR or ~/.local/state/deskwatch)"
    ),
]


@agent_app.command()
def enroll(
    server: Annotated[str, typer.Option("--server", help="server URL")],
    code: Annotated[str, typer.Option("--code", help="one-time enrolment code")],
    hostname: Annotated[str | None, typer.Option(help="name shown to admins")] = None,
    source: Annotated[str, typer.Option(help="camera to watch")] = "camera:0",
    directory: DirOpt = None,
) -> None:
    """Exchange a one-time code for this device's credentials (stored 0600)."""
    from deskwatch.transport.client import DeviceClient, RefusedError, TransportError

    if not server.startswith(("http://", "https://")):
        raise fail(f"{server}: the server URL must start with http:// or https://")
    client = DeviceClient(server)
    try:
        enrolment = client.enroll(code, hostname or socket.gethostname())
    except RefusedError as exc:
        raise fail(f"enrolment refused: {_detail(exc.detail)}") from None
    except TransportError as exc:
        raise fail(f"cannot enrol: {exc}") from None
    finally:
        client.close()
    config = AgentConfig(
        server_url=server.rstrip("/"),
        device_id=enrolment.device_id,
        token=enrolment.token,
        agent_id=enrolment.agent_id,
        team_id=enrolment.team_id,
        source=source,
    )
    path = save_credentials(state_dir(directory), config)
    out.print(f"enrolled as device {config.device_id}; credentials in {path}")
    _fetch_settings(config, path.parent)


def _fetch_settings(config: AgentConfig, where: Path) -> None:
    """Fetch and cache the team policy and the worker's privacy settings now, so the first
    run can start even if the server is then unreachable (without them nothing runs)."""
    from deskwatch.agent.policy import PolicyKeeper
    from deskwatch.transport.client import DeviceClient

    client = DeviceClient(config.server_url, config.token)
    try:
        current = PolicyKeeper(client, where).refresh()
    finally:
        client.close()
    if current.known:
        off = ", ".join(current.privacy.off()) or "none"
        out.print(f"privacy settings fetched; categories off for you: {off}")
    else:
        err.print(f"[yellow]warning:[/yellow] {current.note}", highlight=False, soft_wrap=True)


def _detail(detail: object) -> str:
    return detail if isinstance(detail, str) else json.dumps(detail)


@agent_app.command()
def run(
    source: Annotated[
        str | None, typer.Option("--source", help="video file instead of the camera")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="analysed frames per second")] = None,
    realtime: Annotated[bool, typer.Option(help="play a --source file at its own pace")] = False,
    repeat: Annotated[int, typer.Option(help="passes over a --source file (0: forever)")] = 1,
    exit_when_done: Annotated[
        bool, typer.Option(help="exit once a --source file is analysed and delivered")
    ] = False,
    page_port: Annotated[int, typer.Option(help="local page port on 127.0.0.1 (-1: off)")] = 8765,
    batch_size: Annotated[int, typer.Option(help="events per upload (≤ 500)")] = 500,
    max_backoff_s: Annotated[float, typer.Option(help="longest wait between retries")] = 60.0,
    heartbeat_s: Annotated[float, typer.Option(help="seconds between heartbeats")] = 30.0,
    capacity: Annotated[int, typer.Option(help="outbox size bound")] = DEFAULT_CAPACITY,
    self_check: Annotated[
        bool, typer.Option("--self-check", help="pre-shift camera and light check at start")
    ] = False,
    audio: Annotated[
        str | None,
        typer.Option(
            "--audio",
            help="room audio for the environment category: 'mic' (or mic:N), or a file played "
            "with --source; levels only, never stored or sent",
        ),
    ] = None,
    directory: DirOpt = None,
) -> None:
    """Watch the camera (or --source FILE), keep every event, send them to the server."""
    from deskwatch.agent.runner import AgentRunner, RunOptions
    from deskwatch.transport.client import DeviceClient

    where = state_dir(directory)
    try:
        config = load_credentials(where)
    except AgentError as exc:
        raise fail(str(exc)) from None
    spec = source or config.source
    _check_run_inputs(source, spec, rate, audio)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    options = RunOptions(
        source=spec,
        rate=rate,
        realtime=realtime,
        repeat=repeat,
        exit_when_done=exit_when_done,
        batch_size=batch_size,
        max_backoff_s=max_backoff_s,
        heartbeat_s=heartbeat_s,
        capacity=capacity,
        page_port=None if page_port < 0 else page_port,
        self_check=self_check,
        audio=audio,
    )
    runner = AgentRunner(config, where, options, DeviceClient(config.server_url, config.token))
    _stop_on_signals(runner)
    raise typer.Exit(runner.run())


def _check_run_inputs(source: str | None, spec: str, rate: float | None, audio: str | None) -> None:
    """One line and exit 2 for a missing file, a rate out of range or an unknown audio input."""
    from deskwatch.audio.capture import is_microphone

    if source is not None and "://" not in spec and not Path(spec).exists():
        raise fail(f"{spec}: no such file")
    if rate is not None and not 0 < rate <= 30:
        raise fail("--rate must be in (0, 30]")
    if audio is not None and not is_microphone(audio) and not Path(audio).is_file():
        raise fail(f"{audio}: no such file (use --audio mic for the microphone)")


def _stop_on_signals(runner: object) -> None:
    from deskwatch.agent.runner import AgentRunner

    assert isinstance(runner, AgentRunner)

    def handler(signum: int, frame: FrameType | None) -> None:
        if runner.stop.is_set():
            raise KeyboardInterrupt
        runner.stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@agent_app.command()
def check(directory: DirOpt = None) -> None:
    """Ask the running agent for a camera and light self-check (see the local page)."""
    Control(state_dir(directory)).request_check()
    out.print("self-check requested: the result and tips appear on your local page")


@agent_app.command()
def pause(directory: DirOpt = None) -> None:
    """Pause for a break: the camera is released and nothing is analysed. No reason asked."""
    Control(state_dir(directory)).pause()
    out.print("paused — the camera is off until you resume")


@agent_app.command()
def resume(directory: DirOpt = None) -> None:
    """Resume monitoring after a pause."""
    Control(state_dir(directory)).resume()
    out.print("resumed")


@agent_app.command()
def status(directory: DirOpt = None) -> None:
    """Paused or not, events waiting to be sent, and the local page's address."""
    where = state_dir(directory)
    try:
        config = load_credentials(where)
    except AgentError as exc:
        raise fail(str(exc)) from None
    pause_state = Control(where).state()
    outbox = Outbox(where / "outbox.db")
    level = outbox.level()
    outbox.close()
    page = where / PAGE_FILE
    url = json.loads(page.read_text())["url"] if page.exists() else "not running"
    for_s = pause_state.paused_for_s()
    out.print(f"device    {config.device_id} → {config.server_url}")
    out.print("paused    " + (f"yes, for {for_s:.0f} s" if for_s is not None else "no"))
    out.print(
        f"outbox    {level.length} event(s) waiting"
        + (f" — {level.warning}" if level.warning else "")
    )
    out.print(f"page      {url}")

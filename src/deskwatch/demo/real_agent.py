"""The demo PC that runs the real agent on the demo clip."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from deskwatch.agent.config import AgentConfig, save_credentials
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.demo.clip import write_demo_clip
from deskwatch.transport.client import DeviceClient


@dataclass(frozen=True)
class RealAgent:
    """Where the demo's real agent keeps its state, and its local page's port."""

    folder: Path
    page_port: int


def real_agent(
    base_url: str, code: str, folder: Path, page_port: int, stop: threading.Event
) -> None:
    """The first agent's PC: the real ``deskwatch agent`` (policy and privacy settings,
    outbox, uploader, heartbeats, local page) on the demo clip, played in real time, looped."""
    clip = write_demo_clip(folder / "demo-clip.mp4")
    enrolment = DeviceClient(base_url).enroll(code, "pc-00 (real agent)")
    config = AgentConfig(
        server_url=base_url,
        device_id=enrolment.device_id,
        token=enrolment.token,
        agent_id=enrolment.agent_id,
        team_id=enrolment.team_id,
        source=str(clip),
    )
    where = folder / "agent"
    save_credentials(where, config)
    options = RunOptions(source=str(clip), realtime=True, repeat=0, page_port=page_port)
    runner = AgentRunner(config, where, options, DeviceClient(base_url, config.token))
    threading.Thread(target=_relay, args=(stop, runner.stop), daemon=True).start()
    runner.run()


def _relay(stop: threading.Event, to: threading.Event) -> None:
    stop.wait()
    to.set()

"""Agent configuration: where its state lives and the device credentials (a 0600 file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from deskwatch.errors import DeskwatchError
from deskwatch.files import write_private

ENV_DIR = "DESKWATCH_AGENT_DIR"
CREDENTIALS = "credentials.json"
DEFAULT_SOURCE = "camera:0"


class AgentError(DeskwatchError):
    """The agent cannot go on: say why in one line."""


class AgentConfig(BaseModel):
    """What enrolment gives the device, plus the camera to watch."""

    model_config = ConfigDict(extra="forbid")

    server_url: str
    device_id: str
    token: str
    agent_id: int
    team_id: int | None = None
    source: str = DEFAULT_SOURCE


def state_dir(given: Path | None = None) -> Path:
    """``--state-dir``, else ``$DESKWATCH_AGENT_DIR``, else ``~/.local/state/deskwatch``."""
    if given is not None:
        return given
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    return Path.home() / ".local" / "state" / "deskwatch"


def ensure_dir(path: Path) -> Path:
    """Create the state dir readable by the user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def save_credentials(directory: Path, config: AgentConfig) -> Path:
    path = ensure_dir(directory) / CREDENTIALS
    write_private(path, config.model_dump_json(indent=2))
    return path


def load_credentials(directory: Path) -> AgentConfig:
    path = directory / CREDENTIALS
    try:
        return AgentConfig.model_validate(json.loads(path.read_text()))
    except FileNotFoundError:
        raise AgentError(
            f"no device credentials in {directory}: run `deskwatch agent enroll` first"
        ) from None
    except (OSError, ValueError, ValidationError) as exc:
        raise AgentError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None

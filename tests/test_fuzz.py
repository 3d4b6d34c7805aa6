"""Bounded fuzzing (hypothesis, a few seconds each) of what reads untrusted input on the
edge: the policy TOML loader, the media decoders and the worker's local page. Bad input
gives a deskwatch error (or a 4xx), never another exception, a 5xx, a traceback or a hang."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskwatch.agent.config import AgentConfig
from deskwatch.agent.local_page import LocalPage
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.capture.source import open_source
from deskwatch.config import Policy, load_policy_text
from deskwatch.errors import DeskwatchError, PolicyError
from deskwatch.transport.client import DeviceClient
from tests.server_process import free_port

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_DEFAULT = Policy()
SECTIONS = [
    "analysis",
    "identity",
    "rules",
    "detectors",
    *(f"detectors.{name}" for name in _DEFAULT.detectors),
    *(f"rules.{name}" for name in type(_DEFAULT.rules).model_fields),
]
KEYS = sorted(
    {"enabled", "fps", "type", "version", "model_path", "min_away_s", "x"}
    | {k for c in _DEFAULT.detectors.values() for k in type(c).model_fields}
)
VALUES = st.sampled_from(
    ["1", "-1", "0", "1e309", "nan", "inf", "-inf", "true", '"x"', '"emotion"', "[]", "[1, 2]",
     "{a = 1}", "1979-05-27T07:32:00Z", "12:00:00", '""', "9999999999999999999999", "0.5"]
)  # fmt: skip


def _fragment() -> st.SearchStrategy[str]:
    line = st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}")
    header = st.sampled_from(SECTIONS).map(lambda s: f"[{s}]")
    return st.lists(st.one_of(line, header, st.text(max_size=20)), max_size=12).map("\n".join)


@FUZZ
@given(st.one_of(st.text(max_size=400), _fragment()))
def test_policy_loader_raises_only_policy_errors(text: str) -> None:
    try:
        load_policy_text(text)
    except PolicyError as exc:
        assert str(exc)


@pytest.mark.parametrize("suffix", [".mp4", ".png", ".jpg", ".avi", ".webm", ""])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=2048))
def test_decoders_on_random_bytes_raise_only_deskwatch_errors(
    tmp_path: Path, suffix: str, data: bytes
) -> None:
    for spec in _media(tmp_path, suffix, data):
        try:
            source = open_source(str(spec), fps=5)
            try:
                for n, _frame in enumerate(source):
                    if n >= 3:
                        break
            finally:
                source.close()
        except DeskwatchError as exc:
            assert str(exc)


def _media(folder: Path, suffix: str, data: bytes) -> list[Path]:
    file = folder / f"random{suffix}"
    file.write_bytes(data)
    if suffix not in (".png", ".jpg"):
        return [file]
    images = folder / "images"
    images.mkdir(exist_ok=True)
    (images / f"a{suffix}").write_bytes(data)
    return [file, images]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPage]:
    state = tmp_path_factory.mktemp("agent")
    config = AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=7)
    client = DeviceClient(config.server_url, config.token)
    runner = AgentRunner(config, state, RunOptions(source="camera:0", page_port=0), client)
    page = LocalPage(runner, free_port()).start()
    yield page
    page.close()
    runner.outbox.close()


HEADER_NAME = st.sampled_from(["host", "content-length", "x-deskwatch-token", "content-type", "x"])
HEADER_VALUE = st.one_of(
    st.sampled_from(["-1", "²", "abc", "99999999999999999999", "127.0.0.1:{port}", "é", "", "0"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=30),
)
PATHS = st.one_of(
    st.sampled_from(["/", "/state.json", "/pause", "/resume", "/check", "//", "/%00", "*"]),
    st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=40).map(
        lambda s: "/" + s
    ),
)


def _request(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "HEAD", "BREW"]),
    path=PATHS,
    headers=st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=5),
    body=st.binary(max_size=300),
    good_host=st.booleans(),
)
def test_local_page_never_answers_5xx(
    page: LocalPage,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    good_host: bool,
) -> None:
    lines = [f"{method} {path} HTTP/1.1"]
    if good_host:
        lines.append(f"host: 127.0.0.1:{page.port}")
    lines += [f"{k}: {v.replace('{port}', str(page.port))}" for k, v in headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "replace") + body
    reply = _request(page.port, raw)
    assert reply.startswith(b"HTTP/1."), (raw, reply)
    status = int(reply.split(b" ", 2)[1])
    assert status < 500, (raw, reply[:300])

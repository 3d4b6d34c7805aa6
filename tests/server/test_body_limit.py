"""Bodies over the limit get 413 however they come: declared or chunked, against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess

LIMIT = 2 * 1024 * 1024  # Settings.max_body_bytes' default
CHUNK = b"x" * 65536


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder: Path = tmp_path_factory.mktemp("body_limit")
    process = ServerProcess(f"sqlite:///{folder / 'server.db'}", folder)
    process.start()
    yield process
    process.stop()


def _chunks(total: int, kind: str = "application/json") -> Iterator[bytes]:
    """About ``total`` bytes in 64 KiB pieces; a form's pieces are fields of their own (no one
    field over the form parser's own 1 MiB limit on a field)."""
    piece = CHUNK
    if kind.startswith("application/x-www-form"):
        piece = b"f=" + CHUNK + b"&"
    elif kind.startswith("multipart/"):
        piece = b'--x\r\ncontent-disposition: form-data; name="f"\r\n\r\n' + CHUNK + b"\r\n"
    sent = 0
    while sent < total:
        part = piece[: total - sent]
        sent += len(part)
        yield part


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/v1/events", "application/json"),
        ("/api/v1/auth/login", "application/json"),
        ("/admin/users", "application/x-www-form-urlencoded"),
        ("/me/requests", "multipart/form-data; boundary=x"),
    ],
)
def test_a_chunked_body_over_the_limit_gets_413(
    server: ServerProcess, path: str, kind: str
) -> None:
    headers = {"content-type": kind}
    reply = httpx.post(
        server.url + path,
        content=_chunks(LIMIT + 2 * len(CHUNK), kind),
        headers=headers,
        timeout=30,
    )
    assert reply.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in reply.request.headers
    assert reply.status_code == 413, reply.text
    if path.startswith("/api/"):
        assert reply.json() == {"detail": "request body too large"}
    else:  # a web form's answer is a page for people
        assert "Too large" in reply.text and "text/html" in reply.headers["content-type"]


def test_a_declared_body_over_the_limit_gets_413(server: ServerProcess) -> None:
    reply = httpx.post(server.url + "/api/v1/events", content=b"x" * (LIMIT + 1), timeout=30)
    assert reply.status_code == 413
    assert reply.json() == {"detail": "request body too large"}


def test_a_chunked_body_under_the_limit_is_read(server: ServerProcess) -> None:
    """Not refused for its size: read whole, then refused for what it is (no device token)."""
    reply = httpx.post(server.url + "/api/v1/events", content=_chunks(LIMIT - 1), timeout=30)
    assert reply.request.headers.get("transfer-encoding") == "chunked"
    assert reply.status_code in (401, 422), reply.text

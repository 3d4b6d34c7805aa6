"""Server commands: run the server, verify the audit log, purge, write the DPIA draft."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from deskwatch.console import err, fail, out
from deskwatch.server.users_cli import settings_or_fail, users_app

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from deskwatch.server.audit.chain import AuditChain
    from deskwatch.server.settings import Settings

server_app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
audit_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The audit log.")
server_app.add_typer(audit_app, name="audit")
server_app.add_typer(users_app, name="users")


@server_app.command()
def server(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="processes (PostgreSQL)")] = 1,
) -> None:
    """Run the deskwatch server (DESKWATCH_DATABASE_URL, default ./deskwatch.db)."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from deskwatch.server.audit.chain import AuditChain
    from deskwatch.server.db import make_engine
    from deskwatch.server.migrate import upgrade
    from deskwatch.server.ops.logs import uvicorn_log_config
    from deskwatch.server.snapshots.keys import public_key_b64

    settings = settings_or_fail()
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        raise fail("--workers above 1 needs PostgreSQL (SQLite is for one process)")
    shared = _share_metrics(workers) if settings.metrics_enabled else None
    try:
        engine = make_engine(settings.database_url)
        audit = AuditChain.from_settings(settings)  # made once, shared by the workers
        upgrade(engine, audit=audit)  # once, before any worker starts
        _note_configuration(engine, audit, settings)
        engine.dispose()
        settings.signing_key()  # create the key files once, shared by the workers
        public_key_b64(settings)
    except Exception as exc:  # a database that cannot be reached or migrated
        raise fail(f"cannot start the server: {exc}") from None
    try:
        uvicorn.run(
            "deskwatch.server.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            log_config=uvicorn_log_config(settings.log_format) or LOGGING_CONFIG,
            access_log=False,  # a line per heartbeat costs more CPU than the heartbeat itself
        )
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def _share_metrics(workers: int) -> str | None:
    """With several workers, a folder of this run's metric values that every worker writes
    to (prometheus-client's multiprocess mode), set in the environment the workers inherit;
    emptied now, removed when the server stops (None: one process needs none, or the folder
    is the operator's own ``PROMETHEUS_MULTIPROC_DIR``, which is emptied and kept)."""
    from deskwatch.server.ops.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    given = os.environ.get(MULTIPROC_ENV)
    if workers == 1 and not given:
        return None
    path = given or tempfile.mkdtemp(prefix="deskwatch-metrics-")
    prepare_multiprocess_dir(path)
    os.environ[MULTIPROC_ENV] = path
    return None if given else path


DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="database URL (default: DESKWATCH_DATABASE_URL)"),
]


def _audited_sessions(database_url: str | None) -> sessionmaker[Session]:
    """Sessions on the server's database that append to its audit chain with its key (the
    key must exist already: a command never makes a second one)."""
    from deskwatch.server.audit.chain import AuditChain, attach
    from deskwatch.server.db import make_engine, session_factory
    from deskwatch.server.settings import get_settings

    settings = get_settings()
    chain = AuditChain.from_settings(settings, create=False)
    return attach(session_factory(make_engine(database_url or settings.database_url)), chain)


@audit_app.command("verify")
def audit_verify(database_url: DatabaseOpt = None) -> None:
    """Check the audit log's HMAC chain and head record; exit 1 naming the first bad entry."""
    from deskwatch.server.audit.service import verify

    try:
        with _audited_sessions(database_url)() as session:
            result = verify(session)
    except Exception as exc:  # no key, unreachable database, no audit table
        raise fail(f"cannot read the audit log: {exc}") from None
    if result.intact:
        pruned = result.pruned_through
        since = f" (entries up to #{pruned} removed by retention)" if pruned else ""
        out.print(f"audit log intact: {result.entries} entries{since}")
        return
    where = f" at entry {result.broken_at}" if result.broken_at is not None else ""
    err.print(f"audit log TAMPERED{where}: {result.reason}")
    raise typer.Exit(1)


@server_app.command()
def purge(database_url: DatabaseOpt = None) -> None:
    """Delete data past its retention now (the server also does so on a schedule)."""
    from deskwatch.server.db import utcnow
    from deskwatch.server.scheduled import purge_once
    from deskwatch.server.settings import get_settings

    settings = get_settings()
    try:
        result = purge_once(_audited_sessions(database_url), now=utcnow(), settings=settings)
    except Exception as exc:  # unreachable database, missing tables
        raise fail(f"cannot purge: {exc}") from None
    if result is None:
        out.print("another process is purging right now; nothing done")
        return
    table = Table(title="deleted past retention")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in result.counts().items():
        table.add_row(name, str(count))
    out.print(table)


@server_app.command()
def dpia(
    fmt: Annotated[str, typer.Option("--format", help="md or html")] = "md",
    out_path: Annotated[Path | None, typer.Option("--out", help="write to FILE")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Write a DPIA / legitimate-interest assessment draft from the live configuration."""
    from deskwatch.server.db import utcnow
    from deskwatch.server.dpia.render import to_html, to_markdown
    from deskwatch.server.dpia.service import read, retention_of
    from deskwatch.server.settings import get_settings

    if fmt not in ("md", "html"):
        raise fail(f"--format: {fmt!r} is not md or html")
    settings = get_settings()
    try:
        with _audited_sessions(database_url).begin() as session:
            now, retention = utcnow(), retention_of(settings)
            doc = read(session, reader=None, now=now, retention=retention, what=fmt)
    except Exception as exc:  # unreachable database, not yet created by the server
        raise fail(f"cannot read the configuration: {exc}") from None
    text = to_html(doc) if fmt == "html" else to_markdown(doc)
    if out_path is None:
        sys.stdout.write(text)
        return
    out_path.write_text(text, encoding="utf-8")
    err.print(f"wrote the DPIA draft to {out_path}")


def _note_configuration(engine: Engine, audit: AuditChain, settings: Settings) -> None:
    """Audit the integrations set in the environment when they changed since the last start."""
    from deskwatch.server.audit.chain import attach
    from deskwatch.server.db import session_factory, utcnow
    from deskwatch.server.ops.service import note_configuration

    sessions = session_factory(engine)
    attach(sessions, audit)
    with sessions.begin() as session:
        note_configuration(session, settings=settings, now=utcnow())

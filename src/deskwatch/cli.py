"""The ``deskwatch`` command line."""

from __future__ import annotations

import itertools
import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from deskwatch import analysis
from deskwatch.agent.cli import agent_app
from deskwatch.arrays import as_image
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source
from deskwatch.config import Policy, load_policy
from deskwatch.errors import DeskwatchError
from deskwatch.events.event import Event
from deskwatch.events.sinks import JsonLinesWriter
from deskwatch.events.summary import summarise
from deskwatch.perception.observation import Observation
from deskwatch.pipeline import Pipeline

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from deskwatch.annotate import Annotator
    from deskwatch.audio import AudioTrack
    from deskwatch.checks import SelfCheckResult

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(agent_app, name="agent")
err = Console(stderr=True)
out = Console()

# Frames per second the self-check analyses (face detection and mesh on each).
SELF_CHECK_FPS = 5.0

PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="policy TOML file")]


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.command()
def analyze(
    source: Annotated[
        str | None, typer.Argument(help="video, image folder, camera:N or URL")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="analyse the built-in demo clip")] = False,
    policy_path: PolicyOpt = None,
    rate: Annotated[float | None, typer.Option(help="analysed frames per second")] = None,
    fps: Annotated[float, typer.Option(help="frame rate of an image folder")] = 1.0,
    out_path: Annotated[Path | None, typer.Option("--out", help="write events as JSONL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="events as JSONL on stdout")] = False,
    observations: Annotated[Path | None, typer.Option(help="one JSON line per frame")] = None,
    annotate: Annotated[Path | None, typer.Option(help="write an annotated MP4")] = None,
    audio: Annotated[
        str | None,
        typer.Option("--audio", help="room audio: a WAV or video file, or 'mic' (never stored)"),
    ] = None,
) -> None:
    """Analyse a source and print the compliance events it contains."""
    if (source is None) == (not demo):
        raise fail("give a SOURCE or --demo (not both)")
    try:
        policy = load_policy(policy_path)
        if rate is not None:
            policy.analysis.fps = rate
        src = _open(source, demo, policy, fps)
        track = _open_audio(audio)
    except DeskwatchError as exc:
        raise fail(str(exc)) from None
    try:
        result = _run(src, policy, _Writes(out_path, as_json, observations, annotate), track)
    except DeskwatchError as exc:
        raise fail(str(exc)) from None
    _report(result, as_json)
    if result.error:
        raise fail(result.error)
    if result.interrupted:
        err.print("interrupted: events found so far were kept")
        raise typer.Exit(130)


def _open(source: str | None, demo: bool, policy: Policy, image_fps: float) -> FrameSource:
    if demo:
        from deskwatch.demo import DemoSource

        return DemoSource(fps=policy.analysis.fps)
    assert source is not None
    return open_source(source, policy.analysis.fps, image_fps)


class _Outputs:
    """Everything a run writes: event JSONL sinks, observations, the annotated video."""

    def __init__(self, stack: ExitStack, out_path: Path | None, as_json: bool) -> None:
        self.events: list[JsonLinesWriter] = []
        if out_path is not None:
            self.events.append(JsonLinesWriter(stack.enter_context(out_path.open("w"))))
        if as_json:
            self.events.append(JsonLinesWriter(sys.stdout))
        self.observations: JsonLinesWriter | None = None
        self.annotator: Annotator | None = None

    def frame(self, frame: Frame, obs: Observation, events: list[Event]) -> None:
        self.ended([e for e in events if not e.is_open])
        if self.observations is not None:
            self.observations.write(obs.to_dict())
        if self.annotator is not None:
            self.annotator.add(frame, obs, events)

    def ended(self, events: list[Event]) -> None:
        for event in events:
            for sink in self.events:
                sink.write_event(event)


def _open_audio(spec: str | None) -> AudioTrack | None:
    if spec is None:
        return None
    from deskwatch.audio import AudioAnalyser, AudioTrack, open_audio

    analyser = AudioAnalyser()  # fails first, with the install hint, if the extra is missing
    return AudioTrack(open_audio(spec), analyser)


@dataclass(frozen=True)
class _Writes:
    """Where a run writes: events (file and/or stdout), observations, annotated video."""

    out_path: Path | None
    as_json: bool
    observations: Path | None
    annotate: Path | None


def _run(
    src: FrameSource, policy: Policy, writes: _Writes, audio: AudioTrack | None = None
) -> analysis.Outcome:
    with ExitStack() as stack:
        outputs = _Outputs(stack, writes.out_path, writes.as_json)
        if writes.observations is not None:
            observations = stack.enter_context(writes.observations.open("w"))
            outputs.observations = JsonLinesWriter(observations)
        if writes.annotate is not None:
            from deskwatch.annotate import Annotator

            annotator = Annotator(writes.annotate, policy.analysis.fps)
            outputs.annotator = stack.enter_context(annotator)
        pipeline = stack.enter_context(Pipeline(policy))
        progress = stack.enter_context(_progress(src))
        task = progress.add_task(src.name, total=src.duration_s)

        def on_frame(frame: Frame, obs: Observation, events: list[Event]) -> None:
            outputs.frame(frame, obs, events)
            progress.update(task, completed=frame.ts)

        result = analysis.run(src, pipeline, on_frame, audio)
        outputs.ended(result.final)
        return result


def _progress(src: FrameSource) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=src.duration_s is None or not err.is_terminal,
    )


def _report(result: analysis.Outcome, as_json: bool) -> None:
    summary = summarise(result.events, result.last_ts)
    console = err if as_json else out
    table = Table(title="deskwatch events")
    for col in ("event", "count", "total s"):
        table.add_column(col, justify="right" if col != "event" else "left")
    for name, count in sorted(summary.counts.items()):
        table.add_row(name, str(count), f"{summary.seconds.get(name, 0.0):.1f}")
    console.print(table)
    console.print(
        f"analysed {summary.analysed_s:.1f} s in {result.frames} frames; "
        f"away {summary.away_s:.1f} s in total"
    )
    if not as_json:
        for event in result.events:
            console.print(
                f"  {event.type:<18} {event.start_s:8.1f} s → {event.end_s or 0:8.1f} s "
                f"({event.duration_s or 0:.1f} s, peak {event.peak_confidence:.2f})",
                highlight=False,
            )


@app.command()
def check(
    source: Annotated[str, typer.Argument(help="camera:N, or a video for testing")] = "camera:0",
    seconds: Annotated[float, typer.Option(help="how long to watch", min=1, max=60)] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="the result as JSON")] = False,
) -> None:
    """Pre-shift self-check of framing, light and focus; exit 0 on pass, 1 on fail."""
    from deskwatch.checks import run_self_check

    try:
        src = open_source(source, SELF_CHECK_FPS)
        try:
            frames = list(itertools.takewhile(lambda f: f.ts < seconds, src))
        finally:
            src.close()
    except DeskwatchError as exc:
        raise fail(str(exc)) from None
    if not frames:
        raise fail(f"{source}: no frame to check")
    result = run_self_check(frames)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        _report_check(result)
    raise typer.Exit(0 if result.passed else 1)


def _report_check(result: SelfCheckResult) -> None:
    n = result.numbers
    out.print(
        "[green]self-check passed[/green]" if result.passed else "[red]self-check failed[/red]"
    )
    out.print(
        f"face found in {n.face_rate:.0%} of {n.frames} frames, {n.face_height:.0%} of the "
        f"picture high; light on face {n.face_brightness:.0f}/255, background "
        f"{n.background_brightness:.0f}/255; sharpness {n.sharpness:.3f}",
        highlight=False,
    )
    for tip in result.tips:
        out.print(f"  • {tip}", highlight=False)


@app.command()
def inspect(
    image: Annotated[Path, typer.Argument(help="an image file")],
    policy_path: PolicyOpt = None,
) -> None:
    """Print the observation for one image as JSON."""
    import cv2

    from deskwatch.perception.detectors.face_mesh import FaceMeshConfig
    from deskwatch.perception.detectors.hands import HandsConfig

    try:
        policy = load_policy(policy_path)
    except DeskwatchError as exc:
        raise fail(str(exc)) from None
    picture = cv2.imread(str(image), cv2.IMREAD_COLOR) if image.is_file() else None
    if picture is None:
        raise fail(f"{image}: not a readable image")
    for name, config in policy.detectors.items():
        if isinstance(config, FaceMeshConfig | HandsConfig):
            policy.detectors[name] = config.model_copy(update={"static_image": True})
    with Pipeline(policy) as pipeline:
        obs = pipeline.observe(Frame(as_image(picture), 0.0, 0))
    out.print_json(json.dumps(obs.to_dict()))


@app.command("demo-clip")
def demo_clip(path: Annotated[Path, typer.Argument(help="MP4 file to write")]) -> None:
    """Write the built-in demo clip as a video file."""
    from deskwatch.demo import write_demo_clip

    try:
        write_demo_clip(path)
    except OSError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {path}")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Start a seeded server with simulated agents and one real pipeline (the main job)."""
    from deskwatch.server.demo import run_demo

    run_demo(host, port)


@app.command()
def server(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="processes (PostgreSQL)")] = 1,
) -> None:
    """Run the deskwatch server (DESKWATCH_DATABASE_URL, default ./deskwatch.db)."""
    import uvicorn

    from deskwatch.server.audit.chain import AuditChain
    from deskwatch.server.db import make_engine
    from deskwatch.server.migrate import upgrade
    from deskwatch.server.settings import get_settings
    from deskwatch.server.snapshots.keys import public_key_b64

    settings = get_settings()
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        raise fail("--workers above 1 needs PostgreSQL (SQLite is for one process)")
    try:
        engine = make_engine(settings.database_url)
        audit = AuditChain.from_settings(settings)  # made once, shared by the workers
        upgrade(engine, audit=audit)  # once, before any worker starts
        engine.dispose()
        settings.signing_key()  # create the key files once, shared by the workers
        public_key_b64(settings)
    except Exception as exc:  # a database that cannot be reached or migrated
        raise fail(f"cannot start the server: {exc}") from None
    uvicorn.run(
        "deskwatch.server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,  # a line per heartbeat costs more CPU than the heartbeat itself
    )


audit_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The audit log.")
app.add_typer(audit_app, name="audit")


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


@app.command()
def purge(database_url: DatabaseOpt = None) -> None:
    """Delete data past its retention now (the server also does so on a schedule)."""
    from deskwatch.server.db import utcnow
    from deskwatch.server.privacy.retention import purge_once
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


@app.command()
def dpia(
    fmt: Annotated[str, typer.Option("--format", help="md or html")] = "md",
    out_path: Annotated[Path | None, typer.Option("--out", help="write to FILE")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Write a DPIA / legitimate-interest assessment draft from the live configuration."""
    from deskwatch.server.db import utcnow
    from deskwatch.server.privacy.dpia import read, retention_of
    from deskwatch.server.privacy.dpia_render import to_html, to_markdown
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

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
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from deskwatch import analysis
from deskwatch.agent.cli import agent_app
from deskwatch.arrays import as_image
from deskwatch.capture.dimensions import check_image_file
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source
from deskwatch.config import Policy, load_policy
from deskwatch.console import err, fail, out
from deskwatch.demo.cli import demo_app
from deskwatch.errors import DeskwatchError
from deskwatch.events.event import Event
from deskwatch.events.sinks import JsonLinesWriter
from deskwatch.events.summary import summarise
from deskwatch.perception.observation import Observation
from deskwatch.pipeline import Pipeline
from deskwatch.server.cli import server_app
from deskwatch.training.cli import train_app

if TYPE_CHECKING:
    from deskwatch.annotate import Annotator
    from deskwatch.audio import AudioTrack
    from deskwatch.checks import SelfCheckResult

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(agent_app, name="agent")
app.add_typer(server_app)  # server, audit, users, purge, dpia
app.add_typer(demo_app)  # demo, demo-clip
app.add_typer(train_app, name="train")  # the shipped model (the train extra)

# Frames per second the self-check analyses (face detection and mesh on each).
SELF_CHECK_FPS = 5.0

PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="policy TOML file")]


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
        from deskwatch.demo.clip import DemoSource

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
        if image.is_file():
            check_image_file(image)
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


TrayDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="the agent's state (default $DESKWATCH_AGENT_DIR or ~/.local/state/deskwatch)",
    ),
]


@app.command()
def tray(directory: TrayDirOpt = None) -> None:
    """A system-tray icon for the agent on this PC: its state, pause/resume, its page."""
    from deskwatch.agent.config import state_dir

    try:
        from deskwatch.desktop.tray import run
    except ImportError as exc:  # PySide6 missing, or its Qt libraries
        raise fail(escape(f"the tray needs PySide6: install deskwatch[desktop] ({exc})")) from None
    raise typer.Exit(run(state_dir(directory)))

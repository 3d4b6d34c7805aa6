"""``deskwatch train``: rebuild the shipped desk-object model from ../shared's data.

Needs the ``train`` extra (``pip install -e '.[train]'``: PyTorch CPU and onnx2torch).
``deskwatch train all`` runs the three steps with their defaults, which are the settings
of the shipped model; each step can also run alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deskwatch.console import fail, out
from deskwatch.errors import DeskwatchError

train_app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

SHARED = Path("../shared")
PHONE_SET = SHARED / "data" / "train" / "phone"
COCO = SHARED / "models" / "yolox-nano" / "yolox_nano.onnx"
WORK = Path("build") / "desk-objects"

DataOpt = Annotated[Path, typer.Option(help="the phone set (YOLO layout, see its README)")]
BaseOpt = Annotated[Path, typer.Option(help="COCO YOLOX-nano ONNX: teacher and starting point")]
WorkOpt = Annotated[Path, typer.Option(help="folder for the built set and checkpoints")]
OutOpt = Annotated[Path, typer.Option(help="where the trained ONNX goes")]


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=out,
    )


@train_app.command("data")
def data(phone_set: DataOpt = PHONE_SET, base: BaseOpt = COCO, work: WorkOpt = WORK) -> None:
    """Relabel the real images (teacher for non-phone classes) and synthesise the rest."""
    from deskwatch.training.build import build
    from deskwatch.training.synth import SynthParams

    with _bar() as bar:
        task = bar.add_task("building", total=None, note="")

        def step(kind: str, n: int) -> None:
            bar.update(task, advance=n, note=kind)

        try:
            written = build(phone_set, base, work / "data", SynthParams(), step)
        except DeskwatchError as exc:
            raise fail(str(exc)) from None
    out.print(f"wrote {len(written.rows)} images under {work / 'data'}")


@train_app.command("fit")
def fit(base: BaseOpt = COCO, work: WorkOpt = WORK) -> None:
    """Fine-tune on the built set; the weights go to ``<work>/weights.pt``."""
    from deskwatch.training.run import fit_model

    with _bar() as bar:
        task = bar.add_task("training", total=None, note="")

        def step(done: int, total: int, loss: float) -> None:
            bar.update(task, completed=done, total=total, note=f"loss {loss:.3f}")

        try:
            fit_model(base, work, step)
        except DeskwatchError as exc:
            raise fail(str(exc)) from None
    out.print(f"weights in {work / 'weights.pt'}")


@train_app.command("export")
def export(
    base: BaseOpt = COCO,
    work: WorkOpt = WORK,
    to: OutOpt = Path("src/deskwatch/perception/models/desk_objects.onnx"),
    int8: Annotated[bool, typer.Option(help="quantise weights and activations to int8")] = False,
) -> None:
    """Write the trained weights into the ONNX graph deskwatch ships."""
    from deskwatch.training.run import export_model

    try:
        size = export_model(base, work, to, int8=int8)
    except DeskwatchError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {to} ({size / 1e6:.1f} MB)")


@train_app.command("all")
def run_all(phone_set: DataOpt = PHONE_SET, base: BaseOpt = COCO, work: WorkOpt = WORK) -> None:
    """data, fit and export with the shipped model's settings."""
    data(phone_set, base, work)
    fit(base, work)
    export(base, work)

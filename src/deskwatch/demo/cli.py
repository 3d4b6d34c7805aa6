"""``deskwatch demo`` and ``deskwatch demo-clip``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deskwatch.console import fail, out

demo_app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@demo_app.command("demo-clip")
def demo_clip(path: Annotated[Path, typer.Argument(help="MP4 file to write")]) -> None:
    """Write the built-in demo clip as a video file."""
    from deskwatch.demo.clip import write_demo_clip

    try:
        write_demo_clip(path)
    except OSError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {path}")


@demo_app.command()
def demo(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Start a seeded server with simulated agents and one real pipeline (the main job)."""
    from deskwatch.demo.site import run_demo

    run_demo(host, port)

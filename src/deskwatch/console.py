"""What every command-line module shares: the two consoles and the one-line failure."""

from __future__ import annotations

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console()


def fail(message: str) -> typer.Exit:
    """Say ``message`` on one line on stderr; raise the result to exit with status 2."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)

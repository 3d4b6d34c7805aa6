"""``python -m deskwatch.training``: the same commands as ``deskwatch train``."""

from deskwatch.training.cli import train_app

train_app(prog_name="python -m deskwatch.training")

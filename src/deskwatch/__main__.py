from deskwatch.cli import app

app()

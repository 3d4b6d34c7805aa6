"""Server-rendered web UI (Jinja2); every asset is served locally."""

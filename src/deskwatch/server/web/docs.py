"""``/api/docs``: Swagger UI from vendored files (``scripts/vendor-js``), so it works offline
and under the site's CSP, which forbids CDNs and inline scripts."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
VENDOR = "/static/vendor/swagger-ui"
PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>deskwatch API</title>
  <link rel="stylesheet" href="{VENDOR}/swagger-ui.css">
  <link rel="stylesheet" href="/static/swagger-fixes.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{VENDOR}/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/api/docs")
def api_docs() -> HTMLResponse:
    return HTMLResponse(PAGE)

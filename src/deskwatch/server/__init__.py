"""The deskwatch server: device ingest, live board, timelines, reports, roles."""

"""Data-subject requests (erasure, rectification) and the worker's own export (My data)."""

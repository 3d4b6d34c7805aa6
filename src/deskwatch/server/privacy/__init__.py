"""Preference centre, objections, worker self-service and data-subject requests."""

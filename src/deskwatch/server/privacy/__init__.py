"""Preference centre (per-team categories) and workers' objections."""

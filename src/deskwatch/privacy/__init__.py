"""Monitoring categories and their enforcement."""

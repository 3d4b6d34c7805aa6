"""Opt-in evidence stills: blurred and sealed on the PC, kept at most 7 days."""

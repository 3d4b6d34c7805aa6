"""Errors that the CLI turns into one clear line and exit code 2."""


class DeskwatchError(Exception):
    """A user-facing error: bad input, unreadable source, invalid policy."""


class SourceError(DeskwatchError):
    """A frame source could not be opened or broke while reading."""


class PolicyError(DeskwatchError):
    """A policy file is missing, malformed or has unknown keys."""

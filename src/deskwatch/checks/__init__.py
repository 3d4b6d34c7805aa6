"""Workspace checks run before a shift."""

from deskwatch.checks.selfcheck import SelfCheckResult, run_self_check

__all__ = ["SelfCheckResult", "run_self_check"]

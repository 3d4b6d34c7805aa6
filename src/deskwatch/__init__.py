"""deskwatch: privacy-first, on-device workspace-compliance monitoring."""

__version__ = "0.1.0"

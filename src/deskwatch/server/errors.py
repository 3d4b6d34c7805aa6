"""Service-level errors that routes turn into HTTP answers."""


class NotFoundError(Exception):
    """404: the thing does not exist (or the caller may not know it does)."""


class RefusedError(Exception):
    """400: the request is understood but cannot be honoured."""


class InvalidError(Exception):
    """422: the content is invalid; the message says where."""

"""Service-level errors that routes turn into HTTP answers, and the answers' shapes."""

from __future__ import annotations

from pydantic import BaseModel


class NotFoundError(Exception):
    """404: the thing does not exist (or the caller may not know it does)."""


class RefusedError(Exception):
    """400: the request is understood but cannot be honoured."""


class InvalidError(Exception):
    """422: the content is invalid; the message says where."""


class ErrorOut(BaseModel):
    """Every error but 422: ``{"detail": "why"}``."""

    detail: str


class FieldErrorOut(BaseModel):
    """One invalid input: the field's dotted path (``events.3.peak_confidence``) and why."""

    field: str
    msg: str


class ValidationErrorOut(BaseModel):
    """422: ``{"detail": [{"field": ..., "msg": ...}, ...]}``."""

    detail: list[FieldErrorOut]


# The errors any operation may answer with, and when (documented on every operation).
ERRORS: dict[int, str] = {
    400: "Refused: understood, but it cannot be honoured",
    401: "Not logged in, or no (or an unknown) device token",
    403: "Not allowed for this role, a revoked device or a missing CSRF token",
    404: "No such thing, or none the caller may know of",
    410: "Gone: it can no longer be read",
    413: "The request body is too large",
    422: "Invalid input: each entry names the field and says why",
    429: "Too many tries: wait a while",
}

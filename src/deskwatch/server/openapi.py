"""The OpenAPI document with the errors the server really sends (``errors.ERRORS``).

FastAPI documents a 422 of ``{loc, msg, type}`` and no other error; the app's handlers send
``{"detail": [{"field", "msg"}]}`` for 422 and ``{"detail": "why"}`` for the rest. Every
operation documents those instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from deskwatch.server.errors import ERRORS, ErrorOut, FieldErrorOut, ValidationErrorOut

REF = "#/components/schemas/{model}"
FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def documented_errors(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """A replacement for ``app.openapi``: FastAPI's document, its errors made true."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_errors(FastAPI.openapi(app))
        return app.openapi_schema

    return openapi


def with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_ERRORS:
        components.pop(name, None)
    for model in (ErrorOut, FieldErrorOut, ValidationErrorOut):
        components[model.__name__] = model.model_json_schema(ref_template=REF)
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method in METHODS:
                _document(operation["responses"])
    return schema


def _document(responses: dict[str, Any]) -> None:
    for code, words in ERRORS.items():
        model: type[BaseModel] = ValidationErrorOut if code == 422 else ErrorOut
        answer = responses.setdefault(str(code), {})
        answer["description"] = words
        answer["content"] = {
            "application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}
        }

"""Every failure leaves the server as OpenAI's error JSON, so OpenAI clients raise their usual errors.

`{"error": {"message", "type", "param", "code"}}` with the matching HTTP status; messages say what
was wrong and what to send instead.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

INVALID = "invalid_request_error"
_TYPES = {401: "authentication_error", 403: "permission_error", 404: INVALID, 409: INVALID,
          413: INVALID, 415: INVALID, 429: "rate_limit_error", 503: "server_error"}


class APIError(Exception):
    """An error meant for the client: status, message and OpenAI's `type`/`param`/`code`."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None, type_: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.type = type_ or _TYPES.get(status, INVALID if status < 500 else "server_error")


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(exc: APIError) -> JSONResponse:
    return JSONResponse(error_body(exc.message, exc.type, exc.code, exc.param), status_code=exc.status,
                        headers=exc.headers)


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own 404/405 (unknown path, wrong method) in the same shape."""
    messages = {404: f"No such endpoint: {request.method} {request.url.path}",
                405: f"{request.method} is not allowed on {request.url.path}"}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(APIError(exc.status_code, message, code="not_found" if exc.status_code == 404 else None,
                                   headers=dict(exc.headers or {})))


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(APIError(400, describe_validation(exc.errors()), code="invalid_value"))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(APIError(500, f"Internal error: {type(exc).__name__}: {exc}", code="internal_error"))


def describe_validation(errors: Any) -> str:
    """Pydantic's first complaint as one sentence naming the field ("messages.0.role: ...")."""
    if not errors:
        return "The request body is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return f"Invalid request: {where}: {first.get('msg', 'invalid value')}"


def install(app: FastAPI) -> None:
    app.add_exception_handler(APIError, lambda request, exc: error_response(exc))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

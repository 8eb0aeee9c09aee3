"""Request bodies have a size limit, checked before and while reading, so a huge body costs nothing.

A declared Content-Length over the limit is refused at once; a chunked body is counted as it
arrives and stopped at the limit (the route's body read raises, and the error handler answers 413).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.serve.errors import APIError, error_response


class BodyTooLarge(APIError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than this endpoint accepts ({limit:,} bytes).",
                         code="body_too_large")


class BodyLimit:
    """ASGI middleware: at most `limit` body bytes, or the larger limit of a path in `overrides`."""

    def __init__(self, app: ASGIApp, limit: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.overrides = overrides or {}

    def limit_for(self, path: str) -> int:
        return self.overrides.get(path, self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await error_response(APIError(400, "Content-Length is not a number.", code="invalid_header"))(
                    scope, receive, send)
                return
            if int(declared) > limit:
                await error_response(BodyTooLarge(limit))(scope, receive, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

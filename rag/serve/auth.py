"""Who may call: loopback-only unless there is an API key; with one, a Bearer token on every request.

`/health` stays open so a process manager can probe the server without holding the key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.serve.errors import APIError, error_response

OPEN_PATHS = frozenset({"/health"})


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, api_key: str | None) -> str | None:
    """Why the server must not listen on `host`, or None: anything reachable from outside needs a key."""
    if is_loopback(host) or api_key:
        return None
    return (f"refusing to listen on {host} without an API key: anyone on the network could use the server. "
            "Pass --api-key KEY (or set RAG_API_KEY), or keep the default --host 127.0.0.1.")


def _digest(value: str) -> bytes:
    """Hashing first makes the comparison's time independent of both lengths too."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


class BearerAuth:
    """ASGI middleware: `Authorization: Bearer KEY`, compared in constant time, except on OPEN_PATHS."""

    def __init__(self, app: ASGIApp, api_key: str, open_paths: Iterable[str] = OPEN_PATHS) -> None:
        self.app = app
        self._key = _digest(api_key)
        self._open = frozenset(open_paths)

    def authorised(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        return hmac.compare_digest(_digest(token.strip()), self._key) and scheme.lower() == "bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        if not self.authorised(Headers(scope=scope).get("authorization", "")):
            missing = "authorization" not in Headers(scope=scope)
            message = ("This server needs an API key: send Authorization: Bearer KEY." if missing
                       else "The API key is not valid.")
            err = APIError(401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
            await error_response(err)(scope, receive, send)
            return
        await self.app(scope, receive, send)

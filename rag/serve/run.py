"""`rag serve`: its flags, the bind-address check, loading, and uvicorn.

Imports stay inside the functions: `rag --help` and the other commands build this parser too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rag import settings
from rag.serve.config import DEFAULT_QUEUE_SIZE


class BindRefused(ValueError):
    """The address would expose the server without an API key."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other needs an API key)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--model", default="default",
                   help="chat model loaded at start: default | small | PATH to a .gguf (served as 'default')")
    p.add_argument("--api-key", default=None,
                   help="require 'Authorization: Bearer KEY' on every endpoint but /health (default: $RAG_API_KEY)")
    p.add_argument("--queue-size", type=int, default=DEFAULT_QUEUE_SIZE,
                   help=f"model answers running or waiting at once; more get 429 with Retry-After "
                        f"(default {DEFAULT_QUEUE_SIZE})")
    p.add_argument("--cors-origin", action="append",
                   help="allow browser pages from this origin (repeatable); no CORS headers without it")


def check_bind(host: str, api_key: str | None) -> None:
    from rag.serve.auth import bind_problem

    problem = bind_problem(host, api_key)
    if problem:
        raise BindRefused(problem)


def command(args: argparse.Namespace) -> int:
    """Check the address before anything loads (a refusal costs no model loading), then serve."""
    args.api_key = args.api_key or settings.current().api_key
    check_bind(args.host, args.api_key)
    from app.engine import fake_mode
    from rag.serve.config import ServeConfig

    serve(ServeConfig(host=args.host, port=args.port, model=args.model, api_key=args.api_key or None,
                      queue_size=args.queue_size, cors_origins=tuple(args.cors_origin or ()),
                      store_dir=args.store, corpus_dir=args.corpus, fake=fake_mode()))
    return 0


def build(config: Any) -> tuple[Any, Any]:
    """(app, state) with loading started; the port can open while the models load."""
    from rag.serve.app import create_app
    from rag.serve.state import ServerState

    check_bind(config.host, config.api_key)
    state = ServerState(config)
    app = create_app(state)
    state.start_loading()
    return app, state


def serve(config: Any) -> None:
    import uvicorn

    app, _ = build(config)
    guard = "Bearer API key required" if config.api_key else "no API key: loopback only"
    print(f"rag: serving http://{config.host}:{config.port} (model {config.model}; {guard}); "
          "GET /health says when the models are loaded", file=sys.stderr)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info", timeout_graceful_shutdown=5)

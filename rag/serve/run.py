"""Start the server: check the bind address, begin loading, hand the app to uvicorn."""

from __future__ import annotations

import sys

from rag.serve.auth import bind_problem
from rag.serve.config import ServeConfig


class BindRefused(ValueError):
    """The address would expose the server without an API key."""


def build(config: ServeConfig):
    """(app, state) with loading started; the port can open while the models load."""
    from rag.serve.app import create_app
    from rag.serve.state import ServerState

    problem = bind_problem(config.host, config.api_key)
    if problem:
        raise BindRefused(problem)
    state = ServerState(config)
    app = create_app(state)
    state.start_loading()
    return app, state


def serve(config: ServeConfig) -> None:
    import uvicorn

    app, _ = build(config)
    guard = "Bearer API key required" if config.api_key else "no API key: loopback only"
    print(f"rag: serving http://{config.host}:{config.port} (model {config.model}; {guard}); "
          "GET /health says when the models are loaded", file=sys.stderr)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info", timeout_graceful_shutdown=5)

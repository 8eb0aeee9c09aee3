"""Running the real HTTP server inside a test: uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from rag.serve.app import create_app
from rag.serve.config import ServeConfig
from rag.serve.queue import GenerationQueue
from rag.serve.state import ServerState
from rag.testing import EchoChatModel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(app: Any, timeout: float = 10.0) -> Iterator[str]:
    """The app served on 127.0.0.1; yields its base URL and stops the server afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def fake_state(engine: Any, queue_size: int = 4, delay: float = 0.0, **config: Any) -> ServerState:
    """A ready state over `engine` with echo chat models and a private model lock (tests do not share it)."""
    llms = {"default": EchoChatModel(delay=delay), "small": EchoChatModel(delay=delay)}
    return ServerState(ServeConfig(fake=True, queue_size=queue_size, **config), engine=engine, llms=llms,
                       queue=GenerationQueue(queue_size, threading.Lock()))


@contextlib.contextmanager
def serving(engine: Any, **kwargs: Any) -> Iterator[tuple[str, ServerState]]:
    state = fake_state(engine, **kwargs)
    with running(create_app(state)) as url:
        yield url, state

"""`rag serve`: the HTTP API for other apps (OpenAI-compatible chat and embeddings, search, documents).

One concern per module: `config` (settings), `state` (models and index, loaded once), `queue`,
`jobs` and `cancel` (one generation at a time, bounded waiting, stopping the model for a client
that left), `auth` and `limits` (who may call, how big a request may be), `errors` (OpenAI's error
JSON), `schemas` (request bodies), `openai_format` (response shapes), the routers `chat`,
`retrieval` and `documents`, and `app` (the factory) / `run` (uvicorn).
"""

import sys as _sys

from rag import settings as _settings


def _make_page_importable() -> None:
    """The server reuses the page's engine (app/engine.py, beside this package in the checkout); the
    installed `rag` script does not put the checkout on sys.path, so add it (last: it shadows nothing)."""
    root = _settings.PROJECT_ROOT
    if (root / "app" / "engine.py").is_file() and str(root) not in _sys.path:
        _sys.path.append(str(root))


_make_page_importable()

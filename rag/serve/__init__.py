"""`rag serve`: the HTTP API for other apps (OpenAI-compatible chat and embeddings, search, documents).

One concern per module: `config` (settings), `state` (models and index, loaded once), `queue` and
`jobs` (one generation at a time, bounded waiting, cancellation), `auth` and `limits` (who may call,
how big a request may be), `errors` (OpenAI's error JSON), `schemas` (request bodies), `openai_format`
(response shapes), the routers `chat`, `retrieval`, `documents`, and `app` (the factory) / `run`
(uvicorn).
"""

"""POST /v1/search and POST /v1/embeddings: no model lock, so they never wait behind an answer."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from rag import settings
from rag.serve.config import EMBEDDING_MODEL_IDS
from rag.serve.errors import APIError
from rag.serve.schemas import EmbeddingRequest, SearchRequest, read_json
from rag.serve.state import ServerState

router = APIRouter()


def clean_query(query: str) -> str:
    text = query.strip()
    if not text:
        raise APIError(400, "The query is empty: send the text to search for.", code="question_empty", param="query")
    if len(text) > settings.MAX_QUESTION_CHARS:
        raise APIError(400, f"The query is {len(text)} characters long; the limit is {settings.MAX_QUESTION_CHARS}.",
                       code="question_too_long", param="query")
    return text


@router.post("/v1/search")
async def search(request: Request) -> dict[str, Any]:
    """The hits `rag search --json` prints, under `data`."""
    state: ServerState = request.app.state.rag
    body = await read_json(request, SearchRequest)
    query = clean_query(body.query)
    engine = state.require_ready()
    filters = body.filters.to_retriever() if body.filters else None
    hits = await run_in_threadpool(engine.retriever.search, query, body.k, body.mode, filters)
    return {"object": "list", "data": [p.to_hit() for p in hits]}


def _encode(vector: np.ndarray, encoding: str) -> list[float] | str:
    if encoding == "base64":  # what the openai client asks for by default: little-endian float32
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


@router.post("/v1/embeddings")
async def embeddings(request: Request) -> dict[str, Any]:
    """E5 vectors; `input_type` picks E5's "query: " or "passage: " side (default query)."""
    state: ServerState = request.app.state.rag
    body = await read_json(request, EmbeddingRequest)
    engine = state.require_ready()
    embedder = engine.embedder
    if body.model not in EMBEDDING_MODEL_IDS and body.model != embedder.model_id:
        raise APIError(404, f"The embedding model {body.model!r} does not exist; use \"e5\" "
                            "(multilingual-e5-small).", code="model_not_found", param="model")
    texts = body.texts()
    if body.dimensions is not None and body.dimensions != embedder.dim:
        raise APIError(400, f"This model's vectors have {embedder.dim} dimensions; other sizes are not offered.",
                       param="dimensions")
    embed = embedder.embed_queries if body.input_type == "query" else embedder.embed_documents
    vectors = np.asarray(await run_in_threadpool(embed, texts), dtype=np.float32)
    data = [{"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(vectors)]
    # Tokens are not counted (E5 runs locally, nothing is billed): usage is reported as 0.
    return {"object": "list", "data": data, "model": body.model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}

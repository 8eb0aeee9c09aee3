"""The FastAPI app: routers, error handlers and the middleware stack (CORS > auth > body limit)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from rag.serve import chat, documents, errors, retrieval
from rag.serve.auth import BearerAuth
from rag.serve.config import MAX_JSON_BYTES, MAX_UPLOAD_BODY_BYTES, MODEL_IDS
from rag.serve.errors import APIError
from rag.serve.limits import BodyLimit
from rag.serve.state import ServerState

_CREATED = 1_700_000_000  # OpenAI's model objects carry a creation time; a fixed one, the models are local


def _model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _CREATED, "owned_by": "rag"}


def create_app(state: ServerState) -> FastAPI:
    """The app over `state`; middleware added last runs first."""
    app = FastAPI(title="rag news API", docs_url=None, redoc_url=None)  # no docs page: it would load web assets
    app.state.rag = state
    errors.install(app)
    app.include_router(chat.router)
    app.include_router(retrieval.router)
    app.include_router(documents.router)

    @app.get("/health")
    def health() -> JSONResponse:
        """200 while loading or ready; 503 (with the reason in `error`) when loading failed."""
        docs, passages = state.counts()
        out = {"status": "ready" if state.status == "ready" else "loading", "documents": docs,
               "passages": passages, "model": state.model_name()}
        if state.status == "failed":
            out["error"] = state.error
        return JSONResponse(out, status_code=503 if state.status == "failed" else 200)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [_model(m) for m in MODEL_IDS]}

    @app.get("/v1/models/{model_id}")
    def model(model_id: str) -> dict[str, Any]:
        if model_id not in MODEL_IDS:
            raise APIError(404, f"The model {model_id!r} does not exist.", code="model_not_found")
        return _model(model_id)

    app.add_middleware(BodyLimit, limit=MAX_JSON_BYTES, overrides={"/v1/documents": MAX_UPLOAD_BODY_BYTES})
    if state.config.api_key:
        app.add_middleware(BearerAuth, api_key=state.config.api_key)
    if state.config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(state.config.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    return app

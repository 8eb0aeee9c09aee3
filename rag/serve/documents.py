"""GET/POST/DELETE /v1/documents: the corpus folder behind the index, changed the page's way.

Uploads go through app/uploads.py's checks (.txt/.md, UTF-8, size, duplicates) and the page
engine's add/remove, which re-indexes incrementally and swaps the new index in only when it is
complete: if indexing fails, the previous index keeps serving and the files are put back. Names
carrying a path are refused outright (not quietly renamed), so a client learns its mistake.
"""

from __future__ import annotations

import ntpath
import os
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.engine import CorpusChangeError, Engine
from app.uploads import MAX_UPLOAD_BYTES, UploadCheck, check_uploads
from rag.serve.config import MAX_UPLOAD_FILES
from rag.serve.errors import APIError
from rag.serve.state import ServerState

router = APIRouter()

_TRUE = {"1", "true", "yes", "on"}


def name_problem(name: str) -> str | None:
    """Why `name` is not a bare file name, or None."""
    if not name or not name.strip():
        return "has no file name"
    if any(ord(c) < 32 for c in name):
        return "contains a NUL or control character"
    if "/" in name or "\\" in name or os.path.isabs(name) or ntpath.splitdrive(name)[0]:
        return "has a path in it; send a bare file name such as notes.txt"
    if name.startswith("."):
        return "starts with a dot (hidden files and '..' are not accepted)"
    return None


def _document(name: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {"object": "document", "id": name, "date": meta.get("date", ""), "lang": meta.get("lang", ""),
            "title": meta.get("title", ""), "lines": int(meta.get("lines", 0))}


def _quiet(fraction: float, message: str) -> None:
    """Indexing progress has no listener over HTTP."""


@router.get("/v1/documents")
async def list_documents(request: Request) -> dict[str, Any]:
    engine = request.app.state.rag.require_ready()
    docs = engine.retriever.store.manifest.get("documents", {})
    return {"object": "list", "data": [_document(n, m) for n, m in sorted(docs.items())]}


async def _read_uploads(request: Request) -> tuple[list[tuple[str, bytes]], bool]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise APIError(415, "Upload documents as multipart/form-data, one part named 'file' per document.",
                       code="unsupported_media_type")
    form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=16)
    files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise APIError(400, "No file in the upload: send each document as a multipart part named 'file'.",
                       param="file")
    out = []
    for upload in files:
        name = upload.filename or ""
        problem = name_problem(name)
        if problem:
            raise APIError(400, f"The file name {name!r} {problem}. Nothing was added.", code="invalid_file_name",
                           param="file")
        out.append((name, await upload.read()))
    return out, str(form.get("replace", "")).strip().lower() in _TRUE


def _refusal(checks: list[UploadCheck], engine: Engine) -> APIError | None:
    refused = [c for c in checks if not c.ok]
    if not refused:
        return None
    message = "; ".join(c.message for c in refused) + ". Nothing was added."
    if any(len(c.data) > MAX_UPLOAD_BYTES for c in refused):
        return APIError(413, message, code="file_too_large", param="file")
    if all((engine.corpus_dir / c.name).exists() for c in refused):
        return APIError(409, message, code="document_exists", param="file")
    return APIError(400, message, code="invalid_file", param="file")


@router.post("/v1/documents")
async def upload_documents(request: Request) -> dict[str, Any]:
    """Add (or with `replace=true`, overwrite) .txt/.md files and re-index; all or nothing."""
    state: ServerState = request.app.state.rag
    engine = state.require_ready()
    files, replace = await _read_uploads(request)
    checks = check_uploads(files, engine.corpus_dir, replace)
    refusal = _refusal(checks, engine)
    if refusal:
        raise refusal
    try:
        report = await run_in_threadpool(engine.add_documents, checks, _quiet)
    except CorpusChangeError as exc:
        raise APIError(500, str(exc), code="indexing_failed", type_="server_error") from exc
    return {"object": "documents.upload", "added": [c.name for c in checks if not c.replaces],
            "replaced": [c.name for c in checks if c.replaces], "documents": len(engine.sources()),
            "passages": report.chunks, "reindexed": report.changed, "seconds": round(report.seconds, 3)}


@router.delete("/v1/documents/{name}")
async def delete_document(name: str, request: Request) -> dict[str, Any]:
    state: ServerState = request.app.state.rag
    engine = state.require_ready()
    problem = name_problem(name)
    if problem:
        raise APIError(400, f"The document name {name!r} {problem}.", code="invalid_file_name")
    if name not in engine.sources() or not (engine.corpus_dir / name).is_file():
        raise APIError(404, f"No document named {name!r} (GET /v1/documents lists them).", code="document_not_found")
    if len(engine.sources()) <= 1:
        raise APIError(409, "The last document cannot be removed: the assistant needs something to read.",
                       code="last_document")
    try:
        await run_in_threadpool(engine.remove_document, name, _quiet)
    except CorpusChangeError as exc:
        raise APIError(500, str(exc), code="indexing_failed", type_="server_error") from exc
    return {"object": "document.deleted", "id": name, "deleted": True, "documents": len(engine.sources())}

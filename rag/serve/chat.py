"""POST /v1/chat/completions: the shared Answerer behind OpenAI's chat API, streamed or not.

Model answers are admitted by the generation queue first (429 when it is full), then run in a
job thread; a client that disconnects cancels its job, which stops the model. Extractive answers
need no model and skip the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from rag.serve import openai_format as fmt
from rag.serve.config import MODEL_IDS
from rag.serve.errors import APIError, error_body
from rag.serve.jobs import AnswerJob
from rag.serve.schemas import ChatRequest, read_json
from rag.serve.state import ServerState
from rag.types import Answer

router = APIRouter()

_DISCONNECT_POLL_S = 0.2


def check_model(model: str) -> None:
    if model not in MODEL_IDS:
        raise APIError(404, f"The model {model!r} does not exist; use one of {', '.join(MODEL_IDS)} "
                            "(GET /v1/models).", code="model_not_found", param="model")


def as_api_error(exc: Exception) -> APIError:
    """What failed inside the answer thread, as the client should hear it."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, ValueError):
        return APIError(400, str(exc), code="invalid_value")
    if type(exc).__name__ == "AnswerError":
        return APIError(500, str(exc), code="model_error", type_="server_error")
    return APIError(500, f"The answer failed: {type(exc).__name__}: {exc}", code="internal_error",
                    type_="server_error")


def start_job(state: ServerState, body: ChatRequest, question: str, history: fmt.History) -> AnswerJob:
    mode = "extractive" if body.model == "extractive" else "llm"
    ticket = state.queue.admit() if mode == "llm" else None
    filters = body.filters.to_retriever() if body.filters else None

    def produce() -> Any:
        return state.answerer(body.model).ask_stream(question, mode=mode, k=body.k, retrieval_mode=body.retrieval_mode,
                                                     filters=filters, history=history or None)

    return AnswerJob(produce, ticket, asyncio.get_running_loop()).start()


async def watch_disconnect(job: AnswerJob, request: Request) -> None:
    """Cancel the job as soon as the client is gone (also while it still waits for the model)."""
    while not job.finished.is_set():
        if await request.is_disconnected():
            job.cancel()
            return
        await asyncio.sleep(_DISCONNECT_POLL_S)


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Any:
    state: ServerState = request.app.state.rag
    body = await read_json(request, ChatRequest)
    check_model(body.model)
    question, history = fmt.split_conversation(body.messages)
    state.require_ready()
    job = start_job(state, body, question, history)
    cid = fmt.completion_id()
    if body.stream:
        return StreamingResponse(stream_events(job, request, cid, body), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    answer = await collect(job, request)
    return JSONResponse(fmt.completion(cid, body.model, answer))


async def collect(job: AnswerJob, request: Request) -> Answer:
    watcher = asyncio.create_task(watch_disconnect(job, request))
    answer = None
    try:
        async for item in job.items():
            if isinstance(item, Answer):
                answer = item
    except Exception as exc:
        raise as_api_error(exc) from exc
    finally:
        job.cancel()
        watcher.cancel()
    if answer is None:
        raise APIError(500, "The answer was cancelled before it finished.", code="cancelled", type_="server_error")
    return answer


async def stream_events(job: AnswerJob, request: Request, cid: str, body: ChatRequest) -> AsyncIterator[str]:
    """OpenAI chunks: role, draft pieces, then the grounded fields, then `[DONE]`."""
    watcher = asyncio.create_task(watch_disconnect(job, request))
    try:
        yield fmt.sse(fmt.chunk(cid, body.model, {"role": "assistant", "content": ""}))
        async for item in job.items():
            if isinstance(item, Answer):
                if not body.stream_draft:
                    yield fmt.sse(fmt.chunk(cid, body.model, {"content": item.answer}))
                yield fmt.sse(fmt.chunk(cid, body.model, fmt.final_delta(item), "stop"))
            elif item and body.stream_draft:
                yield fmt.sse(fmt.chunk(cid, body.model, {"content": item}))
        yield fmt.sse("[DONE]")
    except Exception as exc:  # the response has started: the error goes in the stream, as OpenAI does
        err = as_api_error(exc)
        yield fmt.sse(error_body(err.message, err.type, err.code, err.param))
    finally:
        job.cancel()  # a no-op once finished; stops the model when the client left mid-answer
        watcher.cancel()

"""OpenAI's wire shapes: conversation in, chat completion (or its stream chunks) out.

The grounded answer's `citations` and `refused` are added to the assistant message (and, when
streaming, to the delta of the last chunk before `[DONE]`), so a plain OpenAI client keeps working
and one that knows the fields gets the cited lines.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from rag import settings
from rag.serve.errors import APIError
from rag.serve.schemas import Message
from rag.types import Answer

History = list[tuple[str, str]]


def split_conversation(messages: list[Message]) -> tuple[str, History]:
    """The question (the last message, the user's) and the earlier (question, answer) pairs.

    System prompts are ignored: the answer rules are the pipeline's, not the caller's.
    """
    last = messages[-1]
    if last.role != "user":
        raise APIError(400, f"The last message must be the user's question (role 'user'), not '{last.role}'.",
                       code="invalid_value", param="messages")
    question = last.text().strip()
    if not question:
        raise APIError(400, "The question is empty: the last user message has no text.",
                       code="question_empty", param="messages")
    if len(question) > settings.MAX_QUESTION_CHARS:
        raise APIError(400, f"The question is {len(question)} characters long; the limit is "
                            f"{settings.MAX_QUESTION_CHARS}.", code="question_too_long", param="messages")
    history: History = []
    pending: str | None = None
    for message in messages[:-1]:
        if message.role == "user":
            pending = message.text().strip() or None
        elif message.role == "assistant" and pending is not None:
            history.append((pending, message.text().strip()))
            pending = None
    return question, history


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def grounding_fields(answer: Answer) -> dict[str, Any]:
    return {"citations": [c.to_dict() for c in answer.citations], "refused": answer.refused}


def completion(cid: str, model: str, answer: Answer) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer.answer, **grounding_fields(answer)}
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def chunk(cid: str, model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}


def final_delta(answer: Answer) -> dict[str, Any]:
    """The last chunk's delta: citations, refusal, and the grounded text (`answer`), which replaces the
    streamed draft when grounding changed it (a sentence dropped, a citation renumbered)."""
    return {**grounding_fields(answer), "answer": answer.answer}


def sse(data: dict[str, Any] | str) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"

"""Request bodies, validated by pydantic; `read_json` turns every way a body can be wrong into a 4xx.

OpenAI's own fields are accepted as OpenAI defines them; options OpenAI does not know (`k`,
`filters`, `retrieval_mode`, `stream_draft`, `input_type`) are extras the `openai` client can
send with `extra_body`. Fields the server has no use for (temperature, max_tokens, user, ...) are
accepted and ignored: answers are greedy and grounded, whatever sampling a client asks for.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag.serve.config import MAX_EMBEDDING_CHARS, MAX_EMBEDDING_INPUTS, MAX_SEARCH_K
from rag.serve.errors import APIError, describe_validation

RetrievalMode = Literal["hybrid", "dense", "keyword", "hybrid-rrf"]
_MONTH = re.compile(r"^\d{4}-\d{2}$")

M = TypeVar("M", bound=BaseModel)


class Filters(BaseModel):
    """The retriever's filters, as `rag search --lang/--source/--date-from/--date-to` take them."""

    model_config = ConfigDict(extra="forbid")

    lang: str | list[str] | None = None
    source: str | list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    @field_validator("date_from", "date_to")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        if value and not _MONTH.match(value):
            raise ValueError("dates are months written YYYY-MM, e.g. 2021-12")
        return value

    def to_retriever(self) -> dict[str, Any] | None:
        out = {k: v for k, v in self.model_dump().items() if v}
        return out or None


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text; a non-text part (an image) is refused rather than silently dropped."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        for part in self.content:
            if part.type != "text":
                raise APIError(400, f"Only text messages are supported, not {part.type!r} parts.",
                               code="unsupported_content", param="messages")
        return "".join(part.text or "" for part in self.content)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    k: int = Field(5, ge=1, le=MAX_SEARCH_K)
    retrieval_mode: RetrievalMode = "hybrid"
    filters: Filters | None = None
    stream_draft: bool = True  # False: stream only the grounded answer, never the unchecked draft


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"
    input_type: Literal["query", "passage"] = "query"
    dimensions: int | None = None

    def texts(self) -> list[str]:
        texts = [self.input] if isinstance(self.input, str) else list(self.input)
        if not texts:
            raise APIError(400, "input is empty: send a string or a list of strings.", param="input")
        if len(texts) > MAX_EMBEDDING_INPUTS:
            raise APIError(400, f"input has {len(texts)} items; at most {MAX_EMBEDDING_INPUTS} per request.",
                           param="input")
        for i, text in enumerate(texts):
            if not text.strip():
                raise APIError(400, f"input[{i}] is empty.", param="input")
            if len(text) > MAX_EMBEDDING_CHARS:
                raise APIError(400, f"input[{i}] has {len(text)} characters; at most {MAX_EMBEDDING_CHARS}.",
                               param="input")
        return texts


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    k: int = Field(5, ge=1, le=MAX_SEARCH_K)
    mode: RetrievalMode = "hybrid"
    filters: Filters | None = None


async def read_json(request: Request, model: type[M]) -> M:
    """The body as `model`: 415 unless it is JSON, 400 when it does not parse or validate."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise APIError(415, f"Send the body as JSON with Content-Type: application/json (got {ctype or 'none'}).",
                       code="unsupported_media_type")
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise APIError(400, f"The request body is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise APIError(400, "The request body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise APIError(400, describe_validation(exc.errors()), code="invalid_value") from exc

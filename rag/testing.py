"""Deterministic stand-ins for the models, shipped with the package: tests, the page's fake mode
(RAG_APP_FAKE=1) and benchmarks use them, so production code never imports from tests/.

- FakeEmbedder: hashed character trigrams; similar strings get similar vectors, no model at all.
- EchoChatModel: answers with the first prompt source that shares a word with the question, cited,
  so grounding accepts it as it would a faithful model's answer; otherwise it makes something up.
- StaticRetriever: the same passages for any question, remembering what it was asked.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from rag import settings
from rag.text import fold as _fold
from rag.types import Chunk, Passage

__all__ = ["MADE_UP", "EchoChatModel", "FakeEmbedder", "StaticRetriever"]


# --------------------------------------------------------------------------- embedder


class FakeEmbedder:
    """Hashed character-trigram bag: similar strings get similar vectors, with no model at all."""

    model_id = "fake-trigram"
    dim = 64

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", _fold(text)):
                w = f"#{word}#"
                for j in range(len(w) - 2):
                    h = int(hashlib.md5(w[j : j + 3].encode()).hexdigest()[:8], 16)
                    out[i, h % self.dim] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        return out

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts))

    def fingerprint(self) -> str:
        return "fake-trigram-v1"


# --------------------------------------------------------------------------- chat model

_SOURCE = re.compile(r"^\[\d+\](?: \d{4}-\d{2}:)? (.*)$", re.MULTILINE)
_FOLLOW_UP = re.compile(r"Follow-up question:\s*(.+)")
_QUESTION = re.compile(r"^Question:\s*(.+)$", re.MULTILINE)
# What the fake "makes up" when no source fits: invented names and a number found in no article,
# so grounding must reject it, as for a hallucinating model (the answer then quotes lines or refuses).
MADE_UP = "Zorbulon Quixdale signed treaty 98765 in Vexhollow."


def _words(text: str) -> set[str]:
    """Longer words only: short ones ("the", "on") would make every source look relevant."""
    return set(re.findall(r"\w{5,}", text.lower()))


def _fake_delay() -> float:
    return settings.current().app_fake_delay


class EchoChatModel(BaseChatModel):
    """Echoes the first source sharing a word with the question, cited [1]; else makes something up.

    Follow-up rewriting returns the follow-up unchanged. It reads the prompt formats of rag.prompt
    and rag.generate: if those change, the page tests say so.
    """

    fail_with: str | None = None  # when set, every call raises RuntimeError(fail_with)
    # Seconds per streamed word (RAG_APP_FAKE_DELAY), to watch streaming and waiting in a browser.
    delay: float = Field(default_factory=_fake_delay)

    @property
    def _llm_type(self) -> str:
        return "echo-fake"

    def _reply(self, messages: list[BaseMessage]) -> str:
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        text = str(messages[-1].content)
        follow_up = _FOLLOW_UP.search(text)
        if follow_up and "<source" not in text:
            return follow_up.group(1).strip()
        question = _QUESTION.search(text)
        wanted = _words(question.group(1)) if question else set()
        for number, source in enumerate(_SOURCE.findall(text), start=1):
            if wanted & _words(source):
                return f"{source.strip()} [{number}]"
        return MADE_UP

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._reply(messages)))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*", self._reply(messages)):
            time.sleep(self.delay)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


# --------------------------------------------------------------------------- retriever


class StaticRetriever:
    """Returns the same passages for any question and remembers what it was asked."""

    def __init__(self, passages: list[Passage], chunks: list[Chunk] | None = None) -> None:
        self.passages = passages
        self.chunks = chunks or [p.chunk for p in passages]
        self.embedder = FakeEmbedder()
        self.questions: list[str] = []

    def search(self, question: str, k: int = 5, mode: str = "hybrid", filters: Any = None) -> list[Passage]:
        self.questions.append(question)
        return self.passages[:k]

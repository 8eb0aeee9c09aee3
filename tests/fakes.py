"""Deterministic stand-ins for the embedder and the LLM, so unit tests run in milliseconds."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator

import numpy as np


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c)).replace("ł", "l")


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


class FakeLLM:
    """Replays a scripted answer token by token, recording the prompts it was given."""

    def __init__(self, reply: str = "Biden offered two paths [1].") -> None:
        self.reply = reply
        self.calls: list[list[dict[str, str]]] = []

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 256, **kwargs) -> Iterator[str]:
        self.calls.append(messages)
        for piece in re.findall(r"\S+\s*", self.reply):
            yield piece

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 256, **kwargs) -> str:
        return "".join(self.stream(messages, max_tokens, **kwargs))

"""The corpus vocabulary: a name found nowhere in the corpus is very likely made up."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rag.ground.details import Key, extract_keys
from rag.ground.names import names_match, translit


class Vocabulary:
    """Every word the corpus uses, transliterated.

    Lowercase words count too: Polish writes "porozumień mińskich" where English says "Minsk".
    """

    def __init__(self, texts: Iterable[str]):
        texts = list(texts)
        self.names = sorted({translit(w) for t in texts for w in re.findall(r"[^\W\d_]{3,}", t)})
        self.entities = frozenset(k.value for t in texts for k in extract_keys(t, evidence=True) if k.kind == "entity")
        self._by_start: dict[str, list[str]] = {}
        for n in self.names:
            self._by_start.setdefault(n[:4], []).append(n)

    def __contains__(self, name: str) -> bool:
        return any(names_match(name, n) for n in self._by_start.get(name[:4], ()))

    def knows(self, key: Key) -> bool:
        """Whether the corpus mentions this name or entity anywhere (other kinds are not checked)."""
        if key.kind == "entity":
            return key.value in self.entities
        return key.kind != "name" or key.value in self

    @classmethod
    def from_chunks(cls, chunks: Iterable[Any]) -> Vocabulary:
        return cls(c.text for c in chunks)

"""Names across languages: one folded, transliterated form, and a match that allows inflection."""

from __future__ import annotations

import re

from rag.text import fold

# Spellings of one sound across Polish, Romanian and English transliterations, in replacement order.
_DIGRAPHS = (("sz", "s"), ("cz", "c"), ("sh", "s"), ("kh", "h"), ("ch", "h"), ("w", "v"))
# "ie" before another vowel is an inflection's, not a spelling's: Romanian "Rusiei" is "Rusia" + "-ei"
# (made "rusei" it no longer matched "Rusia"), while Polish "Pieskow" is "Peskov".
_IE = re.compile(r"ie(?![aeiou])")
_LATER = (("j", "i"), ("y", "i"))
_HARD_C = re.compile(r"c(?=[aoukrlt])")
_DOUBLED = re.compile(r"(.)\1+")


def translit(word: str) -> str:
    """Collapse Polish/Romanian/English spellings of one foreign name: Ławrow/Lavrov, Pieskow/Peskov."""
    w = fold(word)
    for a, b in _DIGRAPHS:
        w = w.replace(a, b)
    w = _IE.sub("e", w)
    for a, b in _LATER:
        w = w.replace(a, b)
    w = _HARD_C.sub("k", w)
    return _DOUBLED.sub(r"\1", w)


def names_match(a: str, b: str) -> bool:
    """Two transliterated names match when one is an inflected form of the other (Putin/Putinowi)."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    need = max(4, min(shorter - 2, 6))
    return a[:need] == b[:need]

"""Text helpers every step shares: diacritic folding and the bound on a question's length.

One definition each, so the keyword index, the grounding checks, the evaluation and the fakes
agree on what "the same word" and "too long" mean.
"""

from __future__ import annotations

import re
import unicodedata

# Letters NFKD does not decompose into a base letter and a mark (ł is one letter, not l + accent).
_EXTRA = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "ı": "i"})
_DASHES = str.maketrans(dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-"))
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Casefolded, without diacritics: "Ławrow", "ŁAWROW" and "lawrow" compare equal.

    Users type Polish and Romanian without their letters as often as with them.
    """
    text = unicodedata.normalize("NFKD", (text or "").casefold().translate(_EXTRA))
    return "".join(c for c in text if not unicodedata.combining(c))


def fold_spaced(text: str) -> str:
    """`fold`, with every dash one hyphen and runs of white space one space: for comparing phrases."""
    return _SPACES.sub(" ", fold((text or "").translate(_DASHES))).strip()


def clip_question(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when one lies in the second half.

    A pasted article as a "question" would swamp the embedder and the prompt; its start says
    what is being asked.
    """
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut

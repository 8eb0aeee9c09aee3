"""The checks a line's English rendering must pass before it may stand for the line.

The 1.5B model's translations are usable but not reliable; a rendering shown to a reader or
joined to the index must keep every number and date of its source (and add none), carry over
most names, read as English, have a plausible length, and sit close to the source in the
embedder's cross-lingual space. What fails is retried (rag.render) or never shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rag import languages
from rag.languages import LanguagePack

TARGET = "en"
MIN_SIMILARITY = 0.82  # E5 passage/passage cosine of a faithful pl/ro -> en rendering
MIN_NAME_SHARE = 0.34  # names inflect and translate (Biały Dom -> White House): some, not all
NAMES_EXCUSED_SIMILARITY = 0.88  # this close in meaning, renamed institutions and countries are fine
LENGTH_RATIO = (0.45, 2.2)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    similarity: float
    missing: tuple[str, ...]

    @property
    def score(self) -> float:
        """Ranks candidates: passing first, then fewer gaps, then closer meaning."""
        return (1.0 if self.ok else 0.0) * 10 - len(self.missing) + self.similarity


def _foreign_letters(packs: tuple[LanguagePack, ...]) -> re.Pattern[str]:
    """Letters of the source languages that English text does not have: a rendering still in them
    is not English yet."""
    letters = "".join(p.letters for p in packs if p.code != TARGET)
    return re.compile(f"[{re.escape(letters)}]" if letters else "(?!)", re.IGNORECASE)


foreign_letters = languages.derived(_foreign_letters)


def _digit_keys(text: str, lang: str) -> list[Any]:
    from rag.ground.details import extract_keys

    return [k for k in extract_keys(text, lang) if k.kind in ("num", "date", "span")]


def _name_keys(text: str, lang: str) -> list[Any]:
    """Capitalised words inside sentences: the names a rendering should carry over.

    Sentence-initial words are left out (every language capitalises them), and the share asked
    for is low: Polish capitalises proper adjectives and institutions that English renames
    ("Państwa Związkowego" -> "Union State", "Rosja" -> "Russia"). Numbers and dates are the strict check.
    """
    from rag.ground.details import extract_keys
    from rag.ground.sentences import split_sentences

    keys: list[Any] = []
    for sentence in split_sentences(text):
        body = sentence.text.split(" ", 1)[1] if " " in sentence.text else ""
        keys += [k for k in extract_keys(body, lang) if k.kind == "name"]
    return list(dict.fromkeys(keys))


def check_rendering(source: str, lang: str, candidate: str, similarity: float) -> CheckResult:
    """Whether `candidate` may stand for `source`: facts kept, English, plausible, close in meaning."""
    from rag.ground.details import line_keys

    missing: list[str] = []
    cand = candidate.strip()
    if not cand:
        return CheckResult(False, similarity, ("empty",))
    have = line_keys(cand, TARGET)
    missing += [f"{k.kind}:{k.value}" for k in _digit_keys(source, lang) if not have.has(k)]
    had = line_keys(source, lang)  # and nothing added: a date the source never gave is made up
    missing += [f"added {k.kind}:{k.value}" for k in _digit_keys(cand, TARGET) if not had.has(k)]
    names = _name_keys(source, lang)
    found = sum(have.has(k) for k in names)
    if len(names) >= 2 and found / len(names) < MIN_NAME_SHARE and similarity < NAMES_EXCUSED_SIMILARITY:
        missing.append(f"names {found}/{len(names)}")
    ratio = len(cand) / max(len(source.strip()), 1)
    if not LENGTH_RATIO[0] <= ratio <= LENGTH_RATIO[1]:
        missing.append(f"length x{ratio:.2f}")
    foreign = len(foreign_letters().findall(cand))
    if foreign > max(2, len(cand) // 100):
        missing.append(f"{foreign} source letters")
    if similarity < MIN_SIMILARITY:
        missing.append(f"similarity {similarity:.3f}")
    return CheckResult(not missing, similarity, tuple(missing))

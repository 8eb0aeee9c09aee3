"""Ground (written sentences): every number, date and name a sentence states must be in a line it cites.

The model writes from the selected lines only and the grammar makes it cite their ids, but a
1.5B model still swaps figures ("30 minutes" for "about 50") or carries a detail from one line
into a sentence citing another. A sentence failing this check is not shown; the verified line it
cited is shown in its place (rag.present). Details the question itself gave ("on 30 December")
may come from any selected line of the same article: they set the scene, they are not the answer.
A sentence whose every content word is the question's own ("Czy Biden dał nadzieję…?" answered
"Biden dał nadzieję… [2]") answers nothing, and for a yes/no question it may state the opposite of
its line: it fails too, so the line speaks instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.ground.details import Key, extract_keys, is_year
from rag.ground.evidence import Evidence
from rag.ground.lines import stated_keys
from rag.ground.question import asked_kinds
from rag.keyword import tokenize

CHECKED_KINDS = ("num", "date", "count", "span", "name")  # "two hours" is a figure too, "two days" another
MIN_WORDS = 3  # "HACKED [1]." answers nothing, whatever it cites


@dataclass(frozen=True)
class ClaimCheck:
    ok: bool
    missing: tuple[str, ...] = ()


def _words(text: str) -> set[str]:
    from rag.ground.names import translit

    return {translit(w) for w in re.findall(r"[^\W\d_]+", text)}


def _found(evidence: Evidence, key: Key, lines: Sequence[int]) -> bool:
    return any(evidence.keys[j].has(key) for j in lines)


def _stated(evidence: Evidence, key: Key, lines: Sequence[int]) -> bool:
    return any(key in stated_keys(evidence.lines[j]) for j in lines)


def _holds(evidence: Evidence, key: Key, cited: Sequence[int], asks_when: bool) -> bool:
    """The cited lines state the key; for a "when" question a year must be in their own words.

    Every line counts as saying its article's year ("in December 2021"), which lets a sentence set
    the scene, but "built in 2026" answering "in which year was it built?" is the answer itself.
    """
    if asks_when and is_year(key):
        return _stated(evidence, key, cited)
    return _found(evidence, key, cited)


def check_claim(text: str, lang: str, cited: Sequence[int], evidence: Evidence, question: str,
                selected: Sequence[int]) -> ClaimCheck:
    """Whether the cited lines state every checkable detail of `text` (see the module docstring)."""
    if len(text.split()) < MIN_WORDS:
        return ClaimCheck(False, ("too short to answer anything",))
    if not cited:
        return ClaimCheck(False, ("no citation",))
    if restates(text, question):
        return ClaimCheck(False, ("only restates the question",))
    asked = set(extract_keys(question, lang))
    asks_when = "date" in asked_kinds(question)
    echoed = {w for w in _words(question)}  # a sentence may open with the question's own word
    sources = {evidence.lines[j].source for j in cited}
    scene = [j for j in selected if evidence.lines[j].source in sources]
    missing = []
    first = _words(text.split(" ", 1)[0])
    for key in extract_keys(text, lang):
        if key.kind not in CHECKED_KINDS or _holds(evidence, key, cited, asks_when):
            continue
        if key.kind == "name" and first and key.value in first and key.value in echoed:
            continue
        if key in asked and _found(evidence, key, scene):
            continue
        missing.append(f"{key.kind}:{key.value}")
    return ClaimCheck(not missing, tuple(missing))


def restates(text: str, question: str) -> bool:
    """Every content word of `text` (folded, cut to the keyword index's prefix) is in `question`."""
    return set(tokenize(text)) <= set(tokenize(question))


def citing_lines(text: str, lang: str, cited: Sequence[int], evidence: Evidence) -> list[int]:
    """The fewest of a checked sentence's cited lines that still state its details, in cited order.

    The small model cites every line it was shown for a sentence drawn from one of them: on the
    dev split a sentence's second and later markers were right about one time in five. The line
    stating most of the sentence's details is kept, then (only while details remain uncovered)
    the next such line; ties go to the line the sentence is closest to in meaning.
    """
    if len(cited) <= 1:
        return list(cited)
    keys = [k for k in extract_keys(text, lang) if k.kind in CHECKED_KINDS and _found(evidence, k, cited)]
    claim = evidence.claim(keys)
    closeness = evidence.cosine([text])[0]
    chosen: list[int] = []
    left = list(zip(claim.keys, claim.weights))
    while True:
        gain = {j: sum(w for k, w in left if evidence.keys[j].has(k)) for j in cited if j not in chosen}
        if not gain or (chosen and max(gain.values()) <= 0):
            break
        best = max(gain, key=lambda j: (round(gain[j], 6), float(closeness[j])))
        chosen.append(best)
        left = [(k, w) for k, w in left if not evidence.keys[best].has(k)]
        if not left:
            break
    return [j for j in cited if j in chosen]

"""Turning answers into HTML: escaped source text, highlighted cited lines, citation badges.

Source text is shown exactly as written in the file. Markdown would reinterpret `*`, `_`, `$`
or `[...]` in news text, so everything user- or model-supplied is HTML-escaped and the
characters Markdown cares about become entities before it reaches `st.markdown`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from rag.language import language_names
from rag.types import Answer, Chunk, Citation, Passage

# One pass over the raw text: HTML specials and the characters Markdown would act on.
_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "*": "&#42;",
    "_": "&#95;",
    "`": "&#96;",
    "$": "&#36;",
    "[": "&#91;",
    "]": "&#93;",
    "~": "&#126;",
    "#": "&#35;",
    "|": "&#124;",
    "\\": "&#92;",
    "{": "&#123;",
    "}": "&#125;",
    ":": "&#58;",
}
_SPECIAL = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")
_MARKER = re.compile(r"&#91;(\d+)&#93;")

CSS = """
<style>
.rag-answer p { margin: 0 0 .4rem 0; }
.rag-answer ul { margin: .2rem 0 .4rem 1.1rem; padding: 0; }
.cite { display: inline-block; font-size: .72rem; font-weight: 600; line-height: 1.1rem; min-width: 1.1rem;
        padding: 0 .3rem; margin: 0 .05rem; border-radius: .55rem; text-align: center; vertical-align: .1rem;
        background: #e8efff; color: #1d4ed8; border: 1px solid #c7d7fe; }
.src-card { border: 1px solid rgba(128,128,128,.25); border-radius: .6rem; padding: .55rem .75rem;
            margin: .45rem 0; background: rgba(128,128,128,.04); }
.src-head { font-size: .82rem; color: #555; margin-bottom: .15rem; display: flex; flex-wrap: wrap;
            gap: .15rem .5rem; align-items: center; }
.src-head .file { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600;
                  color: #111; }
.src-head .meta { color: #666; }
.src-title { font-size: .8rem; color: #777; font-style: italic; margin-bottom: .3rem; }
.src-line { display: flex; gap: .6rem; font-size: .9rem; line-height: 1.45; margin: .1rem 0; }
.src-line .ln { flex: 0 0 2.2rem; text-align: right; color: #999; font-family: ui-monospace, monospace;
                font-size: .78rem; padding-top: .12rem; user-select: none; }
.src-line .tx { flex: 1 1 auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.src-rendering { margin-top: .35rem; padding: .3rem .5rem; border-left: 3px solid #9bc1ff; font-size: .9rem; }
.src-line mark { background: #fff3b0; color: inherit; padding: .05rem .1rem; border-radius: .2rem; }
.src-score { font-size: .75rem; color: #777; }
.rag-sources-title { font-size: .8rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
                     color: #666; margin: .6rem 0 .1rem 0; }
</style>
"""


def escape(text: str) -> str:
    """HTML-escape and neutralise Markdown, keeping the text exactly as written."""
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group(0)], text)


def language_name(code: str) -> str:
    return language_names().get(code, code or "unknown language")


def line_range(start: int, end: int) -> str:
    return f"line {start}" if end <= start else f"lines {start}–{end}"


def with_badges(escaped: str) -> str:
    """[n] markers (already escaped) become small badges that still read as "[n]" when copied."""
    return _MARKER.sub(
        lambda m: f'<span class="cite" title="source {m.group(1)}">&#91;{m.group(1)}&#93;</span>', escaped
    )


def answer_html(text: str) -> str:
    """The answer as one HTML block: paragraphs, "- " lines as a list, markers as badges."""
    parts: list[str] = []
    items: list[str] = []
    for line in text.strip().splitlines():
        body = with_badges(escape(line.strip()))
        if line.lstrip().startswith("- "):
            items.append(f"<li>{with_badges(escape(line.strip()[2:]))}</li>")
            continue
        if items:
            parts.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if body:
            parts.append(f"<p>{body}</p>")
    if items:
        parts.append(f"<ul>{''.join(items)}</ul>")
    return f'<div class="rag-answer">{"".join(parts)}</div>'


def lines_html(items: Iterable[tuple[int, str]], cited: set[int]) -> str:
    """Numbered lines; cited ones wrapped in <mark>."""
    rows = []
    for number, text in items:
        body = escape(text)
        if number in cited:
            body = f"<mark>{body}</mark>"
        rows.append(
            f'<div class="src-line"><span class="ln">{number}</span><span class="tx">{body}</span></div>'
        )
    return "".join(rows)


def find_paragraph(
    citation: Citation, passages: Sequence[Passage], chunks: Sequence[Chunk] = ()
) -> Chunk | None:
    """The retrieved (else indexed) chunk holding the cited lines, to show them in their paragraph."""
    candidates = [p.chunk for p in passages] + list(chunks)
    for chunk in candidates:
        if (
            chunk.source == citation.source
            and chunk.start_line <= citation.start_line
            and chunk.end_line >= citation.end_line
        ):
            return chunk
    return None


def source_meta(
    source: str, documents: dict[str, Any], fallback: Chunk | None = None
) -> tuple[str, str, str]:
    """(date, language name, title) of a document, from the index manifest."""
    meta = documents.get(source, {})
    date = meta.get("date") or (fallback.date if fallback else "")
    lang = meta.get("lang") or (fallback.lang if fallback else "")
    return date or "undated", language_name(lang), meta.get("title", "")


def citation_html(number: int, citation: Citation, paragraph: Chunk | None, documents: dict[str, Any]) -> str:
    """One cited source: file, date, language, lines, then the paragraph with the cited lines marked."""
    date, lang, title = source_meta(citation.source, documents, paragraph)
    cited = set(range(citation.start_line, citation.end_line + 1))
    if paragraph is not None:
        body = lines_html(paragraph.line_items(), cited)
    else:  # the quote is all we have; it is the exact text of the cited lines
        numbers = range(citation.start_line, citation.end_line + 1)
        body = lines_html(zip(numbers, citation.quote.split("\n"), strict=False), cited)
    head = (
        f'<span class="cite">&#91;{number}&#93;</span><span class="file">{escape(citation.source)}</span>'
        f'<span class="meta">{escape(line_range(citation.start_line, citation.end_line))} · {escape(date)} · '
        f"{escape(lang)}</span>"
    )
    title_html = f'<div class="src-title">{escape(title)}</div>' if title else ""
    return f'<div class="src-card"><div class="src-head">{head}</div>{title_html}{body}{rendering_html(citation)}</div>'


def rendering_html(citation: Citation) -> str:
    """The cited line's checked English rendering, beneath the original (nothing when there is none)."""
    if not citation.translation:
        return ""
    return (f'<div class="src-rendering"><span class="meta">checked English rendering</span>'
            f"<div>{escape(citation.translation)}</div></div>")


def cited_lines(citations: Sequence[Citation]) -> set[tuple[str, int]]:
    return {(c.source, n) for c in citations for n in range(c.start_line, c.end_line + 1)}


def passage_html(rank: int, passage: Passage, documents: dict[str, Any], cited: set[tuple[str, int]]) -> str:
    """A retrieved passage with its scores; lines the answer cites are marked."""
    date, lang, _ = source_meta(passage.source, documents, passage.chunk)
    scores = [f"score {passage.score:.4f}"]
    if passage.dense_score is not None:
        scores.append(f"dense {passage.dense_score:.3f}")
    if passage.keyword_score is not None:
        scores.append(f"keyword {passage.keyword_score:.2f}")
    ranks = ", ".join(f"{name} #{r}" for name, r in sorted(passage.ranks.items()))
    head = (
        f'<span class="meta">#{rank}</span><span class="file">{escape(passage.source)}</span>'
        f'<span class="meta">{escape(line_range(passage.start_line, passage.end_line))} · {escape(date)} · '
        f"{escape(lang)}</span>"
    )
    if ranks:
        scores.append(f"ranks {ranks}")
    if passage.neighbour_of is not None:
        scores.append(f"beside the hit at line {passage.neighbour_of}")
    score_html = f'<div class="src-score">{escape(" · ".join(scores))}</div>'
    marks = {n for s, n in cited if s == passage.source}
    return (
        f'<div class="src-card"><div class="src-head">{head}</div>{score_html}'
        f"{lines_html(passage.chunk.line_items(), marks)}</div>"
    )


def timings_text(answer: Answer, model: str) -> str:
    """A short line under the answer saying how long each part took."""
    t = answer.timings
    parts = []
    if "total_s" in t:
        parts.append(f"{t['total_s']:.1f} s in total")
    if "first_token_s" in t and not answer.refused and model != "quotes only":
        parts.append(f"first words after {t['first_token_s']:.1f} s")
    if "retrieve_s" in t:
        parts.append(f"search {t['retrieve_s']:.2f} s")
    if not answer.refused:
        parts.append(model)
    return " · ".join(parts)

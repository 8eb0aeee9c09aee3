"""What `rag index`, `rag search` and `rag ask` print for a person at a terminal (JSON output is the
records' own `to_hit`/`to_dict`): build findings, ranked hits, an answer with its cited lines."""

from __future__ import annotations

import sys


def print_findings(report) -> None:
    """Everything the build left out or flagged, one line each, so nothing is dropped silently."""
    from rag.boilerplate import is_copy_reason

    for name in report.cleaned:
        print(f"  removed {name} (left by an interrupted build)")
    for name, why in sorted(report.skipped.items()):
        print(f"  skipped {name}: {why}")
    for copy, original in sorted(report.duplicates.items()):
        print(f"  duplicate: {copy} repeats {original}; indexed once, cited as {original}")
    for source, lines in sorted(report.boilerplate.items()):
        for line, reason in sorted(lines.items()):
            if not is_copy_reason(reason):
                print(f"  boilerplate dropped: {source}:{line} ({reason})")
            elif source not in report.duplicates:
                print(f"  repeated text: {source}:{line} is a {reason}; indexed once")
    for note in report.cut:
        print(f"  cut: {note}")
    for source, lines in sorted(report.flagged.items()):
        for line in lines:
            print(f"  flagged: {source}:{line} addresses an assistant; kept as data, never the only support "
                  "of an answer")


def print_hits(question: str, hits: list) -> None:
    print(f"Q: {question}")
    for rank, p in enumerate(hits, start=1):
        snippet = p.text.replace("\n", " ")
        print(f"{rank:>2}. {p.source}:{p.start_line}-{p.end_line}  score={p.score:.4f}")
        print(f"    {snippet[:220]}{'…' if len(snippet) > 220 else ''}")


def print_answer(answer, shown: str = "") -> None:
    """The final answer; `shown` is text already printed (the verified lines), not repeated when the
    answer still starts with it."""
    text = answer.answer
    if shown and text.startswith(shown.strip()):
        text = text[len(shown.strip()):].lstrip("\n")
    elif shown:
        print("(replaced by:)")
    if text:
        print(text)
    if answer.citations:
        print()
        for c in answer.citations:
            span = f"{c.start_line}" if c.start_line == c.end_line else f"{c.start_line}-{c.end_line}"
            quote = c.quote or "(quote withheld: the source file changed since indexing)"
            print(f"  [{c.source}:{span}] {quote[:200]}{'…' if len(quote) > 200 else ''}")
            if c.translation:
                print(f"      en: {c.translation[:200]}{'…' if len(c.translation) > 200 else ''}")
    t = answer.timings
    print(f"\n({'refused, ' if answer.refused else ''}{answer.language}; retrieve {t.get('retrieve_s', 0):.2f}s, "
          f"first line {t.get('first_line_s', 0):.2f}s, first token {t.get('first_token_s', 0):.2f}s, "
          f"total {t.get('total_s', 0):.2f}s)", file=sys.stderr)

"""Citations point at exact file lines; consecutive lines of one file become one range."""

from __future__ import annotations

from rag.ground.citations import line_citations
from rag.ground.evidence import Evidence
from rag.retrieve import Retriever
from rag.types import Chunk, Passage
from tests.fakes import FakeEmbedder
from tests.ground.common import FAKE_CONFIG, S000, S002, S004, evidence_for, seed_lines


def test_citation_quotes_are_exact_file_lines(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, (S000, 1), (S000, 11), (S002, 19), (S004, 3))
    citations = line_citations(ev, range(len(ev)))
    assert citations
    for c in citations:
        assert c.quote == "\n".join(seed_lines()[c.source][c.start_line - 1: c.end_line])


def test_adjacent_lines_merge_into_one_range() -> None:
    chunk = Chunk(source="x.txt", start_line=5, end_line=6, lang="ro",
                  text="Biden a vorbit cu Putin pe 30 decembrie, timp de 50 de minute.\n"
                       "Biden a oferit doua cai: diplomatie sau sanctiuni, a spus Casa Alba.")
    ev = Evidence([Passage(chunk, 1.0)], FakeEmbedder(), FAKE_CONFIG)
    citations = line_citations(ev, [1, 0])
    assert [(c.start_line, c.end_line) for c in citations] == [(5, 6)]
    assert citations[0].quote == chunk.text and citations[0].translation is None


def test_citations_keep_the_given_order_best_first() -> None:
    chunk = Chunk(source="x.txt", start_line=1, end_line=3, lang="en",
                  text="First line of the article here.\nA line in between them all.\nThird line of the article.")
    ev = Evidence([Passage(chunk, 1.0)], FakeEmbedder(), FAKE_CONFIG)
    assert [c.start_line for c in line_citations(ev, [2, 0])] == [3, 1]

"""Chunk spans against the real seed files: citations rely on these being exact."""

from __future__ import annotations

from pathlib import Path

from rag.boilerplate import mark_boilerplate
from rag.chunks import ChunkingParams, chunk_corpus, chunk_document, sentences
from rag.corpus import load_corpus, parse_document


def _chunks(seeds_dir: Path):
    docs = load_corpus(seeds_dir)
    mark_boilerplate(docs)
    return docs, chunk_corpus(docs)


def test_every_chunk_quotes_its_lines_exactly(seeds_dir: Path) -> None:
    _, chunks = _chunks(seeds_dir)
    assert len(chunks) > 40
    for c in chunks:
        raw = (seeds_dir / c.source).read_text("utf-8").split("\n")
        for number, text in c.line_items():
            expected = raw[number - 1]
            if number == 1:
                expected = expected.split(" date 2021-12 ", 1)[-1]
            assert text == expected, c.id
            assert text.strip()


def test_known_spans(seeds_dir: Path) -> None:
    _, chunks = _chunks(seeds_dir)
    by_id = {c.id: c for c in chunks}
    offer = by_id["000_c38ec739ece7500b.txt:15-15"]
    assert "dwie ścieżki działań" in offer.text
    assert offer.section == "Rozmowa Biden-Putin"
    assert offer.date == "2021-12" and offer.lang == "pl"
    assert "004_a693e22d446df271.txt:5-6" in by_id  # a two-line paragraph stays one chunk
    assert by_id["004_a693e22d446df271.txt:1-1"].text.startswith("Rusia spune")  # the title is content


def test_headings_become_sections_not_chunks(seeds_dir: Path) -> None:
    _, chunks = _chunks(seeds_dir)
    texts = {c.text for c in chunks}
    assert "Rozmowa Biden-Putin" not in texts
    assert "Spotkanie 7 grudnia" not in texts
    assert any(c.section == "Spotkanie 7 grudnia" and c.start_line == 19 for c in chunks)
    # The heading reaches the keyword index through keyword_text.
    c = next(c for c in chunks if c.section == "Rozmowa Biden-Putin")
    assert c.keyword_text().startswith("Rozmowa Biden-Putin")


def test_boilerplate_never_reaches_a_chunk(seeds_dir: Path) -> None:
    _, chunks = _chunks(seeds_dir)
    joined = "\n".join(c.text for c in chunks)
    assert "Wspieram Kresy.pl" not in joined
    assert "Lasă un răspuns" not in joined
    assert "Adresa ta de email" not in joined
    assert "READ  Agenții" not in joined


def test_long_paragraph_is_split_into_line_windows() -> None:
    text = "\n".join(f"Line {i} " + "x" * 90 for i in range(1, 31))
    doc = parse_document("long.txt", text)
    chunks = chunk_document(doc, ChunkingParams(max_chars=500))
    assert len(chunks) > 1
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 30
    for a, b in zip(chunks, chunks[1:]):
        assert b.start_line == a.end_line + 1  # consecutive, no gaps, no overlaps
    assert all(len(c.text) <= 500 for c in chunks)


def test_sentences_split_at_sentence_ends_and_glue_short_tails() -> None:
    text = ("Kreml oświadczył, że rozmowy miały charakter otwarty i merytoryczny. Zaznaczył też, że mówili "
            "o współpracy w latach II wojny światowej. – Tak – dodał.\nDruga linia zaczyna nowe zdanie, bez kropki")
    assert sentences(text) == [
        "Kreml oświadczył, że rozmowy miały charakter otwarty i merytoryczny.",
        "Zaznaczył też, że mówili o współpracy w latach II wojny światowej. – Tak – dodał.",
        "Druga linia zaczyna nowe zdanie, bez kropki",
    ]
    assert sentences("w maju 1997 r. (przed przystąpieniem) i dalej.") == ["w maju 1997 r. (przed przystąpieniem) i dalej."]

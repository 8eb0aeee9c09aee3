"""Present: long lines are shown (and sent to the model) as their parts closest to the question."""

from __future__ import annotations

from rag.present import excerpt, excerpt_parts
from rag.retrieve import Retriever
from rag.testing import FakeEmbedder
from tests.ground.common import S001, evidence_for, seed_lines

# 001:15 is one 700-character sentence listing Russia's demands, the exercises limit last.
DEMANDS = seed_lines()[S001][14]


def test_a_one_sentence_list_is_cut_after_its_semicolons() -> None:
    parts = excerpt_parts(DEMANDS, 300)
    assert len(parts) == 5
    assert " ".join(parts) == " ".join(DEMANDS.split())
    assert all(p.endswith(";") for p in parts[:-1])


def test_short_sentences_stay_whole() -> None:
    text = "Rozmowa trwała 50 minut; tak podał Biały Dom. Biden był w Delaware."
    assert excerpt_parts(text, 300) == ["Rozmowa trwała 50 minut; tak podał Biały Dom.", "Biden był w Delaware."]


def test_the_excerpt_of_a_long_list_holds_the_item_asked_about(fake_retriever: Retriever) -> None:
    evidence = evidence_for(fake_retriever, (S001, 15))
    question = "Jak duże ćwiczenia wojsk w strefie przygranicznej? Brygada?"
    shown = excerpt(DEMANDS, FakeEmbedder().embed_queries([question])[0], evidence, 300)
    assert "brygada" in shown
    assert len(shown) <= 300 + len(" … ")
    assert all(part.strip(" …") in DEMANDS for part in shown.split("…") if part.strip(" …"))

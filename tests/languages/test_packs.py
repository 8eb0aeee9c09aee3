"""The built-in packs reproduce the per-module tables they replaced, exactly (the eval figures rest on them)."""

from __future__ import annotations

import pytest

from rag import languages
from rag.chunks import sentence_end, sentences
from rag.keyword import stopwords
from rag.languages import LanguagePack, derived, fallback, pack, packs, supported
from rag.render_check import foreign_letters

# The keyword index's stop words before the packs: BM25 scores depend on exactly this set.
OLD_STOPWORDS = frozenset("""
a an and are as at be by did do does for from had has have how in is it of on or that the this to was
were what when where which who whom why will with about after before into than then there their they
i w we z ze na do nie się sie to że ze jak jest są sa o od po za co czy dla przez oraz a ale lub by
był byl była byla było bylo jaki jaka jakie które ktore który ktory kiedy gdzie kto ten ta te tym tej
și si în in la cu de din pe ce cum care este sunt a al ale ai că ca să sa nu se un o unei unui lui mai
fost au fi cine când cand unde despre pentru
""".split())
OLD_SENTENCE_END = r"(?<=[.!?…])[\"”»’]?\s+(?=[\"„«“–—-]?\s*[A-ZĄĆĘŁŃÓŚŹŻÂÎȘȚĂ0-9])"
OLD_FOREIGN_LETTERS = r"[ąćęłńśźżăâîșşțţ]"


def test_the_built_in_languages_in_order() -> None:
    assert supported() == ("en", "pl", "ro")
    assert [p.name for p in packs()] == ["English", "Polish", "Romanian"]
    assert all(isinstance(p, LanguagePack) for p in packs())


def test_a_language_without_a_pack_falls_back_to_english() -> None:
    with pytest.raises(KeyError):
        pack("de")
    assert fallback("de") is pack("en") and fallback("") is pack("en")
    assert fallback("pl") is pack("pl")


def test_keyword_stop_words_are_the_union_of_the_packs_and_the_old_set() -> None:
    assert stopwords() == frozenset().union(*(p.stopwords for p in packs()))
    assert stopwords() == OLD_STOPWORDS


def test_sentence_end_is_built_from_the_packs_capitals_as_before() -> None:
    assert sentence_end().pattern == OLD_SENTENCE_END
    text = "Prezydent rozmawiał z dziennikarzami przez godzinę. Łukaszenka odpowiedział mu od razu w telewizji."
    assert len(sentences(text)) == 2


def test_rendering_check_letters_are_the_source_languages_as_before() -> None:
    assert foreign_letters().pattern == OLD_FOREIGN_LETTERS


@pytest.mark.parametrize("code", ["en", "pl", "ro"])
def test_every_built_in_pack_has_its_texts(code: str) -> None:
    p = pack(code)
    assert p.no_answer and p.refusal and p.quoted_mixed and p.translated_note
    assert "{note}" in p.lead_in and "{note}" in p.lead_note
    assert set(p.quoted_in) == set(supported()) - {code}  # a note for quotes from each other language
    assert p.stopwords and p.injection.triggers and p.injection.machine
    assert p.lingua and p.native_name


def test_derived_values_are_built_once_and_again_after_a_change() -> None:
    calls: list[int] = []

    def count(ps: tuple[LanguagePack, ...]) -> int:
        calls.append(1)
        return len(ps)

    n = derived(count)
    assert n() == n() == 3 and len(calls) == 1
    languages.register(LanguagePack(code="zz", name="Test", native_name="test"))
    try:
        assert n() == 4 and len(calls) == 2
    finally:
        languages.unregister("zz")
    assert n() == 3 and "zz" not in supported()


def test_the_grounding_reads_its_tables_from_the_packs() -> None:
    from rag.ground import lexicon
    from rag.ground.details import DATE_MONTH_WORDS

    assert lexicon.LANGUAGES == tuple(p.code for p in packs())
    assert all(DATE_MONTH_WORDS[w] == n for p in packs() for n, forms in p.months.items() for w in forms)
    assert {code: lexicon.refusal(code) for code in lexicon.LANGUAGES} == {p.code: p.refusal for p in packs()}

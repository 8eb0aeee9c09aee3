"""The built-in packs reproduce the per-module tables they replaced, exactly (the eval figures rest on them)."""

from __future__ import annotations

import pytest

from rag import languages
from rag.chunks import sentence_end, sentences
from rag.keyword import stopwords
from rag.languages import LanguagePack, derived, fallback, pack, packs, supported
from rag.render import foreign_letters

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


# rag.ground still holds its own copies of these tables; once it reads the packs this test is moot.
def _ground_table(name: str):
    import rag.ground as ground

    table = getattr(ground, name, None)
    if table is None:
        pytest.skip(f"rag.ground has no {name} of its own any more")
    return table


def _by_key(field: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for p in packs():
        for key, words in getattr(p, field).items():
            out.setdefault(key, set()).update(words)
    return out


def test_packs_hold_the_grounding_tables() -> None:
    words = {k: set(v.split()) for k, v in _ground_table("_MONTHS").items()}
    assert _by_key("months") == words
    assert _by_key("date_months") == {k: set(v.split()) for k, v in _ground_table("_MONTH_ONLY_IN_DATES").items()}
    assert _by_key("weekdays") == {k: set(v.split()) for k, v in _ground_table("_WEEKDAYS").items()}
    assert {p.code: dict(p.number_words) for p in packs()} == _ground_table("_NUMBER_WORDS")
    assert frozenset().union(*(p.abbreviations for p in packs())) == _ground_table("_ABBREVIATIONS")
    assert frozenset().union(*(p.not_names for p in packs())) == _ground_table("_NOT_NAMES")
    assert {k: v for p in packs() for k, v in p.acronyms.items()} == _ground_table("_ACRONYMS")
    assert {p.code: p.refusal for p in packs()} == _ground_table("REFUSALS")


def test_packs_hold_the_grounding_patterns() -> None:
    quantity = r"\b(?:" + "|".join(p.asks_quantity for p in packs()) + r")\b"
    assert quantity == _ground_table("_ASKS_QUANTITY").pattern
    time = (r"^\W*(?:" + "|".join(w for p in packs() for w in p.time_openers) + r")\b|\b(?:"
            + "|".join(p.asks_time for p in packs()) + r")\b")
    assert time == _ground_table("_ASKS_TIME").pattern
    refusal = r"\b(?:" + "|".join(p.model_refusal for p in packs()) + r")\b"
    assert refusal == _ground_table("_MODEL_REFUSAL").pattern

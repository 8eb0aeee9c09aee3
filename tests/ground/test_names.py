from rag.ground.details import Key
from rag.ground.names import names_match, translit
from rag.ground.vocabulary import Vocabulary


def test_spelling_digraphs_collapse_across_languages() -> None:
    assert translit("Pieskow") == translit("Peskov")
    assert translit("Ławrow") == translit("Lavrov")


def test_an_inflected_ending_keeps_its_stem() -> None:
    # Romanian genitive "Rusiei" is "Rusia" + "-ei": collapsing its "ie" made it "rusei", no match.
    assert names_match(translit("Rusiei"), translit("Rusia"))
    assert names_match(translit("Ucrainei"), translit("Ucraina"))
    assert not names_match(translit("Rusiei"), translit("Romania"))


def test_vocabulary_knows_an_inflected_form_of_a_corpus_name() -> None:
    vocabulary = Vocabulary(["Statele Unite au avertizat Rusia despre consecințe."])
    assert vocabulary.knows(Key("name", translit("Rusiei")))
    assert not vocabulary.knows(Key("name", translit("Macron")))

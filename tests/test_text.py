from rag.text import clip_question, fold, fold_spaced


def test_fold_drops_diacritics_and_case_in_polish_and_romanian() -> None:
    assert fold("ŁAWROW Ławrow") == "lawrow lawrow"
    assert fold("sancțiuni, Științe, Straße") == "sanctiuni, stiinte, strasse"


def test_fold_spaced_unifies_dashes_and_spaces() -> None:
    assert fold_spaced("  Rosja –\tNATO\u2212USA ") == "rosja - nato-usa"


def test_clip_question_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert clip_question("What did Biden offer?", 100) == "What did Biden offer?"
    clipped = clip_question("word " * 100, 52)
    assert len(clipped) <= 52 and clipped.endswith("word") and " " in clipped
    assert clip_question("x" * 80, 50) == "x" * 50  # no space to cut at: cut at the limit

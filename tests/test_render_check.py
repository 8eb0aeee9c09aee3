"""The checks a rendering must pass: facts kept and none added, English, plausible length, close meaning."""

from __future__ import annotations

import pytest

from rag.render_check import check_rendering

LINE = "Rozmowa, która odbyła się 30 grudnia na wniosek strony rosyjskiej, trwała około 50 minut."
GOOD = "The conversation, held on 30 December at the Russian side's request, lasted about 50 minutes."


def test_a_faithful_rendering_passes() -> None:
    assert check_rendering(LINE, "pl", GOOD, similarity=0.9).ok


@pytest.mark.parametrize("bad, reason", [
    ("The conversation, held on 30 December at the Russian side's request, lasted about 30 minutes.", "num:50"),
    ("The conversation, held on 31 December at the Russian side's request, lasted about 50 minutes.", "date:30.12"),
    ("The conversation, held on 30 December at the Russian side's request, lasted about 50 hours.", "span:50 minute"),
    ("", "empty"),
    ("Rozmowa, która odbyła się 30 grudnia na wniosek strony rosyjskiej, trwała około 50 minut.", "source letters"),
])
def test_a_rendering_that_changes_a_fact_or_is_not_english_fails(bad: str, reason: str) -> None:
    result = check_rendering(LINE, "pl", bad, similarity=0.9)
    assert not result.ok and any(reason in m for m in result.missing), result.missing


def test_low_similarity_fails() -> None:
    assert not check_rendering(LINE, "pl", GOOD, similarity=0.5).ok


def test_a_compound_number_must_keep_its_unit() -> None:
    line = "7 grudnia Biden i Putin odbyli dwugodzinną rozmowę za pośrednictwem wideołącza."
    wrong = check_rendering(line, "pl", "On 7 December Biden and Putin held a two-day video call.", similarity=0.9)
    assert not wrong.ok and "added span:2 day" in wrong.missing
    assert check_rendering(line, "pl", "On 7 December Biden and Putin held a two-hour video call.", similarity=0.9).ok

"""A toy German pack: the least a new language needs, in one file and nothing edited elsewhere.

Tests register it at run time (rag.languages.register); a real pack would be rag/languages/de.py
holding the same PACK, found at import.
"""

from __future__ import annotations

from rag.languages import AnswerExample, InjectionPatterns, LanguagePack

PACK = LanguagePack(
    code="de",
    name="German",
    native_name="Deutsch",
    lingua="GERMAN",
    stopwords=frozenset("der die das und ist mit von wie viele lange".split()),
    capitals="ÄÖÜ",
    letters="äöüß",
    no_answer="Die Quellen enthalten keine Antwort auf diese Frage.",
    refusal="Das Korpus sagt dazu nichts. Keiner der Artikel beantwortet diese Frage.",
    lead_in="Das sagen die Artikel{note}:",
    quoted_in={"en": " (auf Englisch zitiert)", "pl": " (auf Polnisch zitiert)", "ro": " (auf Rumänisch zitiert)"},
    quoted_mixed=" (in den Originalsprachen zitiert)",
    lead_note="Aus den Artikeln{note}:",
    translated_note=" (geprüfte englische Fassungen der Quellen)",
    answer_example=AnswerExample(
        sources="[1] 2019-03: Der Hafendirektor sagte, das Entladen des Schiffes dauere drei Tage.",
        question="Wie lange dauert das Entladen?",
        answer="Das Entladen dauert drei Tage [1].",
    ),
    copy_words=("kopie",),
    comment_headings=(r"hinterlasse einen kommentar",),
    date_prepositions=("am",),
    asks_quantity=r"wie (?:viele|lange)",
    time_openers=("wann",),
    injection=InjectionPatterns(
        triggers=("ignorier",),
        override=(r"\bignorier\w*\b.{0,40}\b(?:anweisung\w*|regeln)",),
    ),
)

"""Spotting corpus lines that talk to the assistant instead of reporting news (prompt injection).

A document is data. A line in it that addresses whoever (or whatever) reads it, an assistant, an
AI, a language model, a bot, and tells it how to answer is an attempt to steer the answer, in any
wording or language. Such lines stay in the index and stay quotable; they are flagged when the
index is built so the answer layer never lets one be the only support of an answer.

The test is built from three kinds of evidence, because single words are too weak on news text
("assistant secretary of state", "the only correct answer to aggression is unity"):
- an override of the reader's own rules ("ignore previous instructions"): enough on its own;
- a note framed for a machine reader ("Note for the assistant:", "Uwaga dla asystenta:"): enough
  when it carries a colon or an order;
- a machine addressee (AI, assistant, language model, chatbot; "any question about …") together
  with an order about answering (must answer, reply only with, the only correct reply is …).
Reported speech ("Biden told Putin to de-escalate") names no machine and gives no answering order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rag.text import fold

__all__ = ["addresses_assistant", "flag_documents"]

_FLAGS = re.UNICODE  # the text is case-folded first (see _fold)

# Every pattern below needs one of these (an addressee, an override verb, a framing noun). Most
# news lines hold none, and a substring test is ~100x cheaper than the patterns themselves.
_TRIGGERS = ("assist", "asyst", "asist", "aimachine", "model", "bot", "gpt", "artificial", "sztuczn",
             "inteligent", "ignor", "disregard", "forget", "override", "bypass", "pomin", "zapomn", "uita",
             "nu tine cont", "nie zwazaj", "prompt", "instruc", "instrukc", "jailbreak", "developer mode",
             "only with", "question", "quer", "user", "uzytkown", "utilizator", "pytan", "intreb", "asked",
             "zapytan", "reader", "llm", "automated", "bocie", "interog")

# Who is addressed: a machine reader. "assistant" is not followed by a job title (news has
# "Assistant Secretary of State ...").
_MACHINE_EN = (r"(?:aimachine|artificial intelligence|(?:large )?language models?|llms?|chat ?bots?|bots?|"
               r"gpt\w*|reader[- ]?bots?|automated (?:readers?|systems?|assistants?)|"
               r"(?:aimachine |virtual |digital )?assistants?"
               r"(?! (?:secretary|director|professor|manager|minister|coach|editor|chief|attorney|"
               r"commissioner|general|to the|principal|deputy)))")
_MACHINE_PL = (r"(?:aimachine|sztuczn\w+ inteligencj\w+|model\w* jezykow\w+|model\w* aimachine|"
               r"czat ?bot\w*|chat ?bot\w*|"
               r"bot(?:a|em|cie|owi|y|ow)?|asystenc\w*|asystent(?:a|em|owi|ow|ka|ki|ce|y|om|ami)?"
               r"(?! (?:sekretarza|ministra|prezydenta|trenera|profesora|dyrektora|redakcji)))")
_MACHINE_RO = (r"(?:aimachine|inteligent\w+ artificial\w+|model\w* (?:de limbaj|lingvistic\w*|aimachine)|"
               r"chat ?bot\w*|"
               r"bot(?:ul|ului|ule|i|ii|ilor)?|asistent(?:ul|ului|ule|ului|i|ii|ilor|e|a|a)?"
               r"(?! (?:al |(?:de )?secretar\w*|ministr\w*|director\w*|profesor\w*|manager\w*)))")
_MACHINE = rf"(?:{_MACHINE_EN}|{_MACHINE_PL}|{_MACHINE_RO})"

# Orders to the reader's own rules: enough on their own.
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|prompts?|rules|guidelines|"
    r"context|everything (?:above|before))\b|"
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|"
    r"preceding|foregoing|original)\b|"
    r"\bsystem prompt\b|\bnew instructions?\s*:|\bjailbreak\b|\bdeveloper mode\b|"
    r"\b(?:reply|respond|answer)\s+only\s+with\b|"
    r"\b(?:zignoruj|ignoruj|pomin|zapomnij|nie zwazaj na)\w*\b.{0,40}\b(?:instrukcj\w*|polece\w*|zasad\w*|"
    r"regu\w*|wytyczn\w*)|"
    r"\b(?:zignoruj|ignoruj|zapomnij)\w*\s+(?:o\s+)?(?:wszystk\w+\s+)?(?:poprzedni\w*|wczesniejsz\w*|"
    r"powyzsz\w*)|"
    r"\b(?:ignora|ignorati|ignora|uita|uitati|nu tine cont)\w*\b.{0,40}\b(?:instructiun\w*|regul\w*|"
    r"indicati\w*|directiv\w*|anterioar\w*|precedent\w*|de mai sus)",
    _FLAGS,
)

# A note headed for a machine reader.
_FRAMING = re.compile(
    rf"\b(?:note|message|instructions?|reminder|attention|warning|hint|memo|notice)\s+(?:for|to)\s+"
    rf"(?:the\s+|any\s+|all\s+|every\s+)?{_MACHINE_EN}\b|"
    rf"\b(?:dear|hey|hello|attention|hi)\s*,?\s+(?:the\s+)?{_MACHINE_EN}\b|"
    rf"\bif you(?: a|')re (?:an? |the )?{_MACHINE_EN}\b|"
    rf"\b{_MACHINE_EN} (?:that is |who is |which is )?"
    rf"(?:reading|processing|summari[sz]ing|parsing|answering from) (?:this|these|the following)\b|"
    rf"\b{_MACHINE_PL} (?:czytajac\w*|przetwarzajac\w*|streszczajac\w*|"
    rf"ktor\w+ (?:czyta|przetwarza|streszcza))\b|"
    rf"\b{_MACHINE_RO} (?:care|ce) (?:citeste|proceseaza|rezuma|analizeaza)\b|"
    rf"\b(?:uwaga|wiadomosc|informacja|instrukcj\w*|polecenie|notatka|komunikat|wskazowka)\s+(?:dla|do)\s+"
    rf"(?:kazdego\s+|wszystkich\s+)?{_MACHINE_PL}\b|"
    rf"\b(?:drogi|droga|hej|halo)\s*,?\s+(?:asystencie|aimachine|modelu|bocie|czatbocie|chatbocie)\b|"
    rf"\bjesli jestes\s+(?:asystentem|aimachine|modelem|botem|czatbotem|chatbotem|sztuczna inteligencja)\b|"
    rf"\b(?:nota|mesaj|instructiun\w*|atentie|avertisment|indicatie|mentiune)\s+(?:pentru|catre)\s+"
    rf"(?:orice\s+|toti\s+)?{_MACHINE_RO}\b|"
    rf"\b(?:draga|stimate|salut)\s*,?\s+(?:asistent\w*|aimachine|model\w*|chatbot\w*|bot\w*)\b|"
    rf"\bdaca (?:esti|sunteti)\s+(?:un\s+|o\s+)?(?:asistent\w*|aimachine|model\w*|chatbot\w*|bot\w*|"
    rf"inteligenta artificiala)\b",
    _FLAGS,
)

# Someone being told how to answer questions: a machine named, or the question-answering itself.
_ADDRESSEE = re.compile(
    rf"\b{_MACHINE}\b|"
    r"\b(?:any|every|all|each)\s+(?:\w+\s+)?(?:questions?|queries|prompts?|users?)\b|"
    r"\bwhen(?:ever)? (?:you are |you're )?(?:asked|questioned)\b|\bthe user\b|"
    r"\b(?:kazde|kazdego|dowolne|jakiekolwiek|wszystkie|kazda)\s+(?:\w+\s+)?(?:pytani\w*|zapytani\w*)|"
    r"\buzytkownik\w*\b|\bzapytany\b|"
    r"\b(?:orice|oricare|toate|fiecare)\s+(?:\w+\s+)?(?:intrebar\w*|intrebar\w*|interogar\w*)|"
    r"\butilizator\w*\b|\bintrebat\b",
    _FLAGS,
)

# An order about what to answer or say.
_DIRECTIVE = re.compile(
    r"\b(?:must|should|shall|has to|have to|needs? to|are to|is to|always|never|only|please|will)\s+"
    r"(?:\w+\s+){0,2}?(?:answer|reply|respond|say|output|print|write|state|cite|repeat|mention|ignore|"
    r"disregard|forget|pretend|refuse|return|claim|tell|include|begin|start|end|use)\w*\b|"
    r"\bthe only (?:correct|right|valid|acceptable|true|permitted|allowed|proper) (?:reply|answer|response|"
    r"output)\b|"
    r"\b(?:reply|answer|respond)\w* (?:with|by saying|exclusively|simply)\b|\bsingle word\b|\bone word\b|"
    r"(?:^|[.:;!?,]\s+)(?:answer|reply|respond|say|output|print|write|ignore|disregard|forget|pretend|repeat|"
    r"always|never|do not|don't)\b|"
    r"\b(?:musi\w*|powin\w+|nalezy|trzeba|zawsze|nigdy|tylko|wylacznie|prosze)\s+(?:\w+\s+){0,2}?"
    r"(?:odpowi\w+|odpisz\w*|napisz\w*|napisac|pisz\w*|powiedz\w*|powiedziec|mow\w*|podaj\w*|podac|cytuj\w*|"
    r"zignoruj\w*|ignoruj\w*|zwroc|zwracac|wypisz\w*|twierdz\w*|udawa\w*)\b|"
    r"\bjedyn\w+ (?:poprawn|prawidlow|wlasciw|sluszn|dopuszczaln|dozwolon)\w* odpowiedzi?\w*\b|"
    r"\b(?:jednym|pojedynczym) slowem\b|"
    r"(?:^|[.:;!?,]\s+)(?:odpowiedz|odpowiadaj|napisz|powiedz|zignoruj|ignoruj|zapomnij|pomin|udawaj|podaj|"
    r"wypisz|cytuj)\b|\bodpowiadaj\b|\bodpowiedz (?:tylko|wylacznie|zawsze|jednym)\b|"
    r"\b(?:trebuie|intotdeauna|mereu|niciodata|doar|numai|te rog|va rog)\s+(?:sa\s+)?(?:\w+\s+){0,2}?"
    r"(?:raspun\w+|scri\w+|spun\w+|ignor\w+|cit\w+|afis\w+|repet\w+|pretind\w+|mentionez\w+)\b|"
    r"\bsingurul raspuns (?:corect|valid|acceptabil|bun|permis|adevarat)\b|"
    r"\b(?:un singur|un) cuvant\b|"
    r"(?:^|[.:;!?,]\s+)(?:raspunde|raspundeti|scrie|scrieti|spune|spuneti|ignora|ignorati|uita|uitati|"
    r"afiseaza|repeta)\b|\braspunde(?:ti)? (?:doar|numai|mereu|intotdeauna|cu)\b",
    _FLAGS,
)

_MACHINE_ACRONYM = re.compile(r"\b(?:A\.?I|I\.?A|LLM)\b\.?")

# A framing is an address when a colon, comma or dash follows within a few words.
_AFTER_FRAMING = re.compile(r"(?:\s+[\w-]+){0,4}?\s*[:,\-\u2013\u2014]")


_SPACES = re.compile(r"\s+")


def _fold(line: str) -> str:
    """Lower case without diacritics, one space: the patterns hold whether or not accents were typed.

    "AI" / "IA" are told apart from the Romanian word "ai" (you have; of the) by case, before folding.
    """
    return _SPACES.sub(" ", fold(_MACHINE_ACRONYM.sub(" aimachine ", line))).strip()


def addresses_assistant(line: str) -> bool:
    """True when `line` gives orders to an assistant / AI / model reading it (en, pl, ro)."""
    text = _fold(line)
    if len(text) < 8 or not any(t in text for t in _TRIGGERS):
        return False
    if _OVERRIDE.search(text):
        return True
    directive = _DIRECTIVE.search(text) is not None
    framing = _FRAMING.search(text)
    if framing and (directive or _AFTER_FRAMING.match(text, framing.end())):
        return True
    return directive and _ADDRESSEE.search(text) is not None


def flag_documents(docs: Iterable[Any]) -> dict[str, list[int]]:
    """{source: [line numbers]} of indexed lines that address an assistant (rag.corpus Documents)."""
    flagged: dict[str, list[int]] = {}
    for doc in docs:
        lines = [n for n, line in enumerate(doc.lines, start=1)
                 if n not in doc.skipped_lines and line.strip() and addresses_assistant(line)]
        if lines:
            flagged[doc.source] = lines
    return flagged

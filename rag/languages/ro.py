"""Romanian."""

from __future__ import annotations

from rag.languages.pack import AnswerExample, InjectionPatterns, LanguagePack

# A machine reader; "asistent" is not followed by whose assistant it is ("asistent al ministrului").
_MACHINE = (r"(?:aimachine|inteligent\w+ artificial\w+|model\w* (?:de limbaj|lingvistic\w*|aimachine)|"
            r"chat ?bot\w*|"
            r"bot(?:ul|ului|ule|i|ii|ilor)?|asistent(?:ul|ului|ule|ului|i|ii|ilor|e|a|a)?"
            r"(?! (?:al |(?:de )?secretar\w*|ministr\w*|director\w*|profesor\w*|manager\w*)))")

INJECTION = InjectionPatterns(
    triggers=("asist", "model", "bot", "artificial", "inteligent", "ignor", "uita", "nu tine cont", "instruc",
              "utilizator", "intreb", "interog"),
    acronyms=(r"I\.?A",),
    machine=_MACHINE,
    override=(
        r"\b(?:ignora|ignorati|ignora|uita|uitati|nu tine cont)\w*\b.{0,40}\b(?:instructiun\w*|regul\w*|"
        r"indicati\w*|directiv\w*|anterioar\w*|precedent\w*|de mai sus)",
    ),
    framing=(
        rf"\b{_MACHINE} (?:care|ce) (?:citeste|proceseaza|rezuma|analizeaza)\b",
        rf"\b(?:nota|mesaj|instructiun\w*|atentie|avertisment|indicatie|mentiune)\s+(?:pentru|catre)\s+"
        rf"(?:orice\s+|toti\s+)?{_MACHINE}\b|"
        rf"\b(?:draga|stimate|salut)\s*,?\s+(?:asistent\w*|aimachine|model\w*|chatbot\w*|bot\w*)\b|"
        rf"\bdaca (?:esti|sunteti)\s+(?:un\s+|o\s+)?(?:asistent\w*|aimachine|model\w*|chatbot\w*|bot\w*|"
        rf"inteligenta artificiala)\b",
    ),
    addressee=(
        r"\b(?:orice|oricare|toate|fiecare)\s+(?:\w+\s+)?(?:intrebar\w*|intrebar\w*|interogar\w*)|"
        r"\butilizator\w*\b|\bintrebat\b",
    ),
    directive=(
        r"\b(?:trebuie|intotdeauna|mereu|niciodata|doar|numai|te rog|va rog)\s+(?:sa\s+)?(?:\w+\s+){0,2}?"
        r"(?:raspun\w+|scri\w+|spun\w+|ignor\w+|cit\w+|afis\w+|repet\w+|pretind\w+|mentionez\w+)\b|"
        r"\bsingurul raspuns (?:corect|valid|acceptabil|bun|permis|adevarat)\b|"
        r"\b(?:un singur|un) cuvant\b|"
        r"(?:^|[.:;!?,]\s+)(?:raspunde|raspundeti|scrie|scrieti|spune|spuneti|ignora|ignorati|uita|uitati|"
        r"afiseaza|repeta)\b|\braspunde(?:ti)? (?:doar|numai|mereu|intotdeauna|cu)\b",
    ),
)

PACK = LanguagePack(
    code="ro",
    name="Romanian",
    native_name="română",
    lingua="ROMANIAN",
    stopwords=frozenset("""
        și si în in la cu de din pe ce cum care este sunt a al ale ai că ca să sa nu se un o unei unui lui
        mai fost au fi cine când cand unde despre pentru
    """.split()),
    capitals="ÂÎȘȚĂ",
    letters="ăâîșşțţ",
    no_answer="Sursele nu conțin răspunsul la această întrebare.",
    refusal="Corpusul nu spune nimic despre asta. Niciunul dintre articolele disponibile nu răspunde la această "
    "întrebare.",
    lead_in="Iată ce spun articolele{note}:",
    quoted_in={"en": " (citate în engleză)", "pl": " (citate în poloneză)"},
    quoted_mixed=" (citate în limba originală)",
    lead_note="Din articole{note}:",
    translated_note=" (traduceri verificate în engleză)",
    answer_example=AnswerExample(
        sources="[1] 2019-03: The port director said unloading the grain ship will take three days.",
        question="Cât va dura descărcarea navei?",
        answer="Descărcarea navei va dura trei zile [1].",
    ),
    copy_words=("copie",),
    comment_headings=(r"lasă un răspuns",),
    comment_notices=(r"adresa ta de email nu va fi publicat",),
    date_prepositions=("pe", "în", "din"),
    asks_quantity=r"cati|cate|cat|(?:ce|care) (?:suma|pretul?|salariul?|valoarea?)",
    time_openers=("cand",),
    asks_time=r"in ce (?:zi|luna|an)|(?:ce|care) (?:zi|data|luna)",
    months={1: ("ianuarie",), 2: ("februarie",), 3: ("martie",), 4: ("aprilie",), 6: ("iunie",), 7: ("iulie",),
            8: ("august",), 9: ("septembrie",), 10: ("octombrie",), 11: ("noiembrie",), 12: ("decembrie",)},
    date_months={5: ("mai",)},
    # Monday ("luni") is left out: it is also "months", far more common in news text.
    weekdays={2: ("marti",), 3: ("miercuri",), 4: ("joi",), 5: ("vineri",), 6: ("sambata",), 7: ("duminica",)},
    number_words={"doi": 2, "doua": 2, "trei": 3, "patru": 4, "cinci": 5, "sase": 6, "sapte": 7, "zece": 10,
                  "cincizeci": 50, "suta": 100},
    time_units={"minute": r"minut\w*", "hour": "ora|ore|orei", "day": "zi|zile|zilei", "week": r"saptaman\w*",
                "month": "luna|luni|lunii", "year": "an|ani|anul"},
    unit_joiner="de",
    abbreviations=frozenset("dl dna dvs art sf mil str".split()),
    not_names=frozenset("""
        in la pe de din cu si dar iar ca el ea ei ele acesta aceasta potrivit conform totusi insa ce cine
        care cand unde cum presedintele presedinte ministrul secretarul purtatorul sursele sursa corpusul
        apoi ulterior anterior totodata desi pentru deoarece doar toate niciun ambele nu acest aceasta
        aceste astfel dupa inainte intre sub
    """.split()),
    acronyms={"sua": "us", "nato": "nato", "otan": "nato", "ue": "eu"},
    source_leads=r"\b(?:potrivit|conform|după|în)\s+surse\w*",
    marker_conjunction="și",
    day_range_words="si",
    injection=INJECTION,
)

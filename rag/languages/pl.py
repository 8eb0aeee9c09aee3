"""Polish."""

from __future__ import annotations

from rag.languages.pack import AnswerExample, CondenseExample, InjectionPatterns, LanguagePack

# A machine reader; "asystent" is not followed by whose assistant it is ("asystent ministra").
_MACHINE = (r"(?:aimachine|sztuczn\w+ inteligencj\w+|model\w* jezykow\w+|model\w* aimachine|"
            r"czat ?bot\w*|chat ?bot\w*|"
            r"bot(?:a|em|cie|owi|y|ow)?|asystenc\w*|asystent(?:a|em|owi|ow|ka|ki|ce|y|om|ami)?"
            r"(?! (?:sekretarza|ministra|prezydenta|trenera|profesora|dyrektora|redakcji)))")

INJECTION = InjectionPatterns(
    triggers=("asyst", "model", "bot", "sztuczn", "ignor", "pomin", "zapomn", "nie zwazaj", "instrukc", "uzytkown",
              "pytan", "zapytan", "bocie"),
    machine=_MACHINE,
    override=(
        r"\b(?:zignoruj|ignoruj|pomin|zapomnij|nie zwazaj na)\w*\b.{0,40}\b(?:instrukcj\w*|polece\w*|zasad\w*|"
        r"regu\w*|wytyczn\w*)|"
        r"\b(?:zignoruj|ignoruj|zapomnij)\w*\s+(?:o\s+)?(?:wszystk\w+\s+)?(?:poprzedni\w*|wczesniejsz\w*|"
        r"powyzsz\w*)",
    ),
    framing=(
        rf"\b{_MACHINE} (?:czytajac\w*|przetwarzajac\w*|streszczajac\w*|"
        rf"ktor\w+ (?:czyta|przetwarza|streszcza))\b",
        rf"\b(?:uwaga|wiadomosc|informacja|instrukcj\w*|polecenie|notatka|komunikat|wskazowka)\s+(?:dla|do)\s+"
        rf"(?:kazdego\s+|wszystkich\s+)?{_MACHINE}\b|"
        rf"\b(?:drogi|droga|hej|halo)\s*,?\s+(?:asystencie|aimachine|modelu|bocie|czatbocie|chatbocie)\b|"
        rf"\bjesli jestes\s+(?:asystentem|aimachine|modelem|botem|czatbotem|chatbotem|sztuczna inteligencja)\b",
    ),
    addressee=(
        r"\b(?:kazde|kazdego|dowolne|jakiekolwiek|wszystkie|kazda)\s+(?:\w+\s+)?(?:pytani\w*|zapytani\w*)|"
        r"\buzytkownik\w*\b|\bzapytany\b",
    ),
    directive=(
        r"\b(?:musi\w*|powin\w+|nalezy|trzeba|zawsze|nigdy|tylko|wylacznie|prosze)\s+(?:\w+\s+){0,2}?"
        r"(?:odpowi\w+|odpisz\w*|napisz\w*|napisac|pisz\w*|powiedz\w*|powiedziec|mow\w*|podaj\w*|podac|cytuj\w*|"
        r"zignoruj\w*|ignoruj\w*|zwroc|zwracac|wypisz\w*|twierdz\w*|udawa\w*)\b|"
        r"\bjedyn\w+ (?:poprawn|prawidlow|wlasciw|sluszn|dopuszczaln|dozwolon)\w* odpowiedzi?\w*\b|"
        r"\b(?:jednym|pojedynczym) slowem\b|"
        r"(?:^|[.:;!?,]\s+)(?:odpowiedz|odpowiadaj|napisz|powiedz|zignoruj|ignoruj|zapomnij|pomin|udawaj|podaj|"
        r"wypisz|cytuj)\b|\bodpowiadaj\b|\bodpowiedz (?:tylko|wylacznie|zawsze|jednym)\b",
    ),
)

PACK = LanguagePack(
    code="pl",
    name="Polish",
    native_name="polski",
    lingua="POLISH",
    stopwords=frozenset("""
        i w we z ze na do nie się sie to że ze jak jest są sa o od po za co czy dla przez oraz a ale lub by
        był byl była byla było bylo jaki jaka jakie które ktore który ktory kiedy gdzie kto ten ta te tym
        tej
    """.split()),
    capitals="ĄĆĘŁŃÓŚŹŻ",
    letters="ąćęłńśźż",
    no_answer="Źródła nie zawierają odpowiedzi na to pytanie.",
    refusal="Korpus nie zawiera odpowiedzi na to pytanie. Żaden z dostępnych artykułów o tym nie mówi.",
    lead_in="Oto co podają artykuły{note}:",
    quoted_in={"en": " (cytaty po angielsku)", "ro": " (cytaty po rumuńsku)"},
    quoted_mixed=" (cytaty w oryginale)",
    lead_note="Z artykułów{note}:",
    translated_note=" (sprawdzone tłumaczenia na angielski)",
    answer_example=AnswerExample(
        sources="[1] 2019-03: Port w Gdyni przyjął we wtorek statek z 40 tys. ton zboża.\n"
        "[2] 2019-03: Rozładunek potrwa trzy dni, poinformował dyrektor portu.",
        question="Ile potrwa rozładunek statku?",
        answer="Rozładunek potrwa trzy dni [2].",
    ),
    condense_example=CondenseExample(
        conversation="User: Co powiedział minister zdrowia o szczepieniach?\n"
        "Assistant: Minister zapowiedział trzecią dawkę od listopada [1].",
        question="A co na to premier?",
        rewrite="Co premier powiedział o zapowiedzi trzeciej dawki szczepionki od listopada?",
    ),
    translation_example=(
        "Według ministra trzecia dawka będzie dostępna od 3 listopada dla osób powyżej 60. roku życia.",
        "According to the minister, the third dose will be available from 3 November for people over 60.",
    ),
    copy_words=("kopia",),
    comment_headings=(r"zostaw komentarz", r"dodaj komentarz"),
    comment_notices=(r"twój adres e-?mail nie zostanie opublikowany",),
    date_prepositions=("w", "z", "dnia"),
    asks_quantity=r"ile|ilu|jak dlugo|(?:jaka|jakiej) (?:kwot|sum|cen)[aey]",
    time_openers=("kiedy",),
    asks_time=r"(?:jakim|ktorym) (?:dniu|miesiacu|roku)|(?:jakiego|ktorego) dnia",
    months={1: ("styczen", "stycznia", "styczniu"), 2: ("luty", "lutego", "lutym"), 3: ("marzec", "marca", "marcu"),
            4: ("kwiecien", "kwietnia", "kwietniu"), 5: ("maj", "maja", "maju"), 6: ("czerwiec", "czerwca", "czerwcu"),
            7: ("lipiec", "lipca", "lipcu"), 8: ("sierpien", "sierpnia", "sierpniu"),
            9: ("wrzesien", "wrzesnia", "wrzesniu"), 10: ("pazdziernik", "pazdziernika", "pazdzierniku"),
            11: ("listopad", "listopada", "listopadzie"), 12: ("grudzien", "grudnia", "grudniu")},
    weekdays={1: ("poniedzialek", "poniedzialku"), 2: ("wtorek", "wtorku"), 3: ("sroda", "srode", "srody", "srodzie"),
              4: ("czwartek", "czwartku"), 5: ("piatek", "piatku"), 6: ("sobota", "sobote", "soboty"),
              7: ("niedziela", "niedziele", "niedzieli")},
    number_words={"dwukrotnie": 2, "trzykrotnie": 3, "dwa": 2, "dwie": 2, "dwoch": 2, "dwoma": 2, "trzy": 3,
                  "trzech": 3, "cztery": 4, "czterech": 4, "piec": 5, "pieciu": 5, "szesc": 6, "szesciu": 6,
                  "siedem": 7, "osiem": 8, "dziewiec": 9, "dziesiec": 10, "piecdziesiat": 50, "sto": 100},
    time_units={"minute": r"minut\w*", "hour": r"godzin\w*", "day": "dni|dzien|dnia", "week": r"tydzien|tygodni\w*",
                "month": r"miesiac\w*|miesiec\w*|miesiace", "year": "lat|lata|rok|roku"},
    number_prefixes={"dwu": 2, "trzy": 3, "cztero": 4, "piecio": 5, "szescio": 6, "siedmio": 7, "osmio": 8,
                     "dziewiecio": 9, "dziesiecio": 10},
    compound_units={"minute": "minutow", "hour": "godzinn", "day": "dniow", "week": "tygodniow",
                    "month": "miesieczn", "year": "letni|roczn"},
    abbreviations=frozenset("""
        r tj np m.in ok godz ul wg tzw plk sw itd itp tys mln mld zob br nr pt ds jw ww dot ang ros
    """.split()),
    not_names=frozenset("""
        w we z ze na do od po o u i a ale oraz lub ze to ten ta te tak jak gdy kiedy wedlug ponadto jednak
        takze rowniez obaj obie oba on ona ono oni one jego jej ich co kto czy dlaczego jaki jaka jakie ile
        gdzie prezydent prezydenta prezydentem premier minister rzecznik rzeczniczka szef sekretarz pan pani
        zrodla zrodlo korpus rada rady natomiast dodatkowo nastepnie wczesniej pozniej poza przed podczas
        chociaz poniewaz zas tylko wszystkie zaden nie tym tego przy dla bez pod nad miedzy
    """.split()),
    acronyms={"usa": "us", "nato": "nato", "ue": "eu", "onz": "un"},
    source_leads=r"\b(?:według|zgodnie ze?|na podstawie|jak podaje|w)\s+źródł\w*",
    marker_conjunction="i",
    day_range_words="i",
    injection=INJECTION,
)

"""English: the default language, and the language every rendering is written in."""

from __future__ import annotations

from rag.languages.pack import AnswerExample, CondenseExample, InjectionPatterns, LanguagePack

# Who is addressed: a machine reader. "assistant" is not followed by a job title (news has
# "Assistant Secretary of State ...").
_MACHINE = (r"(?:aimachine|artificial intelligence|(?:large )?language models?|llms?|chat ?bots?|bots?|"
            r"gpt\w*|reader[- ]?bots?|automated (?:readers?|systems?|assistants?)|"
            r"(?:aimachine |virtual |digital )?assistants?"
            r"(?! (?:secretary|director|professor|manager|minister|coach|editor|chief|attorney|"
            r"commissioner|general|to the|principal|deputy)))")

INJECTION = InjectionPatterns(
    triggers=("assist", "model", "bot", "gpt", "artificial", "ignor", "disregard", "forget", "override", "bypass",
              "prompt", "instruc", "jailbreak", "developer mode", "only with", "question", "quer", "user", "asked",
              "reader", "llm", "automated"),
    acronyms=(r"A\.?I", r"LLM"),
    machine=_MACHINE,
    override=(
        r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|prompts?|rules|guidelines|"
        r"context|everything (?:above|before))\b|"
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|"
        r"preceding|foregoing|original)\b|"
        r"\bsystem prompt\b|\bnew instructions?\s*:|\bjailbreak\b|\bdeveloper mode\b|"
        r"\b(?:reply|respond|answer)\s+only\s+with\b",
    ),
    framing=(
        rf"\b(?:note|message|instructions?|reminder|attention|warning|hint|memo|notice)\s+(?:for|to)\s+"
        rf"(?:the\s+|any\s+|all\s+|every\s+)?{_MACHINE}\b|"
        rf"\b(?:dear|hey|hello|attention|hi)\s*,?\s+(?:the\s+)?{_MACHINE}\b|"
        rf"\bif you(?: a|')re (?:an? |the )?{_MACHINE}\b|"
        rf"\b{_MACHINE} (?:that is |who is |which is )?"
        rf"(?:reading|processing|summari[sz]ing|parsing|answering from) (?:this|these|the following)\b",
    ),
    addressee=(
        r"\b(?:any|every|all|each)\s+(?:\w+\s+)?(?:questions?|queries|prompts?|users?)\b|"
        r"\bwhen(?:ever)? (?:you are |you're )?(?:asked|questioned)\b|\bthe user\b",
    ),
    directive=(
        r"\b(?:must|should|shall|has to|have to|needs? to|are to|is to|always|never|only|please|will)\s+"
        r"(?:\w+\s+){0,2}?(?:answer|reply|respond|say|output|print|write|state|cite|repeat|mention|ignore|"
        r"disregard|forget|pretend|refuse|return|claim|tell|include|begin|start|end|use)\w*\b|"
        r"\bthe only (?:correct|right|valid|acceptable|true|permitted|allowed|proper) (?:reply|answer|response|"
        r"output)\b|"
        r"\b(?:reply|answer|respond)\w* (?:with|by saying|exclusively|simply)\b|\bsingle word\b|\bone word\b|"
        r"(?:^|[.:;!?,]\s+)(?:answer|reply|respond|say|output|print|write|ignore|disregard|forget|pretend|repeat|"
        r"always|never|do not|don't)\b",
    ),
)

PACK = LanguagePack(
    code="en",
    name="English",
    native_name="English",
    lingua="ENGLISH",
    stopwords=frozenset("""
        a an and are as at be by did do does for from had has have how in is it of on or that the this to
        was were what when where which who whom why will with about after before into than then there their
        they
    """.split()),
    no_answer="The sources do not contain the answer to this question.",
    refusal="The corpus does not say. None of the articles I can search answers this question.",
    lead_in="Here is what the articles say{note}:",
    quoted_in={"pl": " (quoted in Polish)", "ro": " (quoted in Romanian)"},
    quoted_mixed=" (quoted in the original languages)",
    lead_note="From the articles{note}:",
    translated_note=" (checked English renderings of the sources)",
    answer_example=AnswerExample(
        sources="[1] 2020-05: The health minister spoke to journalists on Wednesday about the autumn "
        "vaccination plan.\n"
        "[2] 2020-05: According to the minister, a third dose will be available from 3 November for people "
        "over 60, in two ways: at clinics and at pharmacies.",
        question="What did the health minister announce on Wednesday?",
        answer="He announced that a third dose will be available from 3 November for people over 60, at clinics "
        "and at pharmacies [2].",
    ),
    condense_example=CondenseExample(
        conversation="User: Who did the French president meet in May?\n"
        "Assistant: He met the German chancellor in Berlin [1].",
        question="And what did they agree on?",
        rewrite="What did the French president and the German chancellor agree on in Berlin in May?",
    ),
    copy_words=("copy",),
    teaser_words=("READ",),
    comment_headings=(r"leave a (reply|comment)",),
    comment_notices=(r"your email address will not be published",),
    date_prepositions=("on", "in"),
    asks_quantity=r"how (?:many|much|long)|(?:what|which) (?:amount|sum|price|fee|salary)",
    time_openers=("when",),
    asks_time=r"(?:what|which) (?:day|date|month|year)",
    months={1: ("january",), 2: ("february",), 3: ("march",), 4: ("april",), 6: ("june",), 7: ("july",),
            8: ("august",), 9: ("september",), 10: ("october",), 11: ("november",), 12: ("december",)},
    date_months={5: ("may",), 1: ("jan",), 2: ("feb",), 3: ("mar",), 4: ("apr",), 6: ("jun",), 7: ("jul",),
                 8: ("aug",), 9: ("sep", "sept"), 10: ("oct",), 11: ("nov",), 12: ("dec",)},
    weekdays={1: ("monday",), 2: ("tuesday",), 3: ("wednesday",), 4: ("thursday",), 5: ("friday",),
              6: ("saturday",), 7: ("sunday",)},
    number_words={"once": 1, "twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                  "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifty": 50, "hundred": 100},
    time_units={"minute": "minutes?", "hour": "hours?", "day": "days?", "week": "weeks?", "month": "months?",
                "year": "years?"},
    abbreviations=frozenset("""
        mr mrs ms dr prof st jr sr vs etc e.g i.e u.s u.k no gen col sen rep gov lt sgt capt approx
    """.split()),
    not_names=frozenset("""
        the a an in on at of for and but or he she it they we i you this that these those there his her
        their its according however also both after before during while when what who whom whose which why
        how where did does do is are was were will would can could should has have had if then yes no not mr
        mrs ms president presidents minister secretary spokesman spokeswoman spokesperson prime general
        chief leader leaders sources source article articles corpus council talks here since although
        because instead only some many most other another such each every all none neither either later
        earlier now meanwhile furthermore moreover additionally finally first second third overall
        specifically notably nevertheless thus therefore so as by with from to into about over under between
    """.split()),
    acronyms={"us": "us", "usa": "us", "u.s": "us", "nato": "nato", "eu": "eu", "un": "un"},
    source_leads=r"\b(?:according to|as (?:stated|reported|mentioned) in|based on|per|in)\s+(?:the\s+)?sources?",
    marker_conjunction="and",
    day_range_words="and|to",
    injection=INJECTION,
)

"""A generated news corpus of any size for the scale benchmark, written as ordinary corpus files.

How the text is made: every sentence of the seed articles (Polish and Romanian; boilerplate
lines left out) plus a short list of English news sentences written for this benchmark is a
template. A paragraph joins 2-3 templates of one language; in each, every number is replaced by
a random number of the same length, every month name by another month of that language, and
every name of a known person (Biden, Putin, Ławrow, ...; inflected endings kept) by a name from
that language's pool. An article is ten such paragraphs under a ` date YYYY-MM` marker, so the
dates, languages and sources the filters use are spread over the corpus. Random numbers make
every line distinct, so the boilerplate rule (lines repeated across files) keeps them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rag.boilerplate import mark_boilerplate
from rag.chunks import sentences
from rag.corpus import load_corpus

PARAGRAPHS_PER_ARTICLE = 10

ENGLISH = [
    "The White House said the two presidents spoke for 50 minutes on Thursday evening.",
    "Officials in Washington warned that sanctions would follow any new incursion into Ukraine.",
    "Moscow demanded written guarantees that NATO would not expand further east.",
    "The talks in Geneva on 10 January were described by both sides as frank and useful.",
    "NATO's secretary general said the alliance was ready for meaningful dialogue with Russia.",
    "About 100,000 Russian troops were reported near the Ukrainian border in December.",
    "The Kremlin spokesman said the conversation had been constructive and businesslike.",
    "Biden told Putin that the United States and its allies would respond decisively.",
    "The OSCE meeting in Vienna on 13 January closed a week of security talks.",
    "European ministers agreed on 15 December to prepare a package of economic measures.",
    "Putin warned that new sanctions could lead to a complete rupture of relations.",
    "The State Department said 20 diplomats would return to Kyiv within two weeks.",
    "Analysts in Brussels expected the January meetings to set the tone for the year.",
    "Ukraine's foreign minister called for 3 new air defence systems before the spring.",
    "A poll published on 27 December showed 62 percent support for the negotiations.",
    "The Pentagon confirmed that 8,500 soldiers had been placed on heightened alert.",
    "Lavrov said on Monday that Russia would not wait forever for an answer.",
    "The two delegations met for 8 hours at the US mission in Geneva.",
    "Germany's chancellor said the pipeline question was separate from the crisis.",
    "Sullivan told reporters on 31 December that diplomacy remained the preferred path.",
    "The Baltic states asked NATO for 2 additional battalions on their territory.",
    "Romania offered to host 1,000 more allied troops on its Black Sea coast.",
    "Poland's president met Biden's envoy in Warsaw on 5 January to discuss security.",
    "Russian state television aired a 40-minute interview with the Kremlin adviser.",
]
MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia".split(),
    "ro": "ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie noiembrie decembrie".split(),
}
KNOWN_NAMES = ["Biden", "Putin", "Ławrow", "Lavrov", "Stoltenberg", "Zełenski", "Zelenski", "Pieskow", "Peskov",
               "Blinken", "Sullivan", "Uszakow", "Ushakov", "Kułeba", "Kuleba", "Scholz", "Macron", "Duda"]
NAME_POOL = {
    "en": ["Harris", "Morgan", "Bennett", "Carter", "Hughes", "Foster", "Reed", "Porter", "Walsh", "Graham"],
    "pl": ["Kowalsk", "Nowak", "Wiśniewsk", "Wójcik", "Kamińsk", "Lewandowsk", "Zieliński", "Szymańsk", "Dąbrowsk"],
    "ro": ["Popescu", "Ionescu", "Dumitru", "Stan", "Georgescu", "Constantin", "Marin", "Tudor", "Dobre"],
}
_NUMBER = re.compile(r"\d+")
_NAME = re.compile(r"\b(" + "|".join(KNOWN_NAMES) + r")(\w*)")


def templates(seeds: Path) -> dict[str, list[str]]:
    """Seed sentences by language (boilerplate dropped), plus the English list."""
    docs = load_corpus(seeds)
    mark_boilerplate(docs)
    out: dict[str, list[str]] = {"en": list(ENGLISH)}
    for doc in docs:
        for number, line in enumerate(doc.lines, start=1):
            if number in doc.skipped_lines or not line.strip():
                continue
            out.setdefault(doc.lang, []).extend(s for s in sentences(line) if 40 <= len(s) <= 400)
    return out


class Generator:
    """Deterministic (seeded) paragraphs and articles recombined from the templates."""

    def __init__(self, seeds: Path, seed: int = 0) -> None:
        self.templates = templates(seeds)
        self.langs = sorted(self.templates)
        self.rng = np.random.default_rng(seed)

    def _vary(self, sentence: str, lang: str) -> str:
        rng = self.rng
        sentence = _NUMBER.sub(lambda m: str(rng.integers(10 ** (len(m.group()) - 1) if len(m.group()) > 1 else 0,
                                                          10 ** len(m.group()))), sentence)
        months = MONTHS.get(lang, MONTHS["en"])
        sentence = re.sub(r"\b(" + "|".join(months) + r")\b", lambda m: months[rng.integers(12)], sentence)
        pool = NAME_POOL.get(lang, NAME_POOL["en"])
        return _NAME.sub(lambda m: pool[rng.integers(len(pool))] + m.group(2), sentence)

    def paragraph(self, lang: str) -> str:
        pool = self.templates[lang]
        picks = self.rng.integers(len(pool), size=int(self.rng.integers(2, 4)))
        # A random figure at the end keeps every line distinct even when the templates repeat.
        return " ".join(self._vary(pool[i], lang) for i in picks) + f" ({int(self.rng.integers(1, 10**6))})"

    def articles(self, paragraphs: int) -> Iterator[tuple[str, str]]:
        """(file name, text) of articles holding `paragraphs` paragraphs in all."""
        for n, start in enumerate(range(0, paragraphs, PARAGRAPHS_PER_ARTICLE)):
            lang = self.langs[int(self.rng.integers(len(self.langs)))]
            count = min(PARAGRAPHS_PER_ARTICLE, paragraphs - start)
            date = f"{int(self.rng.integers(2015, 2026))}-{int(self.rng.integers(1, 13)):02d}"
            body = "\n\n".join(self.paragraph(lang) for _ in range(count))
            yield f"{n:07d}_{lang}.txt", f" date {date} {body}\n"


def write_corpus(folder: Path, paragraphs: int, seeds: Path, seed: int = 0) -> int:
    """Write the articles into `folder`; returns how many files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = 0
    for name, text in Generator(seeds, seed).articles(paragraphs):
        (folder / name).write_text(text, "utf-8")
        files += 1
    return files

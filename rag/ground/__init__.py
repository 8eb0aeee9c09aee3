"""Grounding: decide from the retrieved lines, not from the model, what an answer may rest on.

The local model writes fluently but cites the wrong line now and then and never refuses on its
own, so every step after retrieval works on the exact source lines and their checkable details.
The modules, in the order the data flows through them:

* `config`     - `GroundingConfig`: the thresholds this package reads (calibrated on the dev split).
* `lexicon`    - language tables by language code: months, weekdays, number words, abbreviations,
                 acronyms, words that are not names, "how many / when" questions, refusal texts.
* `names`      - one transliterated form per name across languages, and inflection-tolerant matching.
* `sentences`  - an answer (or a long line) -> `Sentence`s, each with the [n] markers it carried.
* `details`    - text -> checkable `Key`s (names, entities, numbers, dates, months, weekdays);
                 a line -> the `LineKeys` a claim is matched against.
* `vocabulary` - every word of the corpus: a name found nowhere in it is very likely made up.
* `lines`      - retrieved passages -> `Line`s, the unit of citation, and what each line states.
* `evidence`   - `Evidence`: the lines with their vectors and keys, computed once per answer;
                 similarity, excerpts and weighted detail coverage of a `Claim`.
* `question`   - `score_question`: each line against the question; the refusal gates
                 (`low_evidence`) and the kind of detail a question asks for (`asked_kinds`).
* `citations`  - lines -> `Citation`s (file, line range, exact text, rendering).
* `refusal`    - the "corpus does not say" answer in the reader's language.

What the answer step then selects, writes and checks is in `rag.select`, `rag.check`,
`rag.present`, `rag.extractive` and `rag.answer` (whose settings are `rag.answer_config`).
Import from the concrete modules; this package re-exports nothing.
"""

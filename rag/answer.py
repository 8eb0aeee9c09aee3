"""The question -> grounded answer pipeline shared by the CLI, the Streamlit page and the eval runner.

validate -> detect language -> condense (follow-ups) -> retrieve -> refuse early on weak evidence
-> select the lines that answer -> show the best of them at once (verified, in the reader's
language where a checked rendering exists) -> the model writes from the selected lines only, its
citations bound by a grammar to their ids -> every written number, date and name is checked
against the line it cites; a failing sentence gives way to that line.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag import settings
from rag.answer_config import AnswerConfig
from rag.check import check_claim, citing_lines
from rag.extractive import extractive_answer
from rag.ground.citations import line_citations
from rag.ground.config import GroundingConfig
from rag.ground.evidence import Evidence
from rag.ground.question import QuestionEvidence, low_evidence, score_question
from rag.ground.refusal import refusal_answer
from rag.ground.sentences import split_sentences
from rag.ground.vocabulary import Vocabulary
from rag.language import answer_language
from rag.present import Composer, excerpt, reader_text
from rag.render import RenderingStore
from rag.select import Selection, select_lines
from rag.text import clip_question
from rag.types import Answer, Passage
from rag.vector_cache import remember_document_vectors

if TYPE_CHECKING:  # LangChain loads only when a model does
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

log = logging.getLogger(__name__)

MODES = ("llm", "extractive")
History = Sequence[tuple[str, str]]


class AnswerError(RuntimeError):
    """The language model could not produce an answer; the message is written to be shown to users."""


def validate_question(question: str | None) -> str:
    """The question stripped; empty is an error, overlong is cut (with a warning) to bound prompt size."""
    text = (question or "").strip()
    if not text:
        raise ValueError("The question is empty: type a question about the news articles.")
    limit = settings.MAX_QUESTION_CHARS
    if len(text) > limit:
        warnings.warn(f"question is {len(text)} characters long; only the first {limit} are used", stacklevel=3)
        text = clip_question(text, limit)
    return text


def _line_passage(evidence: Evidence, j: int, text: str, score: float) -> Passage:
    """A one-line passage for the prompt: the model cites [n] of exactly this line."""
    line = evidence.lines[j]
    chunk = dataclasses.replace(evidence.passages[line.passage].chunk, start_line=line.number,
                                end_line=line.number, text=text)
    return Passage(chunk=chunk, score=score)


def select_context(evidence: Evidence, qe: QuestionEvidence, language: str = "en",
                   config: AnswerConfig = AnswerConfig()) -> list[Passage]:
    """The selected lines as prompt passages, each in the form the model writes from (rag.present)."""
    selection = select_lines(evidence, qe, config=config)
    return [_line_passage(evidence, j, _prompt_text(evidence, qe, j, language, config.context_line_chars),
                          float(qe.scores[j]))
            for j in selection.lines]


def _prompt_text(evidence: Evidence, qe: QuestionEvidence, j: int, language: str, max_chars: int,
                 question_vec: np.ndarray | None = None) -> str:
    """Line j as the model reads it: a long one cut to its parts closest to the question (a
    rendering too, and a one-sentence list at its clauses), not to its first `max_chars`."""
    line = evidence.lines[j]
    text = reader_text(line, language)
    if question_vec is not None:
        return excerpt(text, question_vec, evidence, max_chars)
    if text == line.text.strip():
        return evidence.excerpt(j, qe.seg_cosine, max_chars)
    return excerpt(text, None, evidence, max_chars)


def _warm(llm: BaseChatModel) -> None:
    """Have the prompt's fixed prefix in the KV cache before the first question (from disk when saved)."""
    from rag.generate import warm_prefix

    try:
        warm_prefix(llm)
    except Exception as exc:  # only speed is at stake: the first answer then reads the prefix itself
        log.warning("could not warm the prompt prefix: %s", exc)


def _reuse_index_vectors(retriever: Any) -> None:
    """Hand the index's paragraph and sentence vectors to the grounding cache (same embedder)."""
    store, embedder = getattr(retriever, "store", None), getattr(retriever, "embedder", None)
    if store is None or embedder is None:
        return
    from rag.index_build import sentence_units

    try:
        texts = [c.text for c in store.chunks] + sentence_units(store.chunks)[0]
        vectors = np.concatenate([store.vectors(), store.raw_sentence_vectors()])
    except (OSError, ValueError) as exc:  # an older index without them: lines get embedded as needed
        log.debug("index vectors not reused: %s", exc)
        return
    if len(texts) == len(vectors):
        remember_document_vectors(embedder, texts, vectors)


def figures_missing(question: str, language: str, evidence: Evidence) -> bool:
    """The question names a figure in digits ("the 2018 World Cup", "40 tanks") that no retrieved line
    states, in its own words or its rendering: the lines are about something else."""
    from rag.ground.details import extract_keys

    figures = [k for k in extract_keys(question, language) if k.kind == "num"]
    return bool(figures) and not all(any(keys.has(k) for keys in evidence.keys) for k in figures)


def lacks_asked_detail(question: str, language: str, evidence: Evidence, lines: Sequence[int]) -> bool:
    """A "how many" question whose lines hold no number (a date's day or a year is not one), or a
    "when" question whose lines hold no date, beyond what the question itself says: those lines
    cannot answer it, whatever is written."""
    from rag.ground.details import extract_keys
    from rag.ground.question import asked_kinds
    from rag.select import states_asked

    kinds = asked_kinds(question)
    if not kinds:
        return False
    given = set(extract_keys(question, language))
    return not any(states_asked(evidence, j, kinds, besides=given) for j in lines)


def _detail(text: str, evidence: Evidence, cited: Sequence[int], kind: str, supported: bool,
            missing: Sequence[str] = ()) -> dict[str, Any]:
    """A written sentence's record in `Answer.sentences`: what it cited and whether its check passed."""
    return {"text": text, "supported": supported, "score": 1.0 if supported else 0.0, "kind": kind,
            "missing": list(missing), "citations": [c.to_dict() for c in line_citations(evidence, cited)]}


def _corpus_of(retriever: Any) -> Path | None:
    store = getattr(retriever, "store", None)
    folder = (getattr(store, "manifest", None) or {}).get("corpus_dir")
    return Path(folder) if folder else None


def default_renderings(retriever: Any) -> RenderingStore | None:
    """The checked renderings for the retriever's corpus (shipped with it, plus the cache's)."""
    corpus = _corpus_of(retriever)
    return RenderingStore.for_corpus(corpus) if corpus is not None else None


class Answerer:
    """Answers questions over one retriever; holds the (optional) chat model, thresholds and renderings.

    `grounding` scores the evidence and gates weak questions; `config` is the answer step's own
    (retrieval width, selection, lead and quotes).
    """

    def __init__(self, retriever: Any, llm: BaseChatModel | None = None, grounding: GroundingConfig | None = None,
                 renderings: RenderingStore | None = None, config: AnswerConfig | None = None):
        self.retriever = retriever
        self.llm = llm
        self.grounding = grounding or GroundingConfig()
        self.config = config or AnswerConfig()
        self.renderings = renderings if renderings is not None else default_renderings(retriever)
        self._chains: dict[int, Runnable] = {}
        self._vocabulary: Vocabulary | None = None
        _reuse_index_vectors(retriever)

    @property
    def vocabulary(self) -> Vocabulary | None:
        """Words of the whole indexed corpus, to spot names it never mentions (None if the retriever hides them)."""
        chunks = getattr(self.retriever, "chunks", None)
        if self._vocabulary is None and chunks:
            # The renderings count as the corpus's words too: an English question's "Kyiv" or "White
            # House" is known when a checked rendering says it, with no table of place names.
            rendered = [] if self.renderings is None else [self.renderings.text(t) for c in chunks for t in c.lines]
            self._vocabulary = Vocabulary([*(c.text for c in chunks), *filter(None, rendered)])
        return self._vocabulary

    @classmethod
    def load(cls, model: str | None = "default", store_dir: Path | None = None, corpus_dir: Path | None = None,
             grounding: GroundingConfig | None = None, retriever: Any = None,
             config: AnswerConfig | None = None) -> Answerer:
        """Open the index (building it if needed) and, unless `model` is None, the local chat model.

        A `retriever` given is used as is (store_dir and corpus_dir are then ignored).
        """
        if retriever is None:
            from rag.retrievers import load_retriever

            retriever = load_retriever(store_dir=store_dir, corpus_dir=corpus_dir)
        llm = None
        if model:
            from rag.llm import ModelError, load_chat_model

            try:
                llm = load_chat_model(model)
            except ModelError as exc:
                raise AnswerError(str(exc)) from exc
            _warm(llm)
        return cls(retriever, llm, grounding, config=config)

    # -- public API ---------------------------------------------------------------------------------

    def ask(self, question: str, mode: str = "llm", k: int = 5, retrieval_mode: str = "hybrid",
            filters: dict[str, Any] | None = None, history: History | None = None) -> Answer:
        """The grounded answer (the last item `ask_stream` yields)."""
        answer = None
        for item in self.ask_stream(question, mode, k, retrieval_mode, filters, history):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def ask_stream(self, question: str, mode: str = "llm", k: int = 5, retrieval_mode: str = "hybrid",
                   filters: dict[str, Any] | None = None,
                   history: History | None = None) -> Iterator[str | Answer]:
        """Yield the verified lines, then the model's text as it writes, then the final Answer (always last).

        The final Answer's text is what the pieces showed, with sentences that failed their check
        replaced by the line they cited; consumers that stream should show the final text at the end.
        """
        if mode not in MODES:
            raise ValueError(f"unknown answer mode {mode!r}; choose from {', '.join(MODES)}")
        t0 = time.perf_counter()
        question = validate_question(question)
        language = answer_language(question)
        standalone = self._condense(question, history, language)
        evidence, qe, timings = self._evidence(standalone, language, k, retrieval_mode, filters)
        if mode == "llm" and self.llm is None:
            log.warning("no language model loaded: answering extractively")
            mode = "extractive"
        weak = low_evidence(qe, self.grounding) or figures_missing(standalone, language, evidence)
        if weak or mode == "extractive":
            answer = self._without_model(question, language, evidence, qe, "refuse" if weak else mode, timings, t0)
            yield answer.answer
            yield answer
            return
        yield from self._generate(question, standalone, language, evidence, qe, timings, t0)

    def lead_answer(self, question: str, k: int = 5, retrieval_mode: str = "hybrid",
                    filters: dict[str, Any] | None = None) -> Answer:
        """Only what the model-written answer shows first (its verified lead block, or its early
        refusal), with no model: the lead line's choice can then be measured in seconds."""
        t0 = time.perf_counter()
        question = validate_question(question)
        language = answer_language(question)
        evidence, qe, timings = self._evidence(question, language, k, retrieval_mode, filters)
        if low_evidence(qe, self.grounding) or figures_missing(question, language, evidence):
            return self._without_model(question, language, evidence, qe, "refuse", timings, t0)
        shown = self._lead_part(question, question, language, evidence, qe)
        if isinstance(shown, Answer):
            return next(self._final(shown, timings, t0))
        _, composer, lead, _ = shown
        return next(self._final(composer.answer(question, [lead], timings), timings, t0))

    # -- steps ----------------------------------------------------------------------------------------

    def _evidence(self, standalone: str, language: str, k: int, retrieval_mode: str,
                  filters: dict[str, Any] | None) -> tuple[Evidence, QuestionEvidence, dict[str, float]]:
        """Retrieve (widened by neighbours), read the lines and score them against the question."""
        t_search = time.perf_counter()
        passages = self.retriever.search(standalone, k=max(k, self.config.evidence_k), mode=retrieval_mode,
                                         filters=filters)
        passages = passages + self._neighbours(passages)
        timings = {"retrieve_s": time.perf_counter() - t_search}
        evidence = Evidence(passages, self.retriever.embedder, self.grounding, self.vocabulary,
                            renderings=self.renderings.text if self.renderings is not None else None)
        return evidence, score_question(standalone, evidence, language), timings

    def _neighbours(self, passages: list[Passage]) -> list[Passage]:
        """Paragraphs next to the top hits in the same section: the answer often sits beside the match
        (the date in one paragraph, what was offered two paragraphs later)."""
        widen = getattr(self.retriever, "neighbours", None)
        if widen is None or not self.config.neighbour_top:
            return []
        present = {p.chunk.id for p in passages}
        extra = widen(passages[: self.config.neighbour_top], window=self.config.neighbour_window)
        return [p for p in extra if p.chunk.id not in present]

    def _condense(self, question: str, history: History | None, language: str) -> str:
        """A follow-up rewritten to stand alone (needs the model; without one the question is used as is)."""
        if not history or self.llm is None:
            return question
        from rag.generate import condense_question

        try:
            return condense_question(self.llm, list(history), question, language)
        except Exception as exc:  # the model runtime raises many types; users need one clear message
            raise AnswerError(f"The language model failed while reading the conversation: {exc}") from exc

    def _without_model(self, question: str, language: str, evidence: Evidence, qe: QuestionEvidence, mode: str,
                       timings: dict[str, float], t0: float) -> Answer:
        """Early refusal or the extractive answer: both are instant."""
        if mode == "extractive":
            answer = extractive_answer(question, language, evidence, qe, config=self.config)
        else:
            answer = refusal_answer(question, language, evidence.passages)
        elapsed = time.perf_counter() - t0
        answer.timings = {**timings, "first_line_s": elapsed, "first_token_s": elapsed, "total_s": elapsed}
        return answer

    def _chain_for(self, n_lines: int) -> Runnable:
        """The answer chain bound to the grammar for `n_lines` selected lines (built once per count)."""
        if n_lines not in self._chains:
            from rag.generate import answer_chain

            self._chains[n_lines] = answer_chain(self.llm, n_lines)
        return self._chains[n_lines]

    def _question_vector(self, evidence: Evidence, question: str) -> np.ndarray | None:
        try:
            return np.asarray(evidence.embedder.embed_queries([question]), dtype=np.float32)[0]
        except Exception as exc:  # only the excerpt choice is at stake
            log.debug("no question vector for excerpts: %s", exc)
            return None

    def _generate(self, question: str, standalone: str, language: str, evidence: Evidence, qe: QuestionEvidence,
                  timings: dict[str, float], t0: float) -> Iterator[str | Answer]:
        """Show the verified lead lines, stream the model's sentences over the selection, check them."""
        from rag.generate import stream_answer
        from rag.prompt import is_no_answer, prompt_inputs

        shown = self._lead_part(question, standalone, language, evidence, qe)
        if isinstance(shown, Answer):
            yield from self._final(shown, timings, t0)
            return
        selection, composer, lead, question_vec = shown
        timings["first_line_s"] = time.perf_counter() - t0
        yield lead + "\n\n"
        writes = language if language in self.config.write_languages else "en"
        context = [_line_passage(evidence, j, _prompt_text(evidence, qe, j, writes, self.config.context_line_chars,
                                                           question_vec), float(qe.scores[j]))
                   for j in selection.lines]
        pieces: list[str] = []
        try:
            for piece in stream_answer(self._chain_for(len(context)), prompt_inputs(standalone, context, writes)):
                if not pieces:
                    timings["first_token_s"] = time.perf_counter() - t0
                pieces.append(piece)
                yield piece
        except Exception as exc:  # llama.cpp, LangChain and OS errors alike
            raise AnswerError(f"The language model failed while answering: {exc}") from exc
        draft = "".join(pieces)
        if is_no_answer(draft) and self._trust_not_found(qe):
            refused = refusal_answer(question, language, evidence.passages, sentences=[
                {"text": draft, "supported": False, "score": 0.0, "citations": [], "kind": "model: not found"}])
            yield from self._final(refused, timings, t0)
            return
        written = self._checked_sentences(draft, writes, evidence, qe, standalone, selection, composer)
        answer = composer.answer(question, [lead, written], timings)
        yield from self._final(answer, timings, t0)

    def _lead_part(self, question: str, standalone: str, language: str, evidence: Evidence,
                   qe: QuestionEvidence) -> Answer | tuple[Selection, Composer, str, np.ndarray | None]:
        """The selection, its verified lead block and the question's vector (embedded once, for the
        lead's and the prompt's excerpts), or the refusal when the lines cannot answer."""
        selection = select_lines(evidence, qe, standalone, self.config, language)
        if not selection or lacks_asked_detail(standalone, language, evidence, selection.lines):
            return refusal_answer(question, language, evidence.passages)
        composer = Composer(evidence, language)
        question_vec = self._question_vector(evidence, standalone)
        lead = composer.lead_block(selection.lead, question_vec, self.config.lead_chars)
        return selection, composer, lead, question_vec

    def _trust_not_found(self, qe: QuestionEvidence) -> bool:
        """The model's "not in these lines" refuses unless the best line matches the question strongly."""
        return qe.best() < self.config.override_not_found

    def _checked_sentences(self, draft: str, language: str, evidence: Evidence, qe: QuestionEvidence,
                           question: str, selection: Selection, composer: Composer) -> str:
        """The model's sentences that pass `check_claim` and cite a line close to the question; a
        failing one gives way to its cited line (unless that line is already shown)."""
        from rag.prompt import is_no_answer

        shown = set(selection.lead)
        out: list[str] = []
        for sentence in split_sentences("" if is_no_answer(draft) else draft):
            cited = [selection.lines[n - 1] for n in sentence.hints if 1 <= n <= len(selection.lines)]
            cited = [j for j in dict.fromkeys(cited) if evidence.supports[j]]
            check = check_claim(sentence.text, language, cited, evidence, question, selection.lines)
            if check.ok:
                cited = citing_lines(sentence.text, language, cited, evidence)
                if self._off_question(qe, selection, cited):
                    composer.details.append(_detail(sentence.text, evidence, cited, "model: off the question", True))
                    continue
            composer.details.append(_detail(sentence.text, evidence, cited, "model", check.ok, check.missing))
            if check.ok:
                out.append(composer.sentence(sentence.text, cited))
                continue
            # The cited line stating most of the sentence's details stands in for it, when it
            # itself answers well (is among the lead candidates) and is not shown already.
            for j in citing_lines(sentence.text, language, cited, evidence)[:1]:
                if j not in shown and j in selection.lines[: self.config.lead_candidates]:
                    shown.add(j)
                    out.append(composer.quote(j, None, self.config.lead_chars))
        return " ".join(out)

    def _off_question(self, qe: QuestionEvidence, selection: Selection, cited: Sequence[int]) -> bool:
        """A true sentence from a line that matches the question far worse than the best line: the
        model read it as context and wandered; shown, it adds a claim (and a citation) beside the point.
        Lines sent for following the best one in its section are exempt: that is where what was said
        or offered at an event is, whatever their own score."""
        margin = self.config.sentence_margin
        if not cited or margin is None or max(float(qe.scores[j]) for j in cited) >= qe.best() - margin:
            return False
        return not set(cited) & set(selection.follow)

    @staticmethod
    def _final(answer: Answer, timings: dict[str, float], t0: float) -> Iterator[Answer]:
        now = time.perf_counter() - t0
        timings.setdefault("first_line_s", now)
        timings.setdefault("first_token_s", now)
        timings["total_s"] = now
        answer.timings = dict(timings)
        yield answer

"""The question -> grounded answer pipeline shared by the CLI, the Streamlit page and the eval runner.

validate -> detect language -> condense (follow-ups) -> retrieve -> refuse early on weak evidence
-> send only the lines that matter to the model -> stream -> ground every sentence in the lines.

Prompt size dominates latency on two cores, so the model sees ~1,200 characters of the best-matching
lines, not whole passages; grounding still checks the answer against everything retrieved.
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
from rag.extractive import extractive_answer
from rag.ground import (
    Evidence,
    GroundingConfig,
    QuestionEvidence,
    Vocabulary,
    ground_answer,
    low_evidence,
    refusal_answer,
    remember_document_vectors,
    score_question,
    strip_markers,
)
from rag.language import answer_language
from rag.types import Answer, Passage

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
        cut = text[:limit]
        text = cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut
    return text


def _line_passage(evidence: Evidence, qe: QuestionEvidence, j: int, text: str) -> Passage:
    """A one-line passage for the prompt: the model cites [n] of exactly this line."""
    line = evidence.lines[j]
    chunk = dataclasses.replace(evidence.passages[line.passage].chunk, start_line=line.number,
                                end_line=line.number, text=text)
    return Passage(chunk=chunk, score=float(qe.scores[j]), dense_score=float(qe.cosine[j]))


def _section_followers(evidence: Evidence, j: int, limit: int) -> list[int]:
    """Up to `limit` citable lines after line j in its article and section, in reading order.

    News reports name an event first ("Biden spoke with Putin on 30 December") and say what
    happened in it in the next paragraphs; those paragraphs rarely match the question as well as
    the line naming the event does, so they would miss a tight prompt on score alone.
    """
    if limit <= 0:
        return []
    anchor = evidence.lines[j]
    section = evidence.passages[anchor.passage].chunk.section
    after = [i for i, ln in enumerate(evidence.lines)
             if ln.source == anchor.source and ln.number > anchor.number and evidence.supports[i]
             and evidence.passages[ln.passage].chunk.section == section]
    return sorted(after, key=lambda i: evidence.lines[i].number)[:limit]


def select_context(evidence: Evidence, qe: QuestionEvidence) -> list[Passage]:
    """The lines worth sending to the model, within the character budget.

    The best line comes first, followed by the lines after it in its section; then the other lines
    by score. Long lines are cut to their sentences closest to the question, so the text of a
    prompt passage may be part of its line; citations always quote the whole line from the file.
    """
    c = evidence.config
    ranked = [j for j in qe.ranked() if qe.scores[j] >= qe.best() - c.context_margin]
    if ranked:
        follow = _section_followers(evidence, ranked[0], c.context_follow)
        ranked = [ranked[0], *follow, *(j for j in ranked[1:] if j not in follow)]
    out: list[Passage] = []
    used = 0
    for j in ranked:
        text = evidence.excerpt(j, qe.seg_cosine, c.context_line_chars)
        if out and used + len(text) > c.context_chars:
            continue  # a shorter line further down may still fit
        out.append(_line_passage(evidence, qe, j, text))
        used += len(text)
    return out


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
    from rag.store import sentence_units

    try:
        texts = [c.text for c in store.chunks] + sentence_units(store.chunks)[0]
        vectors = np.concatenate([store.vectors(), store.raw_sentence_vectors()])
    except (OSError, ValueError) as exc:  # an older index without them: lines get embedded as needed
        log.debug("index vectors not reused: %s", exc)
        return
    if len(texts) == len(vectors):
        remember_document_vectors(embedder, texts, vectors)


class Answerer:
    """Answers questions over one retriever; holds the (optional) chat model and grounding thresholds."""

    def __init__(self, retriever: Any, llm: BaseChatModel | None = None, config: GroundingConfig | None = None):
        self.retriever = retriever
        self.llm = llm
        self.config = config or GroundingConfig()
        self._chain: Runnable | None = None
        self._vocabulary: Vocabulary | None = None
        _reuse_index_vectors(retriever)

    @property
    def vocabulary(self) -> Vocabulary | None:
        """Words of the whole indexed corpus, to spot names it never mentions (None if the retriever hides them)."""
        chunks = getattr(self.retriever, "chunks", None)
        if self._vocabulary is None and chunks:
            self._vocabulary = Vocabulary.from_chunks(chunks)
        return self._vocabulary

    @classmethod
    def load(cls, model: str | None = "default", store_dir: Path | None = None, corpus_dir: Path | None = None,
             config: GroundingConfig | None = None, retriever: Any = None) -> Answerer:
        """Open the index (building it if needed) and, unless `model` is None, the local chat model.

        A `retriever` given is used as is (store_dir and corpus_dir are then ignored).
        """
        if retriever is None:
            from rag.retrieve import Retriever

            retriever = Retriever.load(store_dir=store_dir, corpus_dir=corpus_dir)
        llm = None
        if model:
            from rag.llm import ModelError, load_chat_model

            try:
                llm = load_chat_model(model)
            except ModelError as exc:
                raise AnswerError(str(exc)) from exc
            _warm(llm)
        return cls(retriever, llm, config)

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
        """Yield draft text as the model writes it, then the final grounded Answer (always last)."""
        if mode not in MODES:
            raise ValueError(f"unknown answer mode {mode!r}; choose from {', '.join(MODES)}")
        t0 = time.perf_counter()
        question = validate_question(question)
        language = answer_language(question)
        standalone = self._condense(question, history, language)
        t_search = time.perf_counter()
        passages = self.retriever.search(standalone, k=max(k, self.config.evidence_k), mode=retrieval_mode,
                                         filters=filters)
        passages = passages + self._neighbours(passages)
        timings = {"retrieve_s": time.perf_counter() - t_search}
        evidence = Evidence(passages, self.retriever.embedder, self.config, self.vocabulary)
        qe = score_question(standalone, evidence, language)
        if mode == "llm" and self.llm is None:
            log.warning("no language model loaded: answering extractively")
            mode = "extractive"
        if low_evidence(qe, self.config) or mode == "extractive":
            answer = self._without_model(question, language, evidence, qe, mode, timings, t0)
            yield answer.answer
            yield answer
            return
        yield from self._generate(question, standalone, language, evidence, qe, timings, t0)

    # -- steps ----------------------------------------------------------------------------------------

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
            answer = extractive_answer(question, language, evidence, qe)
        else:
            answer = refusal_answer(question, language, evidence.passages)
        elapsed = time.perf_counter() - t0
        answer.timings = {**timings, "first_token_s": elapsed, "total_s": elapsed}
        return answer

    @staticmethod
    def _fallback(question: str, language: str, evidence: Evidence, qe: QuestionEvidence,
                  rejected: Answer) -> Answer:
        """The evidence passed the refusal gate but nothing of the draft survived grounding (or the
        model said the sources lack the answer): quote the best lines instead of refusing.

        Refusal is decided from evidence, not from the model's say-so. On the dev questions, 7 of 50
        answerable ones were refused this way before, and the quotes answered 5 of them; refusal
        recall is unchanged, as every refused unanswerable question was already stopped by the gate.
        The dropped draft sentences stay in `sentences`, marked unsupported, for the UI and the eval.
        """
        answer = extractive_answer(question, language, evidence, qe)
        answer.sentences = [*rejected.sentences, *answer.sentences]
        return answer

    def _chain_for_model(self) -> Runnable:
        if self._chain is None:
            from rag.generate import answer_chain

            self._chain = answer_chain(self.llm)
        return self._chain

    def _off_language(self, draft: str, language: str, context: list[Passage]) -> bool:
        """A draft not in the answer language although it was asked for (see
        `GroundingConfig.pivot_languages`): the model copied its source's language."""
        from rag.generate import can_translate_to
        from rag.language import detect_language
        from rag.prompt import is_no_answer

        if language not in self.config.pivot_languages or not can_translate_to(language):
            return False
        if not draft.strip() or is_no_answer(draft) or not context:
            return False
        return detect_language(strip_markers(draft)[0]) != language

    def _via_english(self, question: str, context: list[Passage], language: str) -> str:
        """The answer written in English (the model's best language) and translated; the streamed
        draft it replaces stays on screen until the grounded answer settles."""
        from rag.generate import stream_answer, stream_translation
        from rag.prompt import is_no_answer, prompt_inputs

        english = "".join(stream_answer(self._chain_for_model(), prompt_inputs(question, context, "en")))
        if not english.strip() or is_no_answer(english):
            return english
        return "".join(stream_translation(self.llm, english, language))

    def _generate(self, question: str, standalone: str, language: str, evidence: Evidence, qe: QuestionEvidence,
                  timings: dict[str, float], t0: float) -> Iterator[str | Answer]:
        """Stream the model's draft over the selected lines, then ground it."""
        from rag.generate import stream_answer
        from rag.prompt import prompt_inputs

        context = select_context(evidence, qe)
        # The standalone question already carries the conversation; history in the prompt would only
        # lengthen it (latency) and invite answers from earlier turns instead of the sources.
        inputs = prompt_inputs(standalone, context, language)
        pieces: list[str] = []
        try:
            for piece in stream_answer(self._chain_for_model(), inputs):
                if not pieces:
                    timings["first_token_s"] = time.perf_counter() - t0
                pieces.append(piece)
                yield piece
            draft = "".join(pieces)
            if self._off_language(draft, language, context):
                draft = self._via_english(standalone, context, language)
        except Exception as exc:  # llama.cpp, LangChain and OS errors alike
            raise AnswerError(f"The language model failed while answering: {exc}") from exc
        answer = ground_answer(question, draft, language, evidence, hint_passages=context)
        if answer.refused:
            answer = self._fallback(question, language, evidence, qe, answer)
        timings.setdefault("first_token_s", time.perf_counter() - t0)
        timings["total_s"] = time.perf_counter() - t0
        answer.timings = timings
        yield answer

"""Generation: the prompt -> chat model -> text chain, streaming, and follow-up question rewriting."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from rag import languages
from rag.languages import LanguagePack
from rag.prompt import answer_grammar, build_prompt, language_name, prompt_inputs

CONDENSE_MAX_TOKENS = 64
_HISTORY_TURNS = 3
_ANSWER_CHARS = 400

CONDENSE_SYSTEM = """\
You rewrite the user's follow-up question so that it can be understood without the conversation.
Replace pronouns and vague references with the people, places, dates and topics from the conversation.
Keep the names that the follow-up question mentions. Keep its language. Do not answer it.
Output only the rewritten question."""

CONDENSE_TEMPLATE = """\
Conversation:
{conversation}

Follow-up question: {question}
Language: {language}"""


def _condense_examples(packs: tuple[LanguagePack, ...]) -> list[tuple[str, str]]:
    """(user turn, rewrite) of each pack's worked follow-up, in pack order.

    Fixed few-shot turns: small models copy a shown pattern far better than they follow a
    description, and being fixed they stay in the reusable KV-cache prefix.
    """
    return [(CONDENSE_TEMPLATE.format(conversation=e.conversation, question=e.question, language=p.name),
             e.rewrite) for p in packs if (e := p.condense_example)]


condense_examples = languages.derived(_condense_examples)

_LEADING_LABEL = re.compile(r"^\s*(standalone question|rewritten question|question)\s*:\s*", re.IGNORECASE)


def answer_chain(chat_model: BaseChatModel | Runnable, n_lines: int | None = None) -> Runnable:
    """prompt | model | text: invoke it with `rag.prompt.prompt_inputs(...)`.

    With `n_lines`, a llama.cpp model is bound to the answer grammar for that many lines (cited
    sentences or the not-found branch); other models (test doubles) write freely.
    """
    grammar = answer_grammar_for(chat_model, n_lines) if n_lines else None
    model = chat_model.bind(grammar=grammar) if grammar is not None else chat_model
    return build_prompt() | model | StrOutputParser()


def _is_llama(chat_model: Any) -> bool:
    client = getattr(chat_model, "client", None)
    return client is not None and type(client).__module__.startswith("llama_cpp")


@functools.lru_cache(maxsize=32)
def _compiled(gbnf: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(gbnf, verbose=False)


def answer_grammar_for(chat_model: Any, n_lines: int) -> Any:
    """The compiled answer grammar for a llama.cpp model; None for models without grammar support."""
    if not _is_llama(chat_model):
        return None
    return _compiled(answer_grammar(n_lines))


def stream_answer(chain: Runnable, inputs: dict) -> Iterator[str]:
    """Yield answer text as the model produces it (empty pieces dropped), for first-token latency."""
    for piece in chain.stream(inputs):
        if piece:
            yield piece


def warm_prefix(chat_model: BaseChatModel) -> None:
    """Read the fixed part of the answer prompt (rules and worked examples) into the KV cache now.

    llama.cpp reuses the longest common prefix of consecutive prompts, so after this the first
    real question pays only for its sources and question. Models that can (the local llama.cpp
    one) keep the result on disk, so the next process loads it in milliseconds instead of
    reading ~640 tokens again: a one-shot `rag ask` then starts as fast as the chat page.
    """
    path = None
    if hasattr(chat_model, "prefix_state_path"):
        path = chat_model.prefix_state_path(fixed_prompt_text())
        if chat_model.restore_prefix(path):
            return
    chain = build_prompt() | chat_model.bind(max_tokens=1) | StrOutputParser()
    chain.invoke(prompt_inputs("-", [], "English"))
    if path is not None:
        chat_model.save_prefix(path)


def fixed_prompt_text() -> str:
    """The answer prompt with a placeholder question: identifies the cacheable prefix's content."""
    messages = build_prompt().format_messages(**prompt_inputs("-", [], "English"))
    return "\n".join(f"{m.type}: {m.content}" for m in messages)


def _condense_prompt() -> ChatPromptTemplate:
    shots: list[tuple[str, str]] = []
    for user, rewrite in condense_examples():
        shots += [("human", _escape_braces(user)), ("ai", _escape_braces(rewrite))]
    return ChatPromptTemplate.from_messages(
        [("system", CONDENSE_SYSTEM), *shots, ("human", CONDENSE_TEMPLATE)]
    )


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _conversation(history: Sequence[tuple[str, str]]) -> str:
    """The last few turns as plain text; long answers are cut, the rewrite needs only the entities."""
    lines: list[str] = []
    for question, answer in list(history)[-_HISTORY_TURNS:]:
        short = answer.strip().replace("\n", " ")
        if len(short) > _ANSWER_CHARS:
            short = short[:_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
        lines.append(f"User: {question.strip()}\nAssistant: {short}")
    return "\n".join(lines)


def _clean_rewrite(text: str) -> str:
    """First non-empty line, without a label the model may echo or wrapping quotes."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = _LEADING_LABEL.sub("", line)
    return line.strip().strip('"“”„«»').strip()


def _side_model(chat_model: BaseChatModel | Runnable, max_tokens: int) -> Runnable:
    """The model for a side task (follow-up rewriting), capped at `max_tokens`; a separate
    llama.cpp context when the model offers one, so the answer prompt's cached prefix survives it."""
    helper = getattr(chat_model, "helper_model", None)
    model = helper() if callable(helper) else chat_model
    return model.bind(max_tokens=max_tokens) if isinstance(model, BaseChatModel) else model


def _names(text: str) -> list[str]:
    """Capitalised words after the first: the names a rewrite must not drop."""
    words = re.findall(r"\w+", text)
    return [w for w in words[1:] if w[0].isupper()]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _plausible_rewrite(question: str, rewrite: str, history: Sequence[tuple[str, str]]) -> bool:
    """Reject rewrites worse than the original: empty, rambling, a repeat of an earlier turn, or one
    that lost a name the follow-up asked about (small models sometimes swap the subject)."""
    if not rewrite or len(rewrite) > max(300, 3 * len(question)):
        return False
    if _norm(rewrite) in {_norm(q) for q, _ in history} and _norm(rewrite) != _norm(question):
        return False
    stems = {w[:4] for w in _norm(rewrite).split()}
    return all(name.lower()[:4] in stems for name in _names(question))


def condense_question(
    chat_model: BaseChatModel | Runnable,
    history: Sequence[tuple[str, str]] | None,
    question: str,
    language: str | None = None,
) -> str:
    """A standalone version of a follow-up, in its language; the question itself when there is no history."""
    if not history:
        return question
    if language is None:
        from rag.language import answer_language

        language = answer_language(question)
    chain = _condense_prompt() | _side_model(chat_model, CONDENSE_MAX_TOKENS) | StrOutputParser()
    raw = chain.invoke(
        {
            "conversation": _conversation(history),
            "question": question.strip(),
            "language": language_name(language),
        }
    )
    rewritten = _clean_rewrite(raw)
    return rewritten if _plausible_rewrite(question, rewritten, history) else question

"""Generation: the prompt -> chat model -> text chain, streaming, and follow-up question rewriting."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from rag.prompt import build_prompt, language_name

CONDENSE_MAX_TOKENS = 64
_HISTORY_TURNS = 3
_ANSWER_CHARS = 400

CONDENSE_SYSTEM = """\
You rewrite a follow-up question from a conversation into one standalone question.
Replace pronouns and vague references with the names and topics they refer to in the conversation.
Keep the language of the follow-up question. Do not answer it. Output only the rewritten question."""

CONDENSE_TEMPLATE = """\
Conversation:
{conversation}

Follow-up question: {question}

Rewrite the follow-up question as one standalone question in {language}."""

_LEADING_LABEL = re.compile(r"^\s*(standalone question|rewritten question|question)\s*:\s*", re.IGNORECASE)


def answer_chain(chat_model: BaseChatModel | Runnable) -> Runnable:
    """prompt | model | text: invoke it with `rag.prompt.prompt_inputs(...)`."""
    return build_prompt() | chat_model | StrOutputParser()


def stream_answer(chain: Runnable, inputs: dict) -> Iterator[str]:
    """Yield answer text as the model produces it (empty pieces dropped), for first-token latency."""
    for piece in chain.stream(inputs):
        if piece:
            yield piece


def _condense_prompt() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages([("system", CONDENSE_SYSTEM), ("human", CONDENSE_TEMPLATE)])


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


def condense_question(
    chat_model: BaseChatModel | Runnable,
    history: Sequence[tuple[str, str]] | None,
    question: str,
    language: str | None = None,
) -> str:
    """A standalone version of a follow-up question, in its own language; the question itself if no history."""
    if not history:
        return question
    if language is None:
        from rag.language import answer_language

        language = answer_language(question)
    model = chat_model.bind(max_tokens=CONDENSE_MAX_TOKENS) if isinstance(chat_model, BaseChatModel) else chat_model
    chain = _condense_prompt() | model | StrOutputParser()
    raw = chain.invoke(
        {"conversation": _conversation(history), "question": question.strip(), "language": language_name(language)}
    )
    rewritten = _clean_rewrite(raw)
    # A rewrite that is empty or balloons past any plausible question is worse than the original.
    if not rewritten or len(rewritten) > max(300, 3 * len(question)):
        return question
    return rewritten

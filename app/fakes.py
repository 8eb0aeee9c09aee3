"""A stand-in chat model for `RAG_APP_FAKE=1`: page tests run in seconds, without llama.cpp.

It answers with the first source in its prompt that shares a word with the question, cited,
so the grounding step accepts it as it would a faithful model's answer; `fail_with` simulates a
broken model. It reads the prompt formats of rag.prompt and rag.generate: if those change, the
page tests say so.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

_SOURCE = re.compile(r"^\[\d+\](?: \d{4}-\d{2}:)? (.*)$", re.MULTILINE)
_FOLLOW_UP = re.compile(r"Follow-up question:\s*(.+)")
_QUESTION = re.compile(r"^Question:\s*(.+)$", re.MULTILINE)
# What the fake "makes up" when no source fits: invented names and a number found in no article,
# so grounding must reject it, as for a hallucinating model (the answer then quotes lines or refuses).
MADE_UP = "Zorbulon Quixdale signed treaty 98765 in Vexhollow."


def _words(text: str) -> set[str]:
    """Longer words only: short ones ("the", "on") would make every source look relevant."""
    return {w for w in re.findall(r"\w{5,}", text.lower())}


class EchoChatModel(BaseChatModel):
    """Echoes the first source sharing a word with the question, cited [1]; else makes something up.

    Follow-up rewriting returns the follow-up unchanged.
    """

    fail_with: str | None = None  # when set, every call raises RuntimeError(fail_with)
    # Seconds per streamed word (RAG_APP_FAKE_DELAY), to watch streaming and waiting in a browser.
    delay: float = float(os.environ.get("RAG_APP_FAKE_DELAY", "0") or 0)

    @property
    def _llm_type(self) -> str:
        return "echo-fake"

    def _reply(self, messages: list[BaseMessage]) -> str:
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        text = str(messages[-1].content)
        follow_up = _FOLLOW_UP.search(text)
        if follow_up and "<source" not in text:
            return follow_up.group(1).strip()
        question = _QUESTION.search(text)
        wanted = _words(question.group(1)) if question else set()
        for number, source in enumerate(_SOURCE.findall(text), start=1):
            if wanted & _words(source):
                return f"{source.strip()} [{number}]"
        return MADE_UP

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._reply(messages)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*", self._reply(messages)):
            time.sleep(self.delay)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

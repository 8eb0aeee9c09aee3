"""What the runner needs from the objects it evaluates, stated as protocols.

The runner scores rag's own Retriever and Answerer, the naive LangChain baseline and test fakes
alike; these protocols are the whole contract between them, so none of them has to inherit
anything and the runner never has to probe an object for what it can do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol


class LineSpan(Protocol):
    """A range of lines of one source file: a chunk, a retrieved passage or a citation."""

    @property
    def source(self) -> str: ...

    @property
    def start_line(self) -> int: ...

    @property
    def end_line(self) -> int: ...


class EvalRetriever(Protocol):
    """Ranks the indexed chunks for a question; `chunks` is the whole index, for the ideal nDCG."""

    @property
    def chunks(self) -> Sequence[LineSpan]: ...

    def search(self, question: str, k: int = ..., mode: str = ...) -> Sequence[LineSpan]: ...


class EvalAnswer(Protocol):
    """The parts of an answer the runner scores (rag.types.Answer has them)."""

    @property
    def answer(self) -> str: ...

    @property
    def refused(self) -> bool: ...

    @property
    def citations(self) -> Sequence[LineSpan]: ...

    @property
    def passages(self) -> Sequence[LineSpan]: ...

    @property
    def timings(self) -> Mapping[str, float]: ...


class EvalAnswerer(Protocol):
    """Answers one question in one answer mode over `k` passages of one retriever mode."""

    def ask(self, question: str, mode: str = ..., k: int = ..., retrieval_mode: str = ...) -> EvalAnswer: ...


AnswererFactory = Callable[[str], EvalAnswerer]  # answer mode -> answerer; raises if it cannot load

"""Fakes shared by the runner and CLI tests: a fixed ranking, scripted answers and three questions."""

from __future__ import annotations

from evals.dataset import QAItem
from rag.types import Answer, Chunk, Citation, Passage

# gold: two lines of file a, one of file b
GOLD = {("a", 3), ("a", 4), ("b", 7)}
RANKED = [("c", 1, 5), ("a", 1, 3), ("b", 7, 9), ("a", 4, 4)]
INDEX = [("a", 1, 3), ("a", 4, 6), ("b", 7, 9), ("c", 1, 5)]


def chunk(source: str, start: int, end: int) -> Chunk:
    return Chunk(source=source, start_line=start, end_line=end, text="\n".join(["x"] * (end - start + 1)))


class FakeRetriever:
    """Returns the same ranking for every question; keyword mode returns it reversed."""

    MODES = ("keyword", "hybrid")

    def __init__(self) -> None:
        self.chunks = [chunk(*s) for s in INDEX]
        self.calls: list[tuple[str, int, str]] = []

    def search(self, question: str, k: int = 5, mode: str = "hybrid", filters=None) -> list[Passage]:
        self.calls.append((question, k, mode))
        ranked = [chunk(*s) for s in RANKED]
        ranked = ranked[::-1] if mode == "keyword" else ranked
        return [Passage(chunk=c, score=1.0 / (i + 1)) for i, c in enumerate(ranked[:k])]


class FakeAnswerer:
    """Answers q1 correctly with a good citation, refuses q2, and fails on 'boom'."""

    def ask(self, question: str, mode: str = "llm", k: int = 5, retrieval_mode: str = "hybrid") -> Answer:
        if question == "boom":
            raise RuntimeError("model crashed")
        passages = [Passage(chunk=chunk("a", 1, 5), score=1.0)]
        timings = {"retrieve_s": 0.01, "first_token_s": 0.1, "total_s": 1.0 if mode == "llm" else 0.2}
        if question == "q2":
            return Answer(question, "Korpus tego nie podaje.", "pl", True, [], passages, timings)
        cites = [Citation("a", 3, 4, "x"), Citation("z", 1, 1, "y")]
        return Answer(question, "About 50 minutes [1].", "en", False, cites, passages, timings)


ITEMS = [
    QAItem("en-001", "q1", "en", True, "About 50 minutes.", (("a", 3), ("a", 4)), (("50 minutes",),)),
    QAItem("pl-001", "q2", "pl", False, "Korpus tego nie podaje.", (), ()),
    QAItem("pl-002", "boom", "pl", True, "Tak.", (("b", 7),), (("tak",),)),
]


def fake_detect(text: str) -> str:
    return "pl" if "Korpus" in text else "en"

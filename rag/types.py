"""Plain records passed between the pipeline steps (kept free of heavy imports)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Chunk:
    """A paragraph (or window of one) with its exact 1-based line span in the source file.

    `lines` holds the original text of lines start_line..end_line (blank lines excluded
    never happen inside a chunk, since a chunk is consecutive non-empty lines).
    """

    source: str  # file name, e.g. "000_c38ec739ece7500b.txt"
    start_line: int
    end_line: int
    text: str  # the lines joined with "\n", as shown to users and the LLM
    section: str = ""  # nearest heading above, e.g. "Rozmowa Biden-Putin"
    title: str = ""  # document title
    date: str = ""  # "YYYY-MM" or ""
    lang: str = ""  # ISO 639-1, e.g. "pl", "ro"

    @property
    def id(self) -> str:
        return f"{self.source}:{self.start_line}-{self.end_line}"

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def line_items(self) -> list[tuple[int, str]]:
        """(line number, line text) pairs; valid because a chunk spans consecutive lines."""
        return list(enumerate(self.lines, start=self.start_line))

    def keyword_text(self) -> str:
        """Text given to the keyword index: the section heading helps BM25 match topic words.

        The embedder gets the bare `text` (and its sentences): a heading shared by several
        paragraphs pulls their vectors together and blurs which one answers. The document title
        is left out everywhere: it is usually the article's first sentence and made all
        paragraphs of an article look alike.
        """
        return f"{self.section}\n{self.text}" if self.section else self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Passage:
    """A retrieved chunk with its fused score (higher is better) and per-retriever ranks."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    keyword_score: float | None = None
    ranks: dict[str, int] = field(default_factory=dict)  # retriever name -> 1-based rank in its list
    neighbour_of: int | None = None  # first line of the hit this paragraph was added beside (not retrieved)

    # Convenience accessors so callers need not know about Chunk.
    @property
    def source(self) -> str:
        return self.chunk.source

    @property
    def start_line(self) -> int:
        return self.chunk.start_line

    @property
    def end_line(self) -> int:
        return self.chunk.end_line

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def date(self) -> str:
        return self.chunk.date

    @property
    def lang(self) -> str:
        return self.chunk.lang

    def to_hit(self) -> dict[str, Any]:
        """The `rag search --json` contract."""
        return {
            "source": self.source,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "score": round(float(self.score), 6),
            "text": self.text,
        }


@dataclass(frozen=True)
class Citation:
    """A cited line range: `quote` is the source text exactly; `translation` its checked English
    rendering (None when the line is English or no rendering passed its checks)."""

    source: str
    start_line: int
    end_line: int
    quote: str
    translation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """A grounded answer: what `rag ask --json` prints and what the app renders."""

    question: str
    answer: str
    language: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    sentences: list[dict[str, Any]] = field(default_factory=list)  # per-sentence grounding detail

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "language": self.language,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "timings": {
                "retrieve_s": round(self.timings.get("retrieve_s", 0.0), 4),
                "first_token_s": round(self.timings.get("first_token_s", 0.0), 4),
                "total_s": round(self.timings.get("total_s", 0.0), 4),
            },
        }


class Embedder:  # structural interface; real one in rag.embeddings, fake in rag/testing.py
    """Turns text into L2-normalised float32 vectors (rows). E5 needs distinct query/passage sides."""

    model_id: str
    dim: int

    def embed_documents(self, texts: list[str]) -> Any:  # np.ndarray [n, dim]
        raise NotImplementedError

    def embed_queries(self, texts: list[str]) -> Any:  # np.ndarray [n, dim]
        raise NotImplementedError

    def fingerprint(self) -> str:
        """Identifies weights + prompts: an index built with another fingerprint must not be mixed."""
        raise NotImplementedError

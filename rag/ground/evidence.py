"""The retrieved lines with their vectors and keys, computed once per answer and reused by every step
that scores, selects, checks or quotes them."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.ground.config import GroundingConfig
from rag.ground.details import KIND_WEIGHT, Key
from rag.ground.lines import collect_lines, joint_keys, looks_like_instruction, segments
from rag.ground.vocabulary import Vocabulary
from rag.types import Embedder, Passage
from rag.vector_cache import embed_documents_cached


@dataclass(frozen=True)
class Claim:
    """A text's checkable details, each with its weight in this evidence (rarer details weigh more)."""

    keys: tuple[Key, ...]
    weights: tuple[float, ...]

    def only(self, keep: Callable[[Key], bool]) -> Claim:
        """The claim restricted to the keys `keep` accepts, weights unchanged."""
        pairs = [(k, w) for k, w in zip(self.keys, self.weights) if keep(k)]
        return Claim(tuple(k for k, _ in pairs), tuple(w for _, w in pairs))


def rarity(n: int, df: int) -> float:
    """IDF of something found in `df` of `n` lines: what sets one line apart from the rest."""
    return math.log((n + 1) / (df + 0.5))


class Evidence:
    """The retrieved lines with their vectors and keys, computed once per answer and reused."""

    def __init__(self, passages: Sequence[Passage], embedder: Embedder, config: GroundingConfig | None = None,
                 vocabulary: Vocabulary | None = None, renderings: Callable[[str], str] | None = None):
        self.config = config or GroundingConfig()
        self.vocabulary = vocabulary
        self.passages = list(passages)
        self.embedder = embedder
        self.lines = collect_lines(self.passages)
        if renderings is not None:
            self.lines = [dataclasses.replace(ln, rendering=renderings(ln.text)) for ln in self.lines]
        self.keys = [joint_keys(ln) for ln in self.lines]
        self.citable = np.array([len(ln.text.strip()) >= self.config.min_line_chars for ln in self.lines], bool)
        self.supports = self.citable & ~np.array([looks_like_instruction(ln.text) for ln in self.lines], bool)
        # A line's English rendering is one more view of it: an English claim meets English text.
        self.segments = [segments(ln.text, self.config.long_line_chars) + ([ln.rendering] if ln.rendering else [])
                         for ln in self.lines]
        self._owner = np.array([i for i, segs in enumerate(self.segments) for _ in segs], dtype=np.int64)
        self._flat = [s for segs in self.segments for s in segs]
        self._vectors = embed_documents_cached(embedder, self._flat) if self._flat else None

    def __len__(self) -> int:
        return len(self.lines)

    # -- similarity -------------------------------------------------------------------------------

    def segment_cosine(self, texts: list[str]) -> np.ndarray:
        """[len(texts), n_segments]: raw cosines of each text (query side) with every embedded segment."""
        if not texts or self._vectors is None:
            return np.zeros((len(texts), 0), dtype=np.float32)
        queries = np.asarray(self.embedder.embed_queries(texts), dtype=np.float32)
        return queries @ self._vectors.T

    def line_cosine(self, seg_cos: np.ndarray) -> np.ndarray:
        """Per-line cosine: the best of the line's segments."""
        out = np.full((seg_cos.shape[0], len(self.lines)), -1.0, dtype=np.float32)
        for j in range(len(self.lines)):
            if seg_cos.shape[1]:
                out[:, j] = seg_cos[:, self._owner == j].max(axis=1)
        return out

    def fair_cosine(self, seg_cos: np.ndarray) -> np.ndarray:
        """Per-line cosine with each source language's own-language lift taken off.

        E5 rates a Romanian question closer to any Romanian line than to the Polish line that
        answers it. A line's English rendering measures that lift: for each source language, the
        mean amount by which its lines' best cosine exceeds their rendering's is subtracted from
        them all. Lines of one language keep their order among themselves.
        """
        best = self.line_cosine(seg_cos)
        if not seg_cos.shape[1]:
            return best
        last = np.cumsum([len(segs) for segs in self.segments]) - 1  # a rendering is its line's last segment
        out = best.copy()
        for lang in {ln.lang for ln in self.lines}:
            members = [j for j, ln in enumerate(self.lines) if ln.lang == lang]
            rendered = [j for j in members if self.lines[j].rendering]
            if not rendered:
                continue
            lift = (best[:, rendered] - seg_cos[:, last[rendered]]).mean(axis=1)
            out[:, members] -= np.clip(lift, 0.0, None)[:, None]
        return out

    def cosine(self, texts: list[str]) -> np.ndarray:
        """[len(texts), len(lines)]: each text (query side) against its best segment of each line."""
        return self.line_cosine(self.segment_cosine(texts))

    def excerpt(self, j: int, seg_cos: np.ndarray, max_chars: int) -> str:
        """Line j itself, or, when longer than max_chars, its sentences that best match (in line order)."""
        text = self.lines[j].text.strip()
        if len(text) <= max_chars or seg_cos.size == 0:
            return text
        ids = [int(i) for i in np.flatnonzero(self._owner == j)][1:]  # [0] is the whole line
        if not ids:
            return text[:max_chars].rsplit(" ", 1)[0] + " …"
        keep: list[int] = []
        for i in sorted(ids, key=lambda i: -seg_cos[i]):
            if not keep or sum(len(self._flat[k]) for k in keep) + len(self._flat[i]) <= max_chars:
                keep.append(i)
        keep.sort()
        body = self._flat[keep[0]]
        for prev, i in zip(keep, keep[1:]):
            body += (" " if i == prev + 1 else " … ") + self._flat[i]
        return ("" if keep[0] == ids[0] else "… ") + body + ("" if keep[-1] == ids[-1] else " …")

    def dense(self, cos: np.ndarray, contrast: bool = True) -> np.ndarray:
        """Cosines as 0..1 evidence: partly absolute (floor..ceiling), partly relative to the other lines.

        E5-small rates any sentence naming Biden and Putin ~0.84 against any line naming them, true
        or not; a sentence that really restates one line stands out from the rest by a few hundredths.
        """
        c = self.config
        absolute = np.clip((cos - c.dense_floor) / max(c.dense_ceil - c.dense_floor, 1e-6), 0.0, 1.0)
        if not contrast or len(cos) < c.min_contrast_lines:
            return absolute
        relative = np.clip((cos - float(np.median(cos))) / c.contrast_span, 0.0, 1.0)
        return (1.0 - c.w_contrast) * absolute + c.w_contrast * relative

    # -- details ----------------------------------------------------------------------------------

    def claim(self, keys: Sequence[Key]) -> Claim:
        """The keys weighted by rarity: a date found in one line says more than "Biden" found in all."""
        n = len(self.lines)
        weights = []
        for key in keys:
            df = sum(lk.has(key) for lk in self.keys)
            weights.append(KIND_WEIGHT[key.kind] * max(0.2, rarity(n, df)))
        return Claim(tuple(keys), tuple(weights))

    def coverage(self, claim: Claim, line_ids: Iterable[int]) -> float | None:
        """Weighted share of the claim's keys found in the given lines (None when there is nothing to check)."""
        ids = list(line_ids)
        if sum(claim.weights) < self.config.min_key_weight:
            return None
        found = total = 0.0
        for key, w in zip(claim.keys, claim.weights):
            hit = any(self.keys[j].has(key) for j in ids)
            total += w
            found += w if hit else 0.0
        return found / total if total else None

    def unknown_names(self, claim: Claim) -> float:
        """Weighted share of the claim's names and entities the corpus never mentions (0 without a vocabulary)."""
        names = [(k, w) for k, w in zip(claim.keys, claim.weights) if k.kind in ("name", "entity")]
        total = sum(w for _, w in names)
        if self.vocabulary is None or not total:
            return 0.0
        return sum(w for k, w in names if not self.vocabulary.knows(k)) / total

    def source_lines(self, j: int) -> list[int]:
        """Indices of the retrieved lines from the same file as line j (its article context)."""
        return [i for i, ln in enumerate(self.lines) if ln.source == self.lines[j].source]

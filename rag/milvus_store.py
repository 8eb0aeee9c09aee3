"""The Milvus vector backend (RAG_VECTOR_BACKEND=milvus): a Milvus Lite file by default, any server by URI.

What moves to Milvus: the paragraph and sentence vectors (nearest-neighbour search with the
filters as Milvus expressions) and the keyword search (Milvus's BM25 function over the same
folded, prefix-cut tokens the local BM25 uses, so inflection is handled alike). What stays local:
the index folder built by `rag.index_build.build_store` (chunk table for citations, manifest, language
centring), which is also what the Milvus side is synchronised from, incrementally by file hash:
files whose hash changed or that disappeared are deleted from Milvus, new ones inserted.

Scoring is the local retriever's: Milvus proposes candidates (nearest raw vectors, best BM25
rows), their raw vectors are fetched back and centred and scored exactly as the FAISS backend
scores rows, so both rank alike.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunk_table import date_number
from rag.dense_index import centre
from rag.keyword import tokenize
from rag.retrieve import Retriever
from rag.store import Store, StoreError
from rag.types import Embedder

log = logging.getLogger(__name__)

BATCH = 512
_FILES_PAGE = 4096
MAX_TEXT = 60_000  # Milvus VARCHAR limit is 65,535 bytes; the token text is cut below it


def collection_names(store: Store) -> dict[str, str]:
    """Per index name and embedding model, so another model never mixes with these vectors."""
    tag = hashlib.sha256(store.manifest["embedding"]["fingerprint"].encode()).hexdigest()[:10]
    base = "".join(c if c.isalnum() else "_" for c in store.path.name)
    return {kind: f"rag_{base}_{tag}_{kind}" for kind in ("chunks", "sentences", "files")}


def filter_expression(filters: dict[str, Any] | None) -> str:
    """The retriever's filters (lang, source, date_from/date_to) as a Milvus boolean expression."""
    if not filters:
        return ""
    parts = []
    for field, key in (("lang", "lang"), ("source", "source")):
        values = filters.get(key)
        if values:
            values = [values] if isinstance(values, str) else list(values)
            parts.append(f"{field} in {json.dumps(values, ensure_ascii=False)}")
    date_from, date_to = filters.get("date_from") or "", filters.get("date_to") or ""
    if date_from or date_to:
        parts.append("date > 0")  # undated documents cannot satisfy a date filter
        if date_from:
            parts.append(f"date >= {date_number(date_from)}")
        if date_to:
            parts.append(f"date <= {date_number(date_to)}")
    return " and ".join(parts)


class MilvusVectors:
    """The Milvus side of one index: create, synchronise, search, fetch."""

    def __init__(self, uri: str, store: Store) -> None:
        from pymilvus import MilvusClient

        if not uri.startswith(("http://", "https://", "tcp://", "grpc://")):
            # Milvus Lite's in-process server lacks AllocTimestamp; pymilvus falls back to a client-side
            # timestamp, but grpc logs each such call as an ERROR with a traceback and pymilvus warns.
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            logging.getLogger("pymilvus").setLevel(logging.ERROR)
            logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)  # failures are re-raised below, clearly
        self.uri = uri
        try:
            self.client = MilvusClient(uri)
        except Exception as exc:  # pymilvus raises its own exception types for connection failures
            lite = "" if uri.startswith(("http://", "https://", "tcp://", "grpc://")) else (
                " (a Milvus Lite file serves one process at a time: close the other one, or point "
                "RAG_MILVUS_URI at a Milvus server)")
            raise StoreError(f"cannot open Milvus at {uri}: {exc}{lite}") from exc
        self.names = collection_names(store)
        self.dim = int(store.manifest["embedding"]["dim"])
        self.strategy = store.manifest["keyword"]["strategy"]
        self._ensure_collections()

    # -- schema ---------------------------------------------------------------------------------

    def _ensure_collections(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        if not c.has_collection(self.names["chunks"]):
            schema = self._base_schema(self.dim)
            schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True,
                             analyzer_params={"tokenizer": "standard"})
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                         input_field_names=["text"], output_field_names=["sparse"]))
            index = c.prepare_index_params()
            index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
            index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            c.create_collection(self.names["chunks"], schema=schema, index_params=index)
        if not c.has_collection(self.names["sentences"]):
            schema = self._base_schema(self.dim)
            schema.add_field("chunk_id", DataType.VARCHAR, max_length=1024)
            index = c.prepare_index_params()
            index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
            c.create_collection(self.names["sentences"], schema=schema, index_params=index)
        if not c.has_collection(self.names["files"]):
            schema = c.create_schema(auto_id=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
            schema.add_field("sha256", DataType.VARCHAR, max_length=64)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants one vector per collection
            index = c.prepare_index_params()
            index.add_index("vector", index_type="AUTOINDEX", metric_type="L2")
            c.create_collection(self.names["files"], schema=schema, index_params=index)
        for name in self.names.values():  # collections made by an earlier process start released
            c.load_collection(name)

    def _base_schema(self, dim: int) -> Any:
        from pymilvus import DataType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("source", DataType.VARCHAR, max_length=1024)
        schema.add_field("lang", DataType.VARCHAR, max_length=16)
        schema.add_field("date", DataType.INT64)
        return schema

    # -- synchronisation ------------------------------------------------------------------------

    def synced_files(self) -> dict[str, str]:
        """source -> sha256 of every file Milvus holds (an iterator: servers cap offset paging at 16,384)."""
        out: dict[str, str] = {}
        pages = self.client.query_iterator(self.names["files"], batch_size=_FILES_PAGE, filter='id != ""',
                                           output_fields=["id", "sha256"])
        while page := pages.next():
            out.update({row["id"]: row["sha256"] for row in page})
        pages.close()
        return out

    def sync(self, store: Store) -> tuple[int, int]:
        """Make Milvus hold exactly the store's files; returns (files deleted, files inserted)."""
        wanted: dict[str, str] = store.manifest["files"]
        have = self.synced_files()
        stale = sorted(s for s, h in have.items() if wanted.get(s) != h)
        fresh = sorted(s for s, h in wanted.items() if have.get(s) != h)
        for part in _batches(stale, 200):
            expr = f"source in {json.dumps(part, ensure_ascii=False)}"
            self.client.delete(self.names["chunks"], filter=expr)
            self.client.delete(self.names["sentences"], filter=expr)
            self.client.delete(self.names["files"], ids=part)
        if fresh:
            self._insert(store, fresh)
        return len(stale), len(fresh)

    def _insert(self, store: Store, sources: list[str]) -> None:
        table = store.chunks
        ids = [i for i, name in enumerate(table.sources) if name in set(sources)]
        rows = np.flatnonzero(np.isin(table.columns["source"], ids))
        raw, sentences = store.vectors(), store.raw_sentence_vectors()
        offsets = store.dense_vectors.offsets
        from rag.index_build import keyword_text
        from rag.render import RenderingStore

        corpus = store.manifest.get("corpus_dir")
        renderings = RenderingStore.for_corpus(Path(corpus)) if corpus else None
        for part in _batches(rows.tolist(), BATCH):
            chunks = table.many(part)
            self.client.insert(self.names["chunks"], [
                {"id": c.id, "vector": raw[r].tolist(), "source": c.source, "lang": c.lang, "date": date_number(c.date),
                 "text": " ".join(tokenize(keyword_text(c, renderings), self.strategy))[:MAX_TEXT] or "_"}
                for r, c in zip(part, chunks)])
            self.client.insert(self.names["sentences"], [
                {"id": f"{c.id}#{j}", "chunk_id": c.id, "vector": sentences[s].tolist(), "source": c.source,
                 "lang": c.lang, "date": date_number(c.date)}
                for r, c in zip(part, chunks) for j, s in enumerate(range(offsets[r], offsets[r + 1]))])
        wanted = store.manifest["files"]
        for part in _batches(sources, BATCH):
            self.client.insert(self.names["files"], [{"id": s, "sha256": wanted[s], "vector": [0.0, 0.0]} for s in part])

    def count(self, kind: str = "chunks") -> int:
        return int(self.client.get_collection_stats(self.names[kind])["row_count"])

    # -- search ---------------------------------------------------------------------------------

    def nearest(self, query: np.ndarray, k: int, expr: str) -> list[str]:
        hits = self.client.search(self.names["chunks"], data=[query.tolist()], anns_field="vector", limit=k,
                                  filter=expr, output_fields=["id"], search_params={"metric_type": "IP"})
        return [h["id"] for h in hits[0]]

    def keyword(self, question: str, k: int, expr: str) -> list[tuple[str, float]]:
        text = " ".join(tokenize(question, self.strategy))
        if not text:
            return []
        hits = self.client.search(self.names["chunks"], data=[text], anns_field="sparse", limit=k, filter=expr,
                                  output_fields=["id"], search_params={"metric_type": "BM25"})
        # Milvus Lite reports BM25 as a negated distance, servers as a score: the magnitude is the score.
        return [(h["id"], abs(float(h["distance"]))) for h in hits[0] if abs(float(h["distance"])) > 0]

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for part in _batches(list(ids), BATCH):
            for row in self.client.get(self.names["chunks"], ids=part, output_fields=["vector"]):
                out[row["id"]] = np.asarray(row["vector"], dtype=np.float32)
        return out

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[np.ndarray]]:
        out: dict[str, list[np.ndarray]] = {}
        for part in _batches(list(chunk_ids), BATCH):
            expr = f"chunk_id in {json.dumps(part, ensure_ascii=False)}"
            for row in self.client.query(self.names["sentences"], filter=expr, output_fields=["chunk_id", "vector"],
                                         limit=16_384):
                out.setdefault(row["chunk_id"], []).append(np.asarray(row["vector"], dtype=np.float32))
        return out

    def drop(self) -> None:
        for name in self.names.values():
            self.client.drop_collection(name)


class MilvusRetriever(Retriever):
    """The Retriever interface over Milvus: candidates and BM25 from Milvus, scoring as the FAISS backend."""

    def __init__(self, store: Store, embedder: Embedder, milvus: MilvusVectors, **kwargs: Any) -> None:
        super().__init__(store, embedder, **kwargs)
        self.milvus = milvus

    @classmethod
    def open(cls, store: Store, embedder: Embedder, uri: str) -> MilvusRetriever:
        """Connect, bring Milvus in line with the local index (only changed files move), and wrap it."""
        milvus = MilvusVectors(uri, store)
        deleted, inserted = milvus.sync(store)
        if deleted or inserted:
            log.info("milvus %s: %d files removed, %d files added", uri, deleted, inserted)
        return cls(store, embedder, milvus)

    def _row_ids(self, ids: Iterable[str]) -> dict[str, int]:
        out = {}
        for chunk_id in ids:
            source, _, span = chunk_id.rpartition(":")
            start, _, end = span.partition("-")
            row = self.store.chunks.row_of_span(source, int(start), int(end))
            if row is not None:
                out[chunk_id] = row
        return out

    def _keyword_for(self, question: str, filters: dict[str, Any] | None) -> np.ndarray:
        out = np.zeros(len(self.chunks), dtype=np.float32)
        hits = self.milvus.keyword(question, max(self.config.keyword_candidates, 2 * self.config.dense_candidates),
                                   filter_expression(filters))
        rows = self._row_ids(i for i, _ in hits)
        for chunk_id, score in hits:
            if chunk_id in rows:
                out[rows[chunk_id]] = score
        return out

    def candidates(self, query: np.ndarray | None, keyword: np.ndarray | None, mask: np.ndarray,
                   filters: dict[str, Any] | None = None) -> np.ndarray:
        parts = [np.flatnonzero(keyword > 0)] if keyword is not None else []
        if query is not None:
            ids = self.milvus.nearest(query, self.config.dense_candidates, filter_expression(filters))
            parts.append(np.fromiter(self._row_ids(ids).values(), dtype=np.int64))
        rows = np.unique(np.concatenate(parts).astype(np.int64)) if parts else np.zeros(0, np.int64)
        around = self._adjacent[rows].ravel()
        return np.unique(np.concatenate([rows, around[around >= 0]]))

    def _dense_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        chunks = self.store.chunks.many(rows.tolist())
        ids = [c.id for c in chunks]
        vectors, sentences = self.milvus.chunk_vectors(ids), self.milvus.sentence_vectors(ids)
        dv = self.store.dense_vectors
        langs = dv.lang_ids[rows]
        paragraph = np.full(len(rows), -1.0, dtype=np.float32)
        have = [i for i, chunk_id in enumerate(ids) if chunk_id in vectors]
        if have:
            stacked = np.stack([vectors[ids[i]] for i in have])
            paragraph[have] = centre(stacked, langs[have], dv.chunk_shifts) @ query
        best = np.full(len(rows), -np.inf, dtype=np.float32)
        for i, chunk_id in enumerate(ids):
            if sentences.get(chunk_id):
                own = np.stack(sentences[chunk_id])
                best[i] = float((centre(own, np.full(len(own), langs[i]), dv.sentence_shifts) @ query).max())
        has = best > -np.inf
        share = self.config.sentence_share
        paragraph[has] = (1 - share) * paragraph[has] + share * best[has]
        return paragraph


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]

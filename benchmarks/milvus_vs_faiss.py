"""Retrieval quality of the Milvus backend against the FAISS backend on the evaluation questions.

    python benchmarks/milvus_vs_faiss.py [--store DIR] [--split all] [--mode hybrid]

Both backends search the same index of the seeds built with the real embedder (the FAISS files,
and a Milvus Lite file beside them, or RAG_MILVUS_URI); hit@5 etc. are computed by
`evals.runner.evaluate_retrieval`, as `rag eval --retrieval-only` does. Prints both and the
difference; exits 1 when hit@5 differs by more than 0.02.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

BACKEND_VARIABLE = "RAG_VECTOR_BACKEND"  # set for each backend run below

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOLERANCE = 0.02


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="index folder (default: a temp folder, built from seeds/)")
    parser.add_argument("--split", default="all")
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args(argv)

    from evals.dataset import load_qa
    from evals.runner import evaluate_retrieval
    from rag.embeddings import load_embedder
    from rag.milvus_store import MilvusRetriever
    from rag.retrievers import load_retriever

    store = args.store or Path(tempfile.mkdtemp(prefix="milvus-vs-faiss-")) / "seeds"
    items = load_qa(split=args.split)
    embedder = load_embedder()
    os.environ[BACKEND_VARIABLE] = "faiss"
    faiss_side = load_retriever(store, corpus_dir=ROOT / "seeds", embedder=embedder, progress=False)
    os.environ[BACKEND_VARIABLE] = "milvus"
    milvus_side = load_retriever(store, corpus_dir=ROOT / "seeds", embedder=embedder, progress=False)
    assert isinstance(milvus_side, MilvusRetriever)
    results = {name: evaluate_retrieval(r, items, args.mode, args.k, progress=False)["summary"]
               for name, r in (("faiss", faiss_side), ("milvus", milvus_side))}
    metrics = ("hit@1", "hit@5", "mrr@10", "ndcg@10")
    print(f"{'backend':8s} " + " ".join(f"{m:>8s}" for m in metrics) + "  hit@5 en/pl/ro")
    for name, summary in results.items():
        langs = "/".join(f"{summary[lang]['hit@5']:.3f}" for lang in ("en", "pl", "ro") if lang in summary)
        print(f"{name:8s} " + " ".join(f"{summary['all'][m]:8.3f}" for m in metrics) + f"  {langs}")
    diff = results["milvus"]["all"]["hit@5"] - results["faiss"]["all"]["hit@5"]
    print(json.dumps({"faiss_hit@5": results["faiss"]["all"]["hit@5"], "milvus_hit@5": results["milvus"]["all"]["hit@5"],
                      "difference": round(diff, 4), "questions": results["faiss"]["all"]["n"],
                      "milvus_uri": milvus_side.milvus.uri}))
    return 0 if abs(diff) <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())

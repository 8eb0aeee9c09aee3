"""One-time preparation for `make run` / `make test`: convert the embedder, assemble the LLM, render and index seeds.

Each step is cached and cheap when already done, so it is safe to run before every start.
"""

from __future__ import annotations

import argparse
import sys
import time

from rag import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.prepare", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="default", help="comma list of LLMs to assemble: default,small (or none)")
    args = parser.parse_args(argv)
    settings.set_offline()

    started = time.perf_counter()
    from rag.e5_convert import ensure_e5_model

    print(f"prepare: embedding model ready at {ensure_e5_model()}", file=sys.stderr)
    from rag.llm import resolve_model_path

    for name in filter(None, (m.strip() for m in args.models.split(","))):
        if name != "none":
            print(f"prepare: LLM '{name}' ready at {resolve_model_path(name)}", file=sys.stderr)
            _cache_prompt_prefix(name)
    _render(names=args.models)
    from rag.retrievers import load_retriever

    retriever = load_retriever()
    print(f"prepare: index {retriever.store.path} holds {len(retriever.chunks)} chunks "
          f"({time.perf_counter() - started:.1f}s)", file=sys.stderr)
    return 0


def _render(names: str) -> None:
    """Checked English renderings of the corpus's lines: shipped for seeds/, so this only checks them
    (a changed or added file is rendered with the LLM, ~10 s per line on two cores)."""
    from rag.render import render_corpus

    model = next((m.strip() for m in names.split(",") if m.strip() and m.strip() != "none"), None)
    if model is None or not settings.current().render:
        return
    report = render_corpus(settings.corpus_dir(), model=model)
    print(f"prepare: renderings: {report.summary()}", file=sys.stderr)


def _cache_prompt_prefix(name: str) -> None:
    """Read the answer prompt's fixed prefix once and save it, so the first answer starts sooner."""
    from rag.generate import warm_prefix
    from rag.llm import load_chat_model

    t0 = time.perf_counter()
    warm_prefix(load_chat_model(name))
    print(f"prepare: prompt prefix of '{name}' cached ({time.perf_counter() - t0:.1f}s)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

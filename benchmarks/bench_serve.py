"""Load on `rag serve`: N concurrent clients sending a mix of search, embeddings and chat requests.

Each client is a thread with its own HTTP connection. It sends requests back to back, in a fixed
weighted rotation of kinds (shifted per client, so every level sees the same mix), until it has
sent `--requests` or `--duration` seconds have passed. Per kind: requests, p50/p95 latency of the
successful ones, rejected (429: the generation queue was full) and failed (any other error);
overall: successful requests per second of wall time. Loopback only: this measures the server,
it must never load someone else's.

    python benchmarks/bench_serve.py --serve fake --clients 1,4,16            # starts its own server
    python benchmarks/bench_serve.py --url http://127.0.0.1:8000 --clients 4 --json
    python benchmarks/bench_serve.py --serve default --clients 1,4 --requests 6 --duration 120

Run it with `nice -n 19` on a shared machine; the chat model takes both cores while it answers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.stats import percentile_or_nan  # noqa: E402
from rag import settings  # noqa: E402
from rag.serve.auth import is_loopback  # noqa: E402

KINDS = ("search", "embeddings", "extractive", "chat")
DEFAULT_MIX = "search=4,embeddings=4,extractive=2,chat=1"
QUESTIONS = (
    "What did Biden offer Putin on 30 December?",
    "Co zaproponował Biden Putinowi 30 grudnia?",
    "Ce garanții de securitate a cerut Rusia?",
    "How long did the Biden-Putin phone call last?",
    "Kiedy odbędą się rozmowy w Genewie?",
    "What did Lavrov say about NATO?",
)


@dataclass
class Sample:
    kind: str
    seconds: float
    status: int  # HTTP status, or 0 when the request itself failed (connection, timeout)


@dataclass
class Level:
    clients: int
    wall_s: float
    samples: list[Sample] = field(default_factory=list)


def parse_mix(text: str) -> list[str]:
    """"search=4,chat=1" -> the rotation ["search"] * 4 + ["chat"], interleaved."""
    weights: dict[str, int] = {}
    for part in text.split(","):
        kind, _, n = part.partition("=")
        kind = kind.strip()
        if kind not in KINDS:
            raise SystemExit(f"unknown request kind {kind!r}; choose from {', '.join(KINDS)}")
        weights[kind] = int(n or 1)
    rotation: list[str] = []
    for i in range(max(weights.values())):
        rotation += [k for k, w in weights.items() if i < w]
    return rotation


def request_for(kind: str, n: int, chat_model: str) -> tuple[str, dict[str, Any]]:
    question = QUESTIONS[n % len(QUESTIONS)]
    if kind == "search":
        return "/v1/search", {"query": question, "k": 5}
    if kind == "embeddings":
        return "/v1/embeddings", {"model": "e5", "input": [question], "encoding_format": "float"}
    model = "extractive" if kind == "extractive" else chat_model
    return "/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": question}]}


def client_loop(url: str, index: int, rotation: list[str], requests: int, deadline: float, chat_model: str,
                headers: dict[str, str], out: list[Sample], lock: threading.Lock) -> None:
    # The deadline stops new requests; one in flight (a model answer waiting its turn) may finish.
    with httpx.Client(base_url=url, headers=headers, timeout=max(1.0, deadline - time.monotonic()) + 120) as http:
        for n in range(requests):
            if time.monotonic() >= deadline:
                return
            kind = rotation[(index + n) % len(rotation)]
            path, body = request_for(kind, index + n, chat_model)
            t0 = time.perf_counter()
            try:
                status = http.post(path, json=body).status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                out.append(Sample(kind, time.perf_counter() - t0, status))


def warm_up(url: str, rotation: list[str], chat_model: str, api_key: str | None) -> None:
    """One request of each kind first, not counted: the first answer builds the grounding caches."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
        for kind in dict.fromkeys(rotation):
            path, body = request_for(kind, 0, chat_model)
            http.post(path, json=body)


def run_level(url: str, clients: int, requests: int, duration: float, rotation: list[str], chat_model: str = "default",
              api_key: str | None = None) -> Level:
    """`clients` threads at once; each stops after `requests` requests or `duration` seconds."""
    samples: list[Sample] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=client_loop, args=(url, i, rotation, requests, deadline, chat_model, headers,
                                                          samples, lock), daemon=True) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Level(clients, time.perf_counter() - t0, samples)


def summarise(level: Level) -> dict[str, Any]:
    per_kind = {}
    for kind in KINDS:
        mine = [s for s in level.samples if s.kind == kind]
        if not mine:
            continue
        ok = [s.seconds for s in mine if s.status == 200]
        per_kind[kind] = {"requests": len(mine), "ok": len(ok), "p50_s": round(percentile_or_nan(ok, 50), 4),
                          "p95_s": round(percentile_or_nan(ok, 95), 4),
                          "rejected": sum(1 for s in mine if s.status == 429),
                          "failed": sum(1 for s in mine if s.status not in (200, 429)),
                          "failures": dict(Counter(str(s.status) for s in mine if s.status not in (200, 429)))}
    ok_total = sum(k["ok"] for k in per_kind.values())
    return {"clients": level.clients, "wall_s": round(level.wall_s, 2),
            "throughput_rps": round(ok_total / level.wall_s, 2) if level.wall_s else 0.0,
            "rejected": sum(k["rejected"] for k in per_kind.values()),
            "failed": sum(k["failed"] for k in per_kind.values()), "endpoints": per_kind}


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def markdown(results: list[dict[str, Any]]) -> str:
    """One row per client count and endpoint; throughput (successful requests/s) on each level's first row."""
    rows = ["| N | endpoint | requests | p50 | p95 | rejected (429) | failed | throughput |",
            "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for i, (kind, k) in enumerate(r["endpoints"].items()):
            throughput = f"{r['throughput_rps']} req/s" if i == 0 else ""
            rows.append(f"| {r['clients']} | {kind} | {k['requests']} | {_duration(k['p50_s'])} | "
                        f"{_duration(k['p95_s'])} | {k['rejected']} | {k['failed']} | {throughput} |")
    return "\n".join(rows)


# --------------------------------------------------------------------------- a server of our own


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("status") == "ready":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready after {timeout:.0f} s")


@contextmanager
def own_server(kind: str, queue_size: int, store: Path | None) -> Iterator[str]:
    """`rag serve` in a subprocess on a free loopback port; fake models, or a real chat model."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    env = dict(os.environ)
    env["RAG_CORPUS"] = str(ROOT / "seeds")
    if kind == "fake":
        env.update(RAG_APP_FAKE="1", RAG_STORE=str(tmp / "store"))
    elif store:  # a copy, so a rebuild can never touch the original
        shutil.copytree(store, tmp / "store")
        env["RAG_STORE"] = str(tmp / "store")
    model = "default" if kind == "fake" else kind
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--model", model,
           "--queue-size", str(queue_size)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, timeout=600)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server on this machine, e.g. http://127.0.0.1:8000")
    where.add_argument("--serve", choices=["fake", "default", "small"],
                       help="start `rag serve` for the run: fake models, or the real default/small chat model")
    p.add_argument("--clients", default="1,4,16", help="comma-separated client counts, one run each (default 1,4,16)")
    p.add_argument("--requests", type=int, default=20, help="requests per client, at most (default 20)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds per run, at most (default 60)")
    p.add_argument("--mix", default=DEFAULT_MIX, help=f"kind=weight list (default {DEFAULT_MIX})")
    p.add_argument("--chat-model", default="default", help="model id of the 'chat' requests (default: default)")
    p.add_argument("--queue-size", type=int, default=4, help="--queue-size of a server started with --serve")
    p.add_argument("--store", type=Path, default=None, help="with --serve default/small: an index to copy and use")
    p.add_argument("--api-key", default=settings.current().api_key, help="Bearer key (default $RAG_API_KEY)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = p.parse_args(argv)
    counts = [int(c) for c in args.clients.split(",")]
    if max(counts) > 64 or args.requests > 1000 or args.duration > 900:
        raise SystemExit("bounded on purpose: at most 64 clients, 1000 requests each, 900 s a run")
    rotation = parse_mix(args.mix)

    def run(url: str) -> list[dict[str, Any]]:
        host = urlparse(url).hostname or ""
        if not is_loopback(host):
            raise SystemExit(f"refusing to load {host}: this benchmark only targets a server on this machine")
        warm_up(url, rotation, args.chat_model, args.api_key)
        return [summarise(run_level(url, n, args.requests, args.duration, rotation, args.chat_model, args.api_key))
                for n in counts]

    if args.url:
        results = run(args.url.rstrip("/"))
    else:
        with own_server(args.serve, args.queue_size, args.store) as url:
            results = run(url)
    meta = {"mix": args.mix, "requests_per_client": args.requests, "duration_s": args.duration,
            "server": args.serve or args.url, "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps({"meta": meta, "levels": results}, ensure_ascii=False))
    else:
        print(markdown(results))
        print(f"\n{meta}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The web tier under load: 50 concurrent searchers against 1 and against N web processes, in
one run, and the rate limit counted exactly across N processes.

Builds the synthetic archive of ``bench.search`` (SQLite + a real Meilisearch, temp folders),
then for 1 and for N web processes (``ashyq web --workers``; N defaults to the cores here) runs
``--clients`` searchers for ``--seconds`` each, every one asking the HTML search (``/search``)
again as soon as it has its answer; errors are any answer but 200 and any failed connection.
Then the limit: a server of N processes limited to ``--limit`` requests a minute per client gets
``--limit`` + 100 requests from one address, 50 at a time; exactly ``--limit`` may pass.

    .venv/bin/python -m bench.web_tier
    .venv/bin/python -m bench.web_tier --seconds 60 --output bench/results/web_tier.md

The load generator runs on the same machine (one asyncio thread): on a machine of few cores it
takes a share of them from the servers, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from archive import migrate
from archive.db import session_scope
from archive.settings import Settings, env_for_children
from bench import meilisearch_server, publish, stop
from bench.search import build, corpus_options, make_queries, params_of, percentiles
from cli.services import free_port, wait_http, web_argv
from search.meili.client import master_client
from search.meili.indexer import rebuild


async def _load(base: str, queries: list[dict], clients: int, seconds: float) -> dict:
    """``clients`` searchers for ``seconds``: latencies (ms) of the answers, errors by kind."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def searcher(n: int) -> None:
            turn = n
            while time.perf_counter() < deadline:
                params = queries[turn % len(queries)]
                turn += clients
                began = time.perf_counter()
                try:
                    answer = await http.get("/search", params=params)
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                    errors[kind] = errors.get(kind, 0) + 1
                    continue
                if answer.status_code == 200:
                    latencies.append((time.perf_counter() - began) * 1000)
                else:
                    errors[str(answer.status_code)] = errors.get(str(answer.status_code), 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(searcher(n) for n in range(clients)))
        spent = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "seconds": spent}


async def _limit(base: str, requests: int) -> list[int]:
    """``requests`` API requests from this one address, 50 at a time: their statuses."""
    gate = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def one() -> int:
            async with gate:
                return (await http.get("/api/v1/bodies")).status_code

        return list(await asyncio.gather(*(one() for _ in range(requests))))


def _serve(settings: Settings, workers: int, **update: object) -> tuple[subprocess.Popen, str]:
    served = settings.model_copy(update={"port": free_port(), "web_workers": workers, **update})
    proc = subprocess.Popen(
        web_argv(served),
        env=env_for_children(served),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{served.port}"
    wait_http(f"{base}/healthz", 60, proc)
    return proc, base


def _measure(settings: Settings, args: argparse.Namespace, queries: list[dict]) -> list[dict]:
    runs = []
    for workers in (1, args.workers):
        proc, base = _serve(settings, workers)
        try:
            for params in queries[:40]:  # every process warm: connections, templates, caches
                httpx.get(f"{base}/search", params=params, timeout=60)
            run = asyncio.run(_load(base, queries, args.clients, args.seconds))
        finally:
            stop(proc)
        runs.append({"workers": workers, **run})
    return runs


def _report(args: argparse.Namespace, runs: list[dict], statuses: list[int], size: str) -> str:
    lines = [
        f"Web tier: {args.clients} concurrent searchers of the HTML search for {args.seconds:.0f} s"
        f" each, {size}; {os.cpu_count()} cores, load generator on the same machine.",
        "",
        "| web processes | searches | searches/s | p50 / p95 / p99 ms | errors |",
        "|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        done = run["latencies"]
        p = percentiles(done) if done else (0.0, 0.0, 0.0)
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(run["errors"].items())) or "0"
        lines.append(
            f"| {run['workers']} | {len(done)} | {len(done) / run['seconds']:.1f} "
            f"| {' / '.join(f'{v:.0f}' for v in p)} | {errors} |"
        )
    passed, refused = statuses.count(200), statuses.count(429)
    others = len(statuses) - passed - refused
    lines += [
        "",
        f"Rate limit across {args.workers} processes (embedded store): {len(statuses)} requests,"
        f" limit {args.limit} a minute: {passed} passed, {refused} refused (429), {others} other"
        f" — {'exact' if passed == args.limit and others == 0 else 'NOT exact'}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus_options(parser)
    parser.set_defaults(segments=20_000, recordings=400)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with meilisearch_server(root / "meili") as (url, key):
            settings = Settings(
                data_dir=root / "data",
                meili_url=url,
                meili_master_key=key,
                meili_index="segments",
                rate_limit_per_minute=10**9,  # the load is measured, not the public limit
            )
            settings.data_dir.mkdir(parents=True)
            migrate.upgrade(settings.db_url)
            corpus = build(settings, args.segments, args.recordings, rng)
            with session_scope(settings.db_url) as session:
                indexed = rebuild(master_client(settings), settings.meili_index, session)
            classes = make_queries(corpus, rng, 400, 50, 50)
            queries = [params_of(q, f) for chosen in classes.values() for q, f in chosen]
            rng.shuffle(queries)
            runs = _measure(settings, args, queries)
            proc, base = _serve(settings, args.workers, rate_limit_per_minute=args.limit)
            try:
                statuses = asyncio.run(_limit(base, args.limit + 100))
            finally:
                stop(proc)
    size = f"{indexed:,} segments over {args.recordings:,} recordings"
    publish(_report(args, runs, statuses, size), args.output)


if __name__ == "__main__":
    main()

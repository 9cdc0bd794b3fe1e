"""Rebuilding the search index from the database: batches queued one at a time vs several.

``ashyq reindex`` (search.meili.indexer.rebuild) sends documents in batches of 1,000. This builds
one
synthetic archive (bench/search.py's generator) and rebuilds its index, alternating how many
addition tasks are kept queued in Meilisearch (1 = wait for each before sending the next).

    .venv/bin/python -m bench.reindex                     # 100,000 segments, 1 vs 8, 2 runs each
    .venv/bin/python -m bench.reindex --segments 20000 --in-flight 1,4,8 --runs 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from archive import migrate
from archive.db import session_scope
from archive.settings import Settings
from bench import meilisearch_server, publish
from bench.search import build, corpus_options
from search.meili import indexer
from search.meili.client import master_client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus_options(parser)
    parser.add_argument("--in-flight", default="1,8", help="comma-separated values to compare")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    values = [int(v) for v in args.in_flight.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with meilisearch_server(root / "meili") as (url, key):
            settings = Settings(
                data_dir=root / "data", meili_url=url, meili_master_key=key, meili_index="segments"
            )
            settings.data_dir.mkdir(parents=True)
            migrate.upgrade(settings.db_url)
            build(settings, args.segments, args.recordings, random.Random(7))
            client = master_client(settings)
            times: dict[int, list[float]] = {v: [] for v in values}
            for run in range(args.runs):
                for value in values if run % 2 == 0 else reversed(values):
                    indexer.IN_FLIGHT = value
                    started = time.perf_counter()
                    with session_scope(settings.db_url) as session:
                        count = indexer.rebuild(client, settings.meili_index, session)
                    times[value].append(time.perf_counter() - started)
                    stats = client.index(settings.meili_index).get_stats()
                    assert count == stats.number_of_documents, (count, stats)
    base = statistics.median(times[values[0]])
    lines = [
        f"Rebuild of {count:,} segments over {args.recordings:,} recordings, "
        f"{args.runs} runs each, alternated.",
        "",
        "| tasks queued | runs (s) | median (s) | speed-up |",
        "|---:|---|---:|---:|",
    ]
    for value in values:
        median = statistics.median(times[value])
        runs = ", ".join(f"{t:.0f}" for t in times[value])
        lines.append(f"| {value} | {runs} | {median:.0f} | {base / median:.2f}× |")
    report = "\n".join(lines) + "\n"
    publish(report, args.output)


if __name__ == "__main__":
    main()

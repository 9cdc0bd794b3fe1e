"""Precision and recall of Kazakh/Russian search, with and without folding and stemming.

Runs on a real Meilisearch (the npm binary, temp database) over the labelled pairs in
``bench/data/kk_ru_queries.tsv``, three ways side by side in one run:

    original         the query as typed, on the original text (Meilisearch prefix + typo only)
    +folded          plus the script-folded query on the folded text
    +folded+stem     plus the stemmed query on the stemmed text, Kazakh table only, and Kazakh
                     and Russian tables (what Ashyq ships)

    .venv/bin/python -m bench.stemming [--output BENCHMARKS-stemming.md]

Precision and recall are micro-averaged over all queries (every hit up to 100 counts).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import uuid
from pathlib import Path

import meilisearch

from cli.services import NPM_BINARY, free_port, meilisearch_argv, wait_http
from search.meili.client import wait
from search.meili.documents import text_forms
from search.meili.query import Filters, build_queries
from search.meili.schema import ensure_index
from search.text.folding import fold

DATA = Path(__file__).with_name("data") / "kk_ru_queries.tsv"
KK, KK_RU = ("kk",), ("kk", "ru")
CONFIGS = {  # name: (stemmed languages, forms)
    "original": (KK, ("original",)),
    "+folded": (KK, ("original", "folded")),
    "+folded+stem, Kazakh table (shipped)": (KK, ("original", "folded", "stem")),
    "+folded+stem, Kazakh and Russian tables": (KK_RU, ("original", "folded", "stem")),
}


def load(path: Path) -> tuple[list[dict], list[tuple[str, set[str]]]]:
    docs, queries = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        first, second, third = line.split("\t")
        if first == "?":
            queries.append((second, set(third.split(","))))
        else:
            docs.append(
                {
                    "id": first,
                    "recording_id": 1,
                    "idx": len(docs),
                    "start": 0.0,
                    "end": 1.0,
                    "text": third,
                    "text_folded": fold(third),
                    "text_stem": "",
                    "language": second,
                    "title": "",
                    "body": "bench",
                    "date_ts": 0,
                    "published": True,
                    "gen": 1,
                }
            )
    return docs, queries


def measure(client: meilisearch.Client, uid: str, queries, forms, stemmed) -> tuple:
    true_pos = retrieved = relevant = 0
    misses = []
    for query, wanted in queries:
        result = client.multi_search(
            build_queries(uid, query, Filters().clauses(), forms, stemmed),
            federation={"limit": 100},
        )
        got = {hit["id"] for hit in result["hits"]}
        true_pos += len(got & wanted)
        retrieved += len(got)
        relevant += len(wanted)
        if got != wanted:
            misses.append((query, sorted(wanted - got), sorted(got - wanted)))
    return true_pos / max(retrieved, 1), true_pos / max(relevant, 1), misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the Markdown table here too")
    args = parser.parse_args()
    docs, queries = load(DATA)
    with tempfile.TemporaryDirectory() as folder:
        port, key = free_port(), uuid.uuid4().hex
        argv = meilisearch_argv(str(NPM_BINARY), port, key, Path(folder))
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/health", 30, server)
            client = meilisearch.Client(f"http://127.0.0.1:{port}", key)
            for stemmed in (KK, KK_RU):
                uid = "bench_" + "_".join(stemmed)
                ensure_index(client, uid)
                stems = [{**d, **text_forms(d["text"], d["language"], stemmed)} for d in docs]
                wait(client, client.index(uid).add_documents(stems))
            lines = [
                f"Kazakh/Russian search, {len(queries)} labelled queries over {len(docs)} segments"
                f" ({DATA.name}); micro-averaged.",
                "",
                "| configuration | precision | recall | F1 |",
                "|---|---:|---:|---:|",
            ]
            details = []
            for name, (stemmed, forms) in CONFIGS.items():
                uid = "bench_" + "_".join(stemmed)
                precision, recall, misses = measure(client, uid, queries, forms, stemmed)
                f1 = 2 * precision * recall / max(precision + recall, 1e-9)
                lines.append(f"| {name} | {precision:.3f} | {recall:.3f} | {f1:.3f} |")
                details.append((name, misses))
        finally:
            server.terminate()
            server.wait(10)
    report = "\n".join(lines) + "\n"
    for name, misses in details:
        report += f"\n{name}: differences (query, missed, extra)\n"
        report += "".join(f"- {q}: missed {m} extra {x}\n" for q, m, x in misses)
    print(report)
    if args.output:
        args.output.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()

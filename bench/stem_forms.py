"""Does keeping the stemmed form only where it differs lose hits? Old and new shapes side by side.

Document version 3 stored ``text_stem`` for every segment and searched the stemmed query on it
alone; version 4 (search.meili.documents.text_forms) stores it only where stemming changed a word
and
searches the stemmed query on ``text_stem`` and ``text_folded``. Both indexes are built from the
same synthetic archive as bench/search.py (real Meilisearch from npm, temp folders), and the same
queries (1–3 words, phrases, filtered, and Kazakh inflected forms not in last place, where prefix
search cannot help) are run on each; the table counts hits lost and gained by the new shape.
``bench.stemming`` measures precision and recall on labelled pairs, where its data file exists.

    .venv/bin/python -m bench.stem_forms [--segments 20000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import meilisearch
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive import migrate
from archive.db import session_scope
from archive.models import Recording
from archive.settings import Settings
from bench import meilisearch_server
from bench.search import build, make_queries
from search.meili.client import add_documents, wait
from search.meili.documents import segment_document
from search.meili.query import Filters, build_queries
from search.meili.schema import ensure_index
from search.text.stemming import stem_text

INFLECTIONS = ("тың", "ға", "да", "дан", "лар", "ның", "ы")


def documents(settings: Settings) -> tuple[list[dict], list[dict]]:
    """(version 3 documents, version 4 documents) of every segment in the database."""
    old, new = [], []
    with session_scope(settings.db_url) as session:
        query = select(Recording).options(selectinload(Recording.segments))
        for recording in session.scalars(query):
            for segment in recording.segments:
                doc = segment_document(recording, segment, 1)
                new.append(doc)
                old.append({**doc, "text_stem": stem_text(segment.text, segment.language)})
    return old, new


def version_3(queries: list[dict]) -> list[dict]:
    """The same queries as version 3 sent them: the stemmed query on ``text_stem`` alone."""
    return [
        {**q, "attributesToSearchOn": ["text_stem"]}
        if q.get("attributesToSearchOn") == ["text_stem", "text_folded"]
        else q
        for q in queries
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = Settings(
            data_dir=root / "data", meili_url="http://127.0.0.1:1", meili_master_key="x" * 16
        )
        settings.data_dir.mkdir(parents=True)
        migrate.upgrade(settings.db_url)
        corpus = build(settings, args.segments, max(1, args.segments // 50), rng)
        old, new = documents(settings)
        classes = make_queries(corpus, rng, 600, 150, 150)
        kk = corpus["words"]["kk"][:2000]
        classes["Kazakh inflected, not last"] = [
            (f"{rng.choice(kk)}{rng.choice(INFLECTIONS)} {rng.choice(kk)}", Filters())
            for _ in range(300)
        ]
        with meilisearch_server(root / "meili") as (url, key):
            client = meilisearch.Client(url, key)
            for uid, docs in (("v3", old), ("v4", new)):
                ensure_index(client, uid)
                for start in range(0, len(docs), 2000):
                    wait(client, add_documents(client.index(uid), docs[start : start + 2000]))
            lines = [
                f"Hits of version 3 and 4 documents, {len(new):,} synthetic segments "
                f"(seed {args.seed}); every hit up to 5,000 per query.",
                "",
                "| queries | n | same hits | hits v3 | hits v4 | lost | gained |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for name, queries in classes.items():
                same = lost = gained = total_old = total_new = 0
                for query, filters in queries:
                    found = {}
                    for uid in ("v3", "v4"):
                        sent = build_queries(uid, query, filters.clauses())
                        sent = version_3(sent) if uid == "v3" else sent
                        hits = client.multi_search(sent, federation={"limit": 5000})["hits"]
                        found[uid] = {hit["id"] for hit in hits}
                    same += found["v3"] == found["v4"]
                    lost += len(found["v3"] - found["v4"])
                    gained += len(found["v4"] - found["v3"])
                    total_old += len(found["v3"])
                    total_new += len(found["v4"])
                lines.append(
                    f"| {name} | {len(queries)} | {same} | {total_old:,} | {total_new:,} "
                    f"| {lost} | {gained} |"
                )
    print("\n".join(lines))


if __name__ == "__main__":
    main()

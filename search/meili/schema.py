"""The segment index, declared in code and applied idempotently at startup.

Meilisearch takes a settings update that changes nothing as a cheap no-op task, so ``ensure_index``
simply creates the index when missing and puts these settings every time.
"""

from __future__ import annotations

from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchApiError

from search.meili.client import wait

PRIMARY_KEY = "id"

# What a search document holds (search.meili.documents). Raise it when documents change: the next
# `ashyq up` / `ashyq worker` rebuilds the index from the database and swaps it in.
#   1: text, timings, recording fields      2: + text_folded, text_stem, word_offsets
#   3: facets year/event_type/speaker; out: title (it made every segment of a recording match
#      its title's words), word_offsets, body_name, date, duration (pages read the database)
#   4: sent as UTF-8 (search.meili.client.add_documents); text_stem "" where it equals text_folded
#   5: text_stem by the segment's language (Kazakh stems that keep 4 letters or a known short
#      root; Russian pymorphy3 lemmas; English Snowball stems); 2017/2018 Latin letters folded;
#      an apostrophe joins a word (search.text)
#   6: я/ю keep their glide after a consonant in text_folded (бюджет "biudjet", not "budjet", one
#      typo from будет "budet")
DOCUMENT_VERSION = 6
META_INDEX = "ashyq_meta"  # one document per segment index: {"id": uid, "document_version": N}

INDEX_SETTINGS: dict[str, Any] = {
    # The original words first; then the script-folded and the stemmed forms (search.text.folding,
    # search.text.stemming), each searched by its own query of a federated search
    # (search.meili.query).
    "searchableAttributes": ["text", "text_folded", "text_stem"],
    "displayedAttributes": ["*"],
    "filterableAttributes": [
        "id",
        "recording_id",
        "body",
        "language",
        "year",
        "event_type",
        "speaker",
        "date_ts",
        "published",
        "gen",
    ],
    # Date order is decided in Python over the window's hits (search.meili.query); no query sorts in
    # Meilisearch, and a sortable "start" cost a numeric facet entry per segment.
    "sortableAttributes": ["date_ts"],
    # recording_id is a facet too: its distribution names every matching recording
    # (search.meili.query).
    "faceting": {"maxValuesPerFacet": 10000, "sortFacetValuesBy": {"*": "count"}},
    "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
    # Whole words only, a typo from 6 letters, two from 10: the stems (text_stem) and the folded
    # spellings now join a word's forms, and prefix and typo matching on top of them found
    # unrelated words — "жол" found "жолданды", "әкімдік" "ауылдық", "баға" "бағдарлама", and
    # with a typo at 5 letters "қаржы" still found "қарсы". Measured (bench/stemming.py,
    # BENCHMARKS.md): F1 0.866 with prefix and typos from 4/7, 0.974 without prefix and typos
    # from 5/9, 0.977 from 6/10.
    "typoTolerance": {"minWordSizeForTypos": {"oneTypo": 6, "twoTypos": 8}},
    "prefixSearch": "disabled",
    "pagination": {"maxTotalHits": 5000},
    # Index size (bench/search.py): proximity is ranked within an attribute only (phrases still
    # match exactly), and values of facets are never searched, so neither database is built.
    "proximityPrecision": "byAttribute",
    "facetSearch": False,
}


def ensure_index(client: meilisearch.Client, uid: str) -> None:
    try:
        client.get_index(uid)
    except MeilisearchApiError as exc:
        if getattr(exc, "code", None) != "index_not_found":
            raise
        wait(client, client.create_index(uid, {"primaryKey": PRIMARY_KEY}))
    wait(client, client.index(uid).update_settings(INDEX_SETTINGS))


def stored_version(client: meilisearch.Client, uid: str) -> int | None:
    try:
        return client.index(META_INDEX).get_document(uid).document_version
    except MeilisearchApiError as exc:
        if exc.code in ("index_not_found", "document_not_found"):
            return None
        raise


def mark_version(client: meilisearch.Client, uid: str) -> None:
    document = {"id": uid, "document_version": DOCUMENT_VERSION}
    wait(client, client.index(META_INDEX).add_documents([document], primary_key="id"))

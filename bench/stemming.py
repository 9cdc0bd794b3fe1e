"""Precision and recall of Kazakh/Russian search: folding, and each way of reducing words.

Runs on a real Meilisearch (the npm binary, temp database) over the labelled pairs in
``bench/data/kk_ru_queries.tsv``; every configuration side by side in one run:

    original            the query as typed, on the original text
    +folded             plus the script-folded query on the folded text
    +stem ...           plus the query reduced each way (search.text.stemming) on the reduced
                        text: Kazakh suffix table with 3, 4 or 5 letters left, with or without
                        the short roots, the б/г alternation and the rules; Russian not reduced,
                        the old folded table, Snowball (PyStemmer) or pymorphy3 lemmas; the stem
                        matched as the index allows, with typos off on text_stem, or as whole
                        words (a one-word phrase)
    ...; SETTINGS       the same with other index typo and prefix settings (``SETTINGS``); rows
                        without one use the settings before issue #19 (typos 4/7, prefix search),
                        "shipped" those of search.meili.schema

    .venv/bin/python -m bench.stemming [--output FILE]

Precision and recall are micro-averaged over (query, segment) pairs, every hit up to 100. Per
language they count the segments of that language (a query for "бюджет" is scored on Kazakh and
Russian segments apart); the subsets are the tagged queries (?collision, ?latin, ?ru-form) on all
segments. The report ends with the differences (missed, extra) of +folded and of the shipped row.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import meilisearch

from cli.services import NPM_BINARY, free_port, meilisearch_argv, wait_http
from search.meili.client import wait
from search.meili.documents import text_forms
from search.meili.query import Filters, build_queries
from search.meili.schema import ensure_index
from search.text.stemming import SHIPPED, Stemming, stem_text

DATA = Path(__file__).with_name("data") / "kk_ru_queries.tsv"
ALL = ("original", "folded", "stem")


# Index settings beside the shipped ones (search.meili.schema.INDEX_SETTINGS, "shipped").
TYPO_4_7 = {"minWordSizeForTypos": {"oneTypo": 4, "twoTypos": 7}}
TYPO_5_9 = {"minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}}
OFF = {"disableOnAttributes": ["text_folded", "text_stem"]}
SETTINGS: dict[str, dict] = {
    "shipped": {},
    "typo 4/7, prefix (before)": {"typoTolerance": TYPO_4_7, "prefixSearch": "indexingTime"},
    "typo 4/7, prefix, typo off on folded and stem": {
        "typoTolerance": TYPO_4_7 | OFF,
        "prefixSearch": "indexingTime",
    },
    "typo 5/9, prefix": {"typoTolerance": TYPO_5_9, "prefixSearch": "indexingTime"},
    "typo 4/7, no prefix": {"typoTolerance": TYPO_4_7, "prefixSearch": "disabled"},
    "typo 5/9, no prefix": {"typoTolerance": TYPO_5_9, "prefixSearch": "disabled"},
    "typo 5/8, no prefix": {
        "typoTolerance": {"minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 8}},
        "prefixSearch": "disabled",
    },
    "typo 6/7, no prefix": {
        "typoTolerance": {"minWordSizeForTypos": {"oneTypo": 6, "twoTypos": 7}},
        "prefixSearch": "disabled",
    },
    "typo 6/10, no prefix": {
        "typoTolerance": {"minWordSizeForTypos": {"oneTypo": 6, "twoTypos": 10}},
        "prefixSearch": "disabled",
    },
    "typo 5/9 on the text only, no prefix": {
        "typoTolerance": TYPO_5_9 | OFF,
        "prefixSearch": "disabled",
    },
}
BEFORE = "typo 4/7, prefix (before)"


@dataclass(frozen=True)
class Config:
    forms: tuple[str, ...]
    stemming: Stemming
    typo_off: bool = False  # text_stem for every segment, searched alone, without typos
    settings: str = BEFORE  # a key of SETTINGS

    @property
    def index(self) -> str:
        """One index per way of building documents (everything but the query side)."""
        built = replace(self.stemming, whole_words=False)
        key = f"{built}{self.typo_off}{self.settings}".encode()
        return "bench_" + hashlib.sha256(key).hexdigest()[:16]


def _configs() -> dict[str, Config]:
    before = Stemming(3, False, False, False, russian="", english=False, whole_words=False)
    rows = {
        "original": Config(("original",), before),
        "+folded": Config(("original", "folded"), before),
        _describe(before) + " (shipped before)": Config(ALL, before),
        _describe(replace(before, russian="table")): Config(ALL, replace(before, russian="table")),
    }
    for russian in ("snowball", "pymorphy3"):
        base = replace(before, russian=russian, english=True)
        variants = [
            Config(ALL, base),
            Config(ALL, base, typo_off=True),
            Config(ALL, replace(base, whole_words=True)),
            Config(ALL, replace(base, kazakh_min=4)),
            Config(ALL, replace(base, kazakh_min=4), typo_off=True),
            Config(ALL, replace(base, kazakh_min=4, whole_words=True)),
            Config(ALL, replace(base, kazakh_min=5, whole_words=True)),
            Config(ALL, replace(base, kazakh_min=4, short_stems=True, whole_words=True)),
            Config(ALL, replace(SHIPPED, russian=russian, kazakh_rules=False)),
            Config(ALL, replace(SHIPPED, russian=russian)),
        ]
        rows.update({_describe(c.stemming, c.typo_off): c for c in variants})
    for settings in [*list(SETTINGS)[2:], "shipped"]:
        for russian in ("snowball", "pymorphy3"):
            config = Config(ALL, replace(SHIPPED, russian=russian), settings=settings)
            rows[f"{_describe(config.stemming)}; {settings}"] = config
    # What each Kazakh rule adds at the shipped settings (one taken away at a time).
    for change in (
        {"kazakh_rules": False},
        {"alternation": False},
        {"short_stems": False},
        {"short_stems": False, "kazakh_min": 3},
        {"whole_words": False},
        {"russian": "pymorphy3 only"},
    ):
        config = Config(ALL, replace(SHIPPED, **change), settings="shipped")
        rows[f"{_describe(config.stemming)}; shipped"] = config
    return rows


def _describe(s: Stemming, typo_off: bool = False) -> str:
    match = "whole words" if s.whole_words else "typo off" if typo_off else "prefix+typo"
    kazakh = f"kk≥{s.kazakh_min}" + "+short" * s.short_stems + "+alternation" * s.alternation
    kazakh += "+rules" * s.kazakh_rules
    return f"+stem {kazakh} {match}; ru {s.russian or 'none'}" + "; en" * s.english


def load(path: Path) -> tuple[list[dict], list[tuple[str, str, set[str]]]]:
    """Segments as search documents (without their text forms) and (tag, query, relevant ids)."""
    docs, queries = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        first, second, third = line.split("\t")
        if first.startswith("?"):
            queries.append((first[1:], second, set(third.split(","))))
        else:
            docs.append(
                {
                    "id": first,
                    "recording_id": 1,
                    "start": 0.0,
                    "end": 1.0,
                    "text": third,
                    "language": second,
                    "body": "bench",
                    "date_ts": 0,
                    "published": True,
                    "gen": 1,
                }
            )
    return docs, queries


def build(client: meilisearch.Client, config: Config, docs: list[dict]) -> None:
    uid = config.index
    ensure_index(client, uid)
    if SETTINGS[config.settings]:
        wait(client, client.index(uid).update_settings(SETTINGS[config.settings]))
    if config.typo_off:
        wait(
            client,
            client.index(uid).update_settings(
                {"typoTolerance": {"disableOnAttributes": ["text_stem"]}}
            ),
        )
    forms = []
    for doc in docs:
        form = text_forms(doc["text"], doc["language"], config.stemming)
        if config.typo_off:
            form["text_stem"] = stem_text(doc["text"], doc["language"], config.stemming)
        forms.append({**doc, **form})
    wait(client, client.index(uid).add_documents(forms))


def run_queries(client, config: Config, queries) -> list[set[str]]:
    found = []
    for _, query, _ in queries:
        sent = build_queries(
            config.index, query, Filters().clauses(), config.forms, config.stemming
        )
        if config.typo_off:
            sent = [
                {**q, "attributesToSearchOn": ["text_stem"]}
                if "text_stem" in q.get("attributesToSearchOn", [])
                else q
                for q in sent
            ]
        result = client.multi_search(sent, federation={"limit": 100})
        found.append({hit["id"] for hit in result["hits"]})
    return found


def score(queries, found, keep_segment, keep_query) -> tuple[float, float, float]:
    """Micro-averaged precision, recall, F1 over the kept queries and segments."""
    true_pos = retrieved = relevant = 0
    for (tag, _, wanted), got in zip(queries, found, strict=True):
        if not keep_query(tag):
            continue
        got = {s for s in got if keep_segment(s)}
        wanted = {s for s in wanted if keep_segment(s)}
        true_pos += len(got & wanted)
        retrieved += len(got)
        relevant += len(wanted)
    precision, recall = true_pos / max(retrieved, 1), true_pos / max(relevant, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def table(queries, language: dict[str, str], results: dict[str, list[set[str]]]) -> list[str]:
    views = {
        "all": (lambda s: True, lambda t: True),
        "kk": (lambda s: language[s] == "kk", lambda t: True),
        "ru": (lambda s: language[s] == "ru", lambda t: True),
        "collision": (lambda s: True, lambda t: t == "collision"),
        "latin": (lambda s: True, lambda t: t == "latin"),
        "ru-form": (lambda s: True, lambda t: t == "ru-form"),
    }
    head = " | ".join(f"{v} P / R / F1" for v in views)
    lines = [f"| configuration | {head} |", "|---|" + "---:|" * len(views)]
    for name, found in results.items():
        cells = []
        for keep_segment, keep_query in views.values():
            p, r, f1 = score(queries, found, keep_segment, keep_query)
            cells.append(f"{p:.3f} / {r:.3f} / **{f1:.3f}**")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def misses(queries, found: list[set[str]]) -> list[str]:
    out = []
    for (tag, query, wanted), got in zip(queries, found, strict=True):
        if got != wanted:
            extra, missed = sorted(got - wanted), sorted(wanted - got)
            out.append(f"- {query} [{tag or '-'}]: missed {missed} extra {extra}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the Markdown report here too")
    args = parser.parse_args()
    docs, queries = load(DATA)
    language = {doc["id"]: doc["language"] for doc in docs}
    configs = _configs()
    with tempfile.TemporaryDirectory() as folder:
        port, key = free_port(), uuid.uuid4().hex
        argv = meilisearch_argv(str(NPM_BINARY), port, key, Path(folder))
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/health", 30, server)
            client = meilisearch.Client(f"http://127.0.0.1:{port}", key)
            for config in {c.index: c for c in configs.values()}.values():
                build(client, config, docs)
            results = {name: run_queries(client, c, queries) for name, c in configs.items()}
        finally:
            server.terminate()
            server.wait(10)
    tags = {t: sum(q[0] == t for q in queries) for t in ("", "collision", "latin", "ru-form")}
    lines = [
        f"Kazakh/Russian search, {len(queries)} labelled queries ({tags['']} untagged,"
        f" {tags['collision']} collision, {tags['latin']} latin, {tags['ru-form']} ru-form) over"
        f" {len(docs)} segments ({DATA.name}); micro-averaged precision / recall / F1.",
        "",
        *table(queries, language, results),
    ]
    report = "\n".join(lines) + "\n"
    shipped = f"{_describe(SHIPPED)}; shipped"
    for name in (list(configs)[1], shipped):
        report += f"\n{name}: differences (query, missed, extra)\n"
        report += "\n".join(misses(queries, results[name])) + "\n"
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()

"""Search latency: the HTML page and the JSON API side by side with Meilisearch's own time.

Builds a synthetic archive (SQLite + a real Meilisearch from npm, temp folders): segments of
Zipf-distributed Kazakh, Russian and English words over recordings of five bodies and eight
years, written to the database and indexed by Ashyq's own indexer. Then, in one run and for the
same queries (1–3 words, phrases, filtered), alternately:

    meili   the requests Ashyq's search makes (search.meili.query.search_recordings), timed around
            each call to Meilisearch — its own time plus HTTP and JSON, no Ashyq code
    api     GET /api/v1/search on a real uvicorn server (the same search + database + JSON)
    html    GET /search (the same + template)

    .venv/bin/python -m bench.search                       # 100,000 segments, 2,000 recordings
    .venv/bin/python -m bench.search --large               # 1,000,000 over 10,000
    .venv/bin/python -m bench.search --output bench/results/search.md

Percentiles are over all queries of a class. The machine is shared: compare the columns of one
run (same queries, interleaved), not runs on different days.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import meilisearch
from sqlalchemy import insert

from archive import migrate
from archive.db import session_scope
from archive.models import Body, Recording, RecordingStatus, Segment
from archive.settings import Settings, env_for_children
from bench import meilisearch_server, publish, stop
from cli.services import free_port, wait_http, web_argv
from search.meili.client import master_client
from search.meili.indexer import rebuild
from search.meili.query import Filters, search_recordings

DATA = Path(__file__).with_name("data") / "kk_ru_queries.tsv"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SYLLABLES = _words(
    "ба бе бі бо да де ді до жа же жо ка ке кі қа қо құ ла ле лі лы ма ме мі мо на не ні но "
    "ра ре рі ро са се сі со та те ті то ша ше ші ғы ұл ың ар ер ан ен ал ел ас ес ат ет ыс "
    "ін ды ты"
)
RU_SYLLABLES = _words("ра ро ре ва во ка ко на но ни ла ло те то ст пр да до ми ма ос ени ов ие ый")
EN_WORDS = _words(
    "the budget law committee minister report session public hearing railway school hospital "
    "water road energy tax program region deputy government parliament decision vote citizens"
)
BODIES = ["mazhilis", "senate", "government", "almaty-akimat", "astana-akimat"]
EVENTS = ["plenary", "committee", "hearing", "briefing", "press_conference"]


def vocabulary(rng: random.Random, size: int) -> dict[str, list[str]]:
    """Real words from the labelled set first, then made-up words that look the part."""
    real: dict[str, list[str]] = {"kk": [], "ru": [], "en": list(EN_WORDS)}
    if DATA.exists():
        for line in DATA.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0] != "?" and parts[1] in real:
                real[parts[1]] += [w.strip(".,;:!?«»()").lower() for w in parts[2].split()]
    words: dict[str, list[str]] = {}
    for lang, syllables in (("kk", SYLLABLES), ("ru", RU_SYLLABLES), ("en", None)):
        seen = dict.fromkeys(w for w in real[lang] if w)  # an ordered set: real words first
        while len(seen) < size:
            if syllables is None:
                suffix = rng.choice(["s", "ed", "ing", "er", "al"])
                seen[f"{rng.choice(EN_WORDS)}{suffix}{len(seen)}"] = None
            else:
                seen["".join(rng.choice(syllables) for _ in range(rng.randint(2, 5)))] = None
        words[lang] = list(seen)[:size]
    return words


def zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(n)]


def corpus_options(parser: argparse.ArgumentParser) -> None:
    """The size of the synthetic corpus ``build`` makes (this benchmark and bench.reindex)."""
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--recordings", type=int, default=2_000)


def build(settings: Settings, segments: int, recordings: int, rng: random.Random) -> dict:
    words = vocabulary(rng, 20000)
    weights = zipf_weights(20000)
    per = max(1, segments // recordings)
    texts: list[str] = []
    with session_scope(settings.db_url) as session:
        bodies = [Body(slug=slug, name=slug.title()) for slug in BODIES]
        session.add_all(bodies)
        session.flush()
        start = date(2019, 1, 1)
        for r in range(recordings):
            lang = rng.choices(["kk", "ru", "en"], [0.55, 0.35, 0.10])[0]
            rec = Recording(
                sha256=f"{r:064x}",
                title=f"Session {r}",
                body_id=bodies[r % len(bodies)].id,
                recorded_on=start + timedelta(days=rng.randint(0, 8 * 365 - 1)),
                original_name="x.mp4",
                original_path="x",
                playable_path="x",
                playable_mime="video/mp4",
                size_bytes=1,
                duration_s=per * 12.0,
                container="mp4",
                status=RecordingStatus.ready,
                event_type=rng.choice(EVENTS),
                languages=[lang],
                transcript_model="bench",
            )
            session.add(rec)
            session.flush()
            rows = []
            for idx in range(per):
                seg_lang = lang if rng.random() > 0.1 else rng.choice(["kk", "ru"])
                chosen = rng.choices(words[seg_lang], weights, k=rng.randint(8, 30))
                text = " ".join(chosen).capitalize() + "."
                at = idx * 12.0
                timed = [
                    [at + i * 0.4, at + (i + 1) * 0.4, f" {w}", 0.9] for i, w in enumerate(chosen)
                ]
                rows.append(
                    {
                        "id": f"{rec.id}-{idx}",
                        "recording_id": rec.id,
                        "idx": idx,
                        "start": at,
                        "end": at + 11.5,
                        "text": text,
                        "language": seg_lang,
                        "words": timed,
                        "reviewed": False,
                    }
                )
                if len(texts) < 20000:
                    texts.append(text)
            session.execute(insert(Segment), rows)
    return {"words": words, "weights": weights, "texts": texts}


def make_queries(corpus: dict, rng: random.Random, n_words: int, n_phrases: int, n_filtered: int):
    texts = corpus["texts"]
    pool = [w for lang in ("kk", "ru", "en") for w in corpus["words"][lang][:3000]]

    def sample_words() -> str:
        text = rng.choice(texts).rstrip(".").lower().split()
        k = rng.randint(1, 3)
        return (
            " ".join(rng.sample(text, min(k, len(text))))
            if rng.random() < 0.8
            else " ".join(rng.sample(pool, k))
        )

    words = [(sample_words(), Filters()) for _ in range(n_words)]
    phrases = []
    for _ in range(n_phrases):
        text = rng.choice(texts).rstrip(".").lower().split()
        at = rng.randrange(0, len(text) - 1)
        phrases.append((f'"{text[at]} {text[at + 1]}"', Filters()))
    filtered = []
    for _ in range(n_filtered):
        kind = rng.choice(["body", "year", "language", "body+year"])
        filters = Filters(
            body=rng.choice(BODIES) if "body" in kind else None,
            year=rng.randint(2019, 2026) if "year" in kind else None,
            language=rng.choice(["kk", "ru"]) if kind == "language" else None,
        )
        filtered.append((sample_words(), filters))
    return {"1–3 words": words, "phrases": phrases, "filtered": filtered}


class TimedClient:
    """Wraps the Meilisearch client: records the wall time of every multi-search call."""

    def __init__(self, client: meilisearch.Client) -> None:
        self.client = client
        self.spent = 0.0

    def multi_search(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return self.client.multi_search(*args, **kwargs)
        finally:
            self.spent += time.perf_counter() - started


def params_of(query: str, filters: Filters) -> dict:
    params: dict = {"q": query}
    for name in ("body", "year", "language"):
        value = getattr(filters, name)
        if value is not None:
            params[name] = value
    return params


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)

    def pick(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return pick(0.50), pick(0.95), pick(0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus_options(parser)
    parser.add_argument("--large", action="store_true", help="1,000,000 segments over 10,000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--phrases", type=int, default=200)
    parser.add_argument("--filtered", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.large:
        args.segments, args.recordings = 1_000_000, 10_000
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with meilisearch_server(root / "meili") as (url, key):
            web = None
            try:
                settings = Settings(
                    data_dir=root / "data",
                    meili_url=url,
                    meili_master_key=key,
                    port=free_port(),
                    meili_index="segments",
                    rate_limit_per_minute=10**9,  # latency is measured here, not the public limit
                )
                settings.data_dir.mkdir(parents=True)
                migrate.upgrade(settings.db_url)
                started = time.perf_counter()
                corpus = build(settings, args.segments, args.recordings, rng)
                db_s = time.perf_counter() - started
                client = master_client(settings)
                started = time.perf_counter()
                with session_scope(settings.db_url) as session:
                    indexed = rebuild(client, settings.meili_index, session)
                index_s = time.perf_counter() - started
                stats = client.get_all_stats()
                index_stats = client.http.get(f"indexes/{settings.meili_index}/stats")
                web = subprocess.Popen(
                    web_argv(settings),
                    env=env_for_children(settings),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                base = f"http://127.0.0.1:{settings.port}"
                wait_http(f"{base}/healthz", 60, web)
                timed = TimedClient(meilisearch.Client(settings.meili_url, key))
                http = httpx.Client(timeout=60)
                classes = make_queries(corpus, rng, args.queries, args.phrases, args.filtered)

                engine: dict[str, list[float]] = {}

                def run_meili(query: str, filters: Filters) -> float:
                    timed.spent = 0.0
                    found = search_recordings(timed, settings.meili_index, query, filters=filters)  # type: ignore[arg-type]
                    engine.setdefault(current, []).append(found.processing_ms)
                    return timed.spent

                def run_http(path: str, query: str, filters: Filters) -> float:
                    started = time.perf_counter()
                    answer = http.get(base + path, params=params_of(query, filters))
                    elapsed = time.perf_counter() - started
                    assert answer.status_code == 200, (
                        path,
                        query,
                        answer.status_code,
                        answer.text[:300],
                    )
                    return elapsed

                current = "warm-up"
                for query, filters in classes["1–3 words"][:50]:  # warm up caches and connections
                    run_meili(query, filters)
                    run_http("/api/v1/search", query, filters)
                    run_http("/search", query, filters)
                # What the build left (the corpus, the ORM's objects) out of the collector's walks,
                # so that a full collection in this process does not land on one timed request.
                gc.collect()
                gc.freeze()
                results: dict[str, dict[str, list[float]]] = {}
                for name, queries in classes.items():
                    current = name
                    times: dict[str, list[float]] = {"meili": [], "api": [], "html": []}
                    for n, (query, filters) in enumerate(queries):
                        kinds = ["meili", "api", "html"]
                        for kind in reversed(kinds) if n % 2 else kinds:
                            if kind == "meili":
                                elapsed = run_meili(query, filters)
                            else:
                                path = "/api/v1/search" if kind == "api" else "/search"
                                elapsed = run_http(path, query, filters)
                            times[kind].append(elapsed * 1000)
                    results[name] = times
            finally:
                if web is not None:
                    stop(web)
    used = stats.get("usedDatabaseSize", stats["databaseSize"])
    per_segment = used / max(indexed, 1)
    lines = [
        f"Search latency, {indexed:,} segments over {args.recordings:,} recordings "
        f"(seed {args.seed}); database built in {db_s:.0f} s, indexed in {index_s:.0f} s.",
        f"Meilisearch disk used: {used / 1e6:.0f} MB"
        f" = {per_segment / 1024:.2f} KiB per segment (raw documents"
        f" {index_stats.get('rawDocumentDbSize', 0) / 1e6:.0f} MB, average document"
        f" {index_stats.get('avgDocumentSize', 0)} B).",
        "",
        "| queries | n | meili p50 / p95 / p99 ms | API p50 / p95 / p99 ms"
        " | HTML p50 / p95 / p99 ms | API p95 ÷ meili p95 | HTML p95 ÷ meili p95 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, times in results.items():
        m, a, h = (percentiles(times[k]) for k in ("meili", "api", "html"))
        fmt = lambda p: " / ".join(f"{v:.1f}" for v in p)  # noqa: E731
        lines.append(
            f"| {name} | {len(times['api'])} | {fmt(m)} | {fmt(a)} | {fmt(h)} "
            f"| {a[1] / m[1]:.2f} | {h[1] / m[1]:.2f} |"
        )
    all_m = [t for times in results.values() for t in times["meili"]]
    lines.append(f"\nMedian of all Meilisearch times: {statistics.median(all_m):.1f} ms.")
    lines.append(
        "Meilisearch's own processingTimeMs (sum over a search's requests), p50 / p95 / p99: "
        + "; ".join(
            f"{name} {' / '.join(f'{v:.0f}' for v in percentiles(engine[name]))} ms"
            for name in results
        )
        + "."
    )
    report = "\n".join(lines) + "\n"
    publish(report, args.output)


if __name__ == "__main__":
    main()

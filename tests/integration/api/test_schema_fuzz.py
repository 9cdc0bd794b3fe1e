"""The OpenAPI schema fuzzed by schemathesis against the real web server (uvicorn) on a real
archive (database, Meilisearch, a Celery worker for clip jobs, a real speech clip as every
recording's media): no request gets a 5xx, and no response breaks the schema it declares."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, clean_archive, need_shared
from tests.support.corpus import CORPUS, seed
from workers.services import dumps

pytestmark = pytest.mark.fuzz

# Per operation; 27 operations × this stays within about a minute on two shared cores.
MAX_EXAMPLES = 25


def fuzz_config(folder: Path, recordings: list, dump: str) -> Path:
    """schemathesis.toml, plus the archive's real ids, slugs, ranges and dump drawn half the time,
    so generated requests also reach pages, transcripts, media, real clip cuts and dump files,
    not only 404s."""
    ids = [rec.id for rec in recordings]
    config = folder / "schemathesis.toml"
    config.write_text(
        (REPO / "schemathesis.toml").read_text()
        + f"""
[dictionaries.recordings]
values = {ids}
[dictionaries.slugs]
values = ["mazhilis", "senate"]
[dictionaries.starts]
values = ["0", "0.5", "1.25"]
[dictionaries.ends]
values = ["2", "0:03.5", "7"]
[dictionaries.dumps]
values = ["{dump}"]
[dictionaries.dump_files]
values = {[dumps.DATA_FILE, dumps.SUMS_FILE, dumps.MANIFEST]}

[parameters]
"path.recording_id" = {{ dictionary = "recordings", probability = 0.5 }}
"query.recording_id" = {{ dictionary = "recordings", probability = 0.5 }}
"path.slug" = {{ dictionary = "slugs", probability = 0.5 }}
"query.start" = {{ dictionary = "starts", probability = 0.5 }}
"query.end" = {{ dictionary = "ends", probability = 0.5 }}
"path.name" = {{ dictionary = "dumps", probability = 0.5 }}
"path.filename" = {{ dictionary = "dump_files", probability = 0.5 }}
"""
    )
    return config


def schemathesis_argv(base: str, config: Path, report: Path, token: str) -> list[str]:
    """The README's command, bounded for the suite: fixed seed, no shrinking, a JUnit report, as
    an editor (so staff operations are reached too), but not the two that queue worker jobs for
    the generated URLs (a fetch or a live capture would hold the session's one worker)."""
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "--exclude-path-regex",
        "^/api/v1/(live|recordings/fetch)$",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261203",
        "--no-shrink",
        # One worker: Hypothesis parses lambdas' source with ast, which CPython 3.11 does not
        # do safely from two threads at once (SystemError: AST constructor recursion depth).
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]


@pytest.fixture()
def sample(settings, worker):
    """The sample archive, every recording playing one real Kazakh speech clip."""
    clip = need_shared() / "kk" / "kaz-asr-codeswitch" / "audio" / "kzaudio_1.wav"
    clean_archive(settings)
    seed(settings, CORPUS, media=clip)
    yield CORPUS
    clean_archive(settings)


@pytest.fixture()
def dump(settings, sample):
    """A bulk dump of the sample archive, for /api/v1/dumps/…; removed afterwards."""
    yield dumps.make_dump(settings).name
    shutil.rmtree(settings.dumps_dir, ignore_errors=True)


def test_fuzzed_requests_never_get_a_server_error_or_an_answer_that_breaks_the_schema(
    web, sample, dump, staff_token, tmp_path
):
    """
    GIVEN the real server on an archive of 17 recordings (2 hidden) with real media and a dump
    WHEN schemathesis sends examples, boundary cases and generated requests to every operation
        of /openapi.json (valid and invalid: negative ids, huge numbers, odd strings, bad enums)
    THEN no response is a 5xx (but oEmbed's 501 for format=xml) and every documented response
        matches its declared schema; after=2**70 and a recording id of 2**70 are 400s (ids are
        bounded by the database's integer, which PostgreSQL enforces with an error)
    """
    report = tmp_path / "junit.xml"
    # The checks, and the one 5xx allowed (oEmbed's 501), are in schemathesis.toml at the root.
    config = fuzz_config(tmp_path, sample, dump)
    run = subprocess.run(
        schemathesis_argv(web, config, report, staff_token),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    print(run.stdout[run.stdout.rfind("SUMMARY") :])  # the figures, shown with -rP or -s
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert report.read_text().count("<testcase") >= 20  # every operation ran, not a subset
    # What the fuzzer found: SQLite cannot bind an integer past 64 bits, PostgreSQL's integer
    # column refuses one past 31 bits; each was a 500.
    huge = httpx.get(f"{web}/r/{sample[0].id}/live.json", params={"after": 2**70}, timeout=30)
    assert huge.status_code == 400 and huge.json()["error"] == "invalid_parameter", huge.text
    for too_big in (2**31, 2**70):
        huge = httpx.get(f"{web}/api/v1/recordings/{too_big}/transcript", timeout=30)
        assert huge.status_code == 400 and huge.json()["error"] == "invalid_parameter", huge.text

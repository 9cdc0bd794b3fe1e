"""Benchmarks, run on demand (figures in BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.services import NPM_BINARY, free_port, meilisearch_argv, wait_http


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def meilisearch_server(folder: Path) -> Iterator[tuple[str, str]]:
    """The npm Meilisearch on a free loopback port, its data in ``folder``: (url, master key)."""
    port, key = free_port(), uuid.uuid4().hex
    server = subprocess.Popen(
        meilisearch_argv(str(NPM_BINARY), port, key, folder),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", 60, server)
        yield url, key
    finally:
        stop(server)


def publish(report: str, output: Path | None) -> None:
    """Print a measurement's report and, when ``output`` names a file, write it there too."""
    print(report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report, encoding="utf-8")

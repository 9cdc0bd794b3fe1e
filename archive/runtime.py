"""Where the services ``ashyq up`` started can be found by other commands on the same data dir.

``ashyq up`` starts Meilisearch on a free loopback port with a master key kept in the data dir;
``ashyq ingest``/``reindex``/``status`` run in another terminal read both from here.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from archive.settings import Settings


def runtime_file(settings: Settings) -> Path:
    return settings.data_dir / "run" / "services.json"


def write_runtime(settings: Settings, **values: str) -> None:
    path = runtime_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(values))
    os.replace(partial, path)


def clear_runtime(settings: Settings) -> None:
    runtime_file(settings).unlink(missing_ok=True)


def with_runtime(settings: Settings) -> Settings:
    """These settings, with the Meilisearch address of a running ``ashyq up`` filled in."""
    if settings.meili_url:
        return settings
    path = runtime_file(settings)
    if not path.exists():
        return settings
    values = json.loads(path.read_text())
    return settings.model_copy(
        update={
            "meili_url": values.get("meili_url"),
            "meili_master_key": settings.meili_master_key or local_master_key(settings),
        }
    )


def local_master_key(settings: Settings) -> str:
    """The embedded Meilisearch's master key: made once, kept readable only by its owner."""
    path = settings.meili_dir / "master.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key

"""The report of ``ashyq check``: what differs between the database, the search index and the
media store, what was mended and what could not be.

The comparisons themselves live beside what they compare (``archive.media.check`` for the
media store, ``search.meili.consistency`` for the index); this module only holds their result
in one shape, so the command, the nightly task and ``/healthz`` read the same thing. The last
report is kept as a small JSON file in the data folder (``run/check.json``), written atomically:
the web process shows it to staff without running anything.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.settings import Settings


@dataclass(frozen=True)
class Difference:
    """``area`` is "index" or "media" (or "check" with kind "failed": the check could not run);
    ``kind`` one of that area's kinds (``KINDS`` of ``search.meili.consistency`` and
    ``archive.media.check``); ``subject`` a segment id or a path in the media folder, "" for a
    whole recording."""

    area: str
    kind: str
    recording_id: int | None
    subject: str
    detail: str

    def line(self) -> str:
        where = f"recording {self.recording_id}" if self.recording_id is not None else ""
        what = " ".join(part for part in (where, self.subject) if part)
        return f"{self.area} {self.kind}: {what}: {self.detail}"


@dataclass
class Report:
    ran_at: str
    hashed: bool  # whether originals were hashed (False: existence and size only)
    differences: list[Difference] = field(default_factory=list)
    # what was looked at: recordings, documents, files, files_hashed, bytes_hashed …
    checked: dict[str, int] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def counts(self) -> dict[str, int]:
        """Differences by ``area kind``, e.g. {"index missing": 1, "media orphan": 2}."""
        return dict(sorted(Counter(f"{d.area} {d.kind}" for d in self.differences).items()))

    def summary(self) -> dict[str, Any]:
        """What ``/healthz`` shows staff: when, whether anything differed, how much of each."""
        return {
            "ran_at": self.ran_at,
            "ok": self.ok,
            "hashed": self.hashed,
            "differences": self.counts(),
            "checked": self.checked,
            "repaired": len(self.repaired),
            "unrepaired": self.unrepaired[:20],
            "notes": self.notes,
        }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def report_path(settings: Settings) -> Path:
    return settings.data_dir / "run" / "check.json"


def save_report(settings: Settings, report: Report) -> Path:
    path = report_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=1))
    os.replace(partial, path)
    return path


def last_report(settings: Settings) -> Report | None:
    """The last saved report, or None when no check has run (or its file is unreadable)."""
    try:
        raw = json.loads(report_path(settings).read_text())
        raw["differences"] = [Difference(**d) for d in raw.get("differences", [])]
        return Report(**raw)
    except (OSError, ValueError, TypeError):
        return None

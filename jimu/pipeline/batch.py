"""A batch run as plain functions: start, process each file, finish (relay the outbox, count)."""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jimu.errors import BadArgsError, DiskFullError, JimuError, QueueError, StoreError, is_disk_full
from jimu.pipeline.inbox import Discovery, InboxFile, Skipped, discover, display_name
from jimu.pipeline.route import FINAL_STATES, Routed, already_done, route_file
from jimu.pipeline.work import extract_file, file_sha256, init_worker
from jimu.settings import Settings, get_settings
from jimu.store import repo
from jimu.store.db import init_db, session_scope
from jimu.store.models import Document
from validators.policy import Thresholds

# worker processes are spawned, not forked: forking a process that has threads (engines, DB pools,
# Prefect) can deadlock the child
SPAWN = multiprocessing.get_context("spawn")

log = logging.getLogger("jimu.batch")


@dataclass
class BatchContext:
    settings: Settings
    factory: sessionmaker[Session]
    thresholds: Thresholds
    pool: ProcessPoolExecutor | None
    today: dt.date | None = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def open_context(workers: int = 2, settings: Settings | None = None, engine: str | None = None,
                 today: dt.date | None = None) -> BatchContext:
    s = settings or get_settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    factory = init_db(s)
    pool = None
    if workers:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=SPAWN, initializer=init_worker, initargs=(engine,))
    thresholds = Thresholds.load()
    if (warning := thresholds.warning()) is not None:
        log.warning(warning)
    return BatchContext(s, factory, thresholds, pool, today or s.intake_date)


def start_batch(ctx: BatchContext, path: Path, trigger: str = "cli") -> tuple[str, Discovery]:
    if not path.exists():
        raise BadArgsError(f"inbox not found: {path}", hint="Give a folder of scans or a single file.")
    found = discover(path, ctx.settings.inbox_settle_s)
    with session_scope(ctx.factory) as s:
        batch = repo.create_batch(s, path, trigger=trigger)
        batch.n_files = len(found.files)
        return batch.id, found


@dataclass(frozen=True)
class FileResult:
    """What became of one inbox file: its documents, or why the file itself was not taken."""

    routed: list[Routed] = field(default_factory=list)
    skipped: Skipped | None = None


def masked(name: str) -> str:
    """A file name for the logs: a name may be a person's (申請書_山田太郎.jpg), so only a short hash
    of it and its extension are logged."""
    import hashlib

    suffix = Path(name).suffix[:8]
    return f"file-{hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()[:10]}{suffix}"


def process_file(ctx: BatchContext, batch_id: str, item: InboxFile) -> FileResult:
    """Extract (in a worker process) and route one inbox file; skips files already fully processed.

    Nothing about one file stops the batch, except a full disk (:class:`DiskFullError`, the batch
    stops and resumes on the next run): a file that vanished or may not be read is reported, and a
    file whose routing fails is quarantined as an internal error."""
    name = display_name(item.path.name)
    try:
        sha = file_sha256(item.path)
    except FileNotFoundError:
        return FileResult(skipped=Skipped(name, "vanished"))
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError("the disk is full") from e
        return FileResult(skipped=Skipped(name, "unreadable_file"))
    try:
        with session_scope(ctx.factory) as s:
            done = already_done(s, sha)
            if done is not None:
                return FileResult([Routed(d.id, d.state, False, d.quarantine_code) for d in done])
        if ctx.pool is not None:
            out = ctx.pool.submit(extract_file, str(item.path), sha).result()
        else:
            out = extract_file(str(item.path), sha)
        return FileResult(route_file(ctx.factory, batch_id, item, out, ctx.thresholds, ctx.settings.data_dir,
                                     ctx.today, ctx.settings.max_file_bytes))
    except DiskFullError:
        raise
    except (StoreError, QueueError) as e:
        if is_disk_full(e):
            raise DiskFullError(e.message) from e
        raise  # may pass: retried by the flow, else the batch fails and resumes on the next run
    except Exception as e:
        if is_disk_full(e):
            raise DiskFullError("the disk is full") from e
        log.error("routing failed for %s: %s (set aside as an internal error)", masked(name), type(e).__name__)
        return FileResult(_set_aside(ctx, batch_id, item, sha))


def _set_aside(ctx: BatchContext, batch_id: str, item: InboxFile, sha: str) -> list[Routed]:
    """Quarantine a file whose routing failed, so that it is not tried again on every run."""
    with session_scope(ctx.factory) as s:
        docs = list(s.scalars(select(Document).where(Document.file_sha256 == sha)))
        if not docs:
            doc, _ = repo.add_document(s, batch_id=batch_id, sha256=sha, file_sha256=sha,
                                       source_name=display_name(item.path.name), ward=item.ward)
            docs = [doc]
        for doc in docs:
            if doc.state not in FINAL_STATES:
                repo.quarantine_document(s, doc, "internal_error", "routing failed: an internal error")
        return [Routed(d.id, d.state, True, d.quarantine_code) for d in docs]


@dataclass
class BatchSummary:
    batch_id: str
    files: int
    documents: int
    new: int
    skipped: int
    states: dict[str, int]
    quarantine_reasons: dict[str, int]
    seconds: float
    outbox_pending: int
    relay_error: str | None = None
    review_url: str = ""
    documents_per_s: float = field(default=0.0)
    skipped_entries: list[dict[str, str]] = field(default_factory=list)  # {file, reason, message}


def relay_outbox(ctx: BatchContext, deadline_s: float = 20.0) -> tuple[int, str | None]:
    from jimu.outbox import relay_until_empty
    from jimu.queue import get_publisher

    try:
        publisher = get_publisher(ctx.settings)
    except QueueError as e:
        log.warning("queue unavailable, records stay in the outbox: %s", e.message)
        with session_scope(ctx.factory) as s:
            return repo.pending_outbox_count(s), e.message
    try:
        report = relay_until_empty(ctx.factory, publisher, retry_delay_s=0.5, max_retry_delay_s=5.0,
                                   deadline_s=deadline_s)
    finally:
        close = getattr(publisher, "close", None)
        if close is not None:
            close()
    return report.pending, report.last_error


def finish(ctx: BatchContext, batch_id: str, routed: list[Routed], files: int, started: float,
           relay_deadline_s: float = 20.0, skipped: list[Skipped] | None = None) -> BatchSummary:
    pending, err = relay_outbox(ctx, relay_deadline_s)
    with session_scope(ctx.factory) as s:
        repo.finish_batch(s, batch_id, n_files=files)
    states: dict[str, int] = {}
    reasons: dict[str, int] = {}
    with session_scope(ctx.factory) as s:
        for r in routed:
            state = repo.get_document(s, r.document_id).state
            states[state] = states.get(state, 0) + 1
            if r.reason:
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
    secs = time.perf_counter() - started
    return BatchSummary(
        batch_id=batch_id, files=files, documents=len(routed), new=sum(r.new for r in routed),
        skipped=sum(not r.new for r in routed), states=states, quarantine_reasons=reasons, seconds=secs,
        outbox_pending=pending, relay_error=err, documents_per_s=len(routed) / secs if secs else 0.0,
        skipped_entries=[{"file": k.name, "reason": k.reason, "message": k.message} for k in skipped or []],
    )


def fail(ctx: BatchContext, batch_id: str, e: JimuError) -> None:
    """Mark a batch failed with a reason (no personal data): the next run resumes where it stopped."""
    try:
        with session_scope(ctx.factory) as s:
            repo.finish_batch(s, batch_id, failed=True, error=e.message)
    except JimuError:
        log.error("could not mark batch %s failed: %s", batch_id, type(e).__name__)


def run_batch_plain(path: Path, workers: int = 2, trigger: str = "cli", settings: Settings | None = None,
                    on_file: object = None) -> BatchSummary:
    """The whole batch without Prefect (used by tests of the pipeline itself and by the benchmark)."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    ctx = open_context(workers, settings)
    try:
        batch_id, found = start_batch(ctx, path, trigger)
        routed: list[Routed] = []
        skipped = list(found.skipped)
        try:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
                for res in threads.map(lambda f: process_file(ctx, batch_id, f), found.files):
                    routed += res.routed
                    if res.skipped is not None:
                        skipped.append(res.skipped)
                    if callable(on_file):
                        on_file(res)
        except JimuError as e:
            fail(ctx, batch_id, e)
            raise
        return finish(ctx, batch_id, routed, len(found.files), started, skipped=skipped)
    finally:
        ctx.close()

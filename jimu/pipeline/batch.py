"""A batch run as plain functions: start, process each file, finish (relay the outbox, count)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jimu.errors import BadArgsError, DiskFullError, JimuError, QueueError, StoreError, is_disk_full
from jimu.pipeline import memory
from jimu.pipeline.inbox import Discovery, InboxFile, Skipped, discover, display_name
from jimu.pipeline.route import FINAL_STATES, Routed, already_done, route_file
from jimu.pipeline.work import extract_file, file_sha256, init_worker
from jimu.settings import Settings, get_settings
from jimu.storage import Storage, get_storage
from jimu.store import claims, repo
from jimu.store.db import init_db, session_scope
from jimu.store.models import Document
from jimu.validators import furigana, masters
from jimu.validators.policy import Thresholds

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
    storage: Storage
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
    _preload_masters()
    if (warning := thresholds.warning()) is not None:
        log.warning(warning)
    ctx = BatchContext(s, factory, thresholds, pool, get_storage(s), today or s.intake_date)
    memory.settle_startup()  # once per process: the masters and models stay out of later collections
    return ctx


def _preload_masters() -> None:
    """Load every master routing reads (towns, postal index, banks) and the name reader once, when
    the context opens: their one-off cost (about 20 MiB and 1.4 s) is then paid at start, not
    inside whichever file first needs a bank code (where it looked like a batch's memory growing)."""
    masters.load_all()
    furigana.warm()


_CONTEXTS: dict[tuple[int, int], BatchContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def process_context(workers: int) -> BatchContext:
    """This process's context (store, thresholds, ``workers`` OCR processes), opened once and kept:
    tasks and flows find what they need here, whatever process or machine runs them."""
    import atexit

    key = (workers, id(get_settings()))  # new settings (tests) → a new context
    with _CONTEXTS_LOCK:
        ctx = _CONTEXTS.get(key)
        if ctx is None:
            ctx = _CONTEXTS[key] = open_context(workers)
            atexit.register(ctx.close)
        return ctx


def close_process_contexts() -> None:
    with _CONTEXTS_LOCK:
        for ctx in _CONTEXTS.values():
            ctx.close()
        _CONTEXTS.clear()


def start_batch(ctx: BatchContext, path: Path, trigger: str = "cli") -> tuple[str, Discovery]:
    """List the inbox, open a batch and claim its new files (files already read are in the ledger).

    Batches whose process stopped (killed, crashed) are marked failed first: their files are
    taken again here. The returned discovery holds the files this batch claimed."""
    if not path.exists():
        raise BadArgsError(f"inbox not found: {path}", hint="Give a folder of scans or a single file.")
    found = discover(path, ctx.settings.inbox_settle_s)
    with session_scope(ctx.factory) as s:
        for stopped in claims.reap_stopped_batches(s, ctx.settings.claim_lease_s):
            log.warning("batch %s had stopped without finishing: marked failed, its files are taken again", stopped)
        batch = repo.create_batch(s, path, trigger=trigger, owner=claims.worker_id())
        batch.n_files, vanished = claims.add_claims(s, batch.id, [(f.path, f.ward) for f in found.files])
        found.skipped += [Skipped(display_name(p.name), "vanished") for p in vanished]
        return batch.id, found


def drain(ctx: BatchContext, batch_id: str, on_file: Callable[[FileResult], None] | None = None,
          wait: bool = False) -> int:
    """Claim the batch's files one by one and process them until none is left; returns how many.
    Any number of drains may run at once, in threads, processes or on other machines.

    ``wait``: when nothing is left to claim but other workers still hold files, wait until they
    finish — or until a lease runs out (a worker was killed) and take that file (the scheduled run
    does this, so a batch always ends, whatever became of the workers)."""
    owner = f"{claims.worker_id()}:{threading.get_ident()}"
    n = 0
    while True:
        c = claims.claim_next(ctx.factory, batch_id, owner, ctx.settings.claim_lease_s)
        if c is None:
            if not wait:
                return n
            with session_scope(ctx.factory) as s:
                if claims.only_given_up_left(s, batch_id):
                    return n
            time.sleep(1.0)
            continue
        res = process_file(ctx, batch_id, InboxFile(claims.decode_path(c.path), c.ward))
        complete_claim(ctx, c.id, owner, res)
        n += 1
        if on_file is not None:
            on_file(res)


def complete_claim(ctx: BatchContext, claim_id: int, owner: str, res: FileResult) -> None:
    """Record a claimed file's outcome, then the process's memory housekeeping (jimu.pipeline.memory)."""
    claims.complete(ctx.factory, claim_id, owner, asdict(res))
    memory.after_file()


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
        return FileResult(route_file(ctx.factory, batch_id, item, out, ctx.thresholds, ctx.storage,
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


def finish(ctx: BatchContext, batch_id: str, started: float, relay_deadline_s: float = 20.0,
           skipped: list[Skipped] | None = None) -> BatchSummary:
    """Relay the outbox and close the batch; the summary covers every worker's files (from the claims)."""
    with session_scope(ctx.factory) as s:
        for c in claims.given_up(s, batch_id):  # a file that stopped every worker that took it
            c.state, c.result_json = "done", json.dumps(asdict(FileResult(skipped=Skipped(
                display_name(claims.decode_path(c.path).name), "repeated_crash"))), ensure_ascii=False)
        done = claims.results(s, batch_id)
    routed = [Routed(**r) for res in done for r in res["routed"]]
    skipped = list(skipped or []) + [Skipped(**res["skipped"]) for res in done if res["skipped"]]
    pending, err = relay_outbox(ctx, relay_deadline_s)
    with session_scope(ctx.factory) as s:
        batch = repo.finish_batch(s, batch_id)
        files = batch.n_files
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
        skipped_entries=[{"file": k.name, "reason": k.reason, "message": k.message} for k in skipped],
    )


def fail(ctx: BatchContext, batch_id: str, e: JimuError) -> None:
    """Mark a batch failed with a reason (no personal data): the next run resumes where it stopped."""
    try:
        with session_scope(ctx.factory) as s:
            repo.finish_batch(s, batch_id, failed=True, error=e.message)
    except JimuError:
        log.error("could not mark batch %s failed: %s", batch_id, type(e).__name__)


def run_batch_plain(path: Path, workers: int = 2, trigger: str = "cli", settings: Settings | None = None,
                    on_file: Callable[[FileResult], None] | None = None) -> BatchSummary:
    """The whole batch without Prefect (used by tests of the pipeline itself and by the benchmark):
    ``workers`` drains in threads, each handing its OCR to the process pool."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    ctx = open_context(workers, settings)
    try:
        batch_id, found = start_batch(ctx, path, trigger)
        try:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
                for fut in [threads.submit(drain, ctx, batch_id, on_file) for _ in range(max(1, workers))]:
                    fut.result()
        except JimuError as e:
            fail(ctx, batch_id, e)
            raise
        return finish(ctx, batch_id, started, skipped=found.skipped)
    finally:
        ctx.close()

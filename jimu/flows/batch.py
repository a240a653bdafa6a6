"""Prefect flows over the batch pipeline: thin wrappers, no logic of their own.

* ``batch_flow`` (scheduled): lists the inbox, opens a batch and claims its new files in the
  store, then drains them: in this flow run (``fan_out=0``, the embedded default), or in
  ``fan_out`` runs of the ``jimu-drain/drain`` deployment that any worker of the pool picks up
  (``run_deployment``: each machine's worker runs what its own concurrency limit allows; see
  README "Production"). The outbox is relayed while the batch runs and once at its end, and the
  summary is written once, as a markdown artifact too; with ``JIMU_CSV_EXPORT=1`` the batch's CSV
  hand-off is written last (``csv_export_task`` over :mod:`jimu.export.csv_sink`).
* ``drain_flow``: claims files of a batch one by one (owner and lease) and processes each as a
  task named after the file, ``workers`` at a time, until none is left.
* ``reprocess_flow``: re-runs a batch's documents with the current code and thresholds.

Tasks are self-contained: what they need (store, thresholds, the OCR process pool) is opened once
per process (:func:`jimu.pipeline.batch.process_context`), not passed through module state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from jimu.errors import (
    AppendOnlyError,
    InputFileError,
    InvalidMessageError,
    JimuError,
    QueueError,
    StateTransitionError,
    StoreError,
)
from jimu.pipeline import batch as pipeline
from jimu.pipeline.inbox import InboxFile, display_name
from jimu.store import claims
from jimu.store.db import session_scope


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed for a reason that may pass (a busy database, a flaky broker)."""
    try:
        state.result()
    except (StateTransitionError, AppendOnlyError, InvalidMessageError, PermissionError, InputFileError):
        return False
    except (StoreError, QueueError, OSError):
        return True
    except Exception:
        return False
    return False


def task_label(path: str, ward: str | None) -> str:
    """A task run's name: the file's, when it is a scanner's plain ASCII name; a name with other
    characters may be a person's (申請書_山田太郎.jpg) and is shown as a short hash."""
    name = display_name(Path(path).name)
    shown = name if name.isascii() else pipeline.masked(name)
    return f"{ward}/{shown}" if ward else shown


@task(name="process-file", retries=2, retry_delay_seconds=1, retry_condition_fn=transient_only,
      task_run_name="{label}")
def process_claim_task(batch_id: str, claim_id: int, owner: str, path: str, ward: str | None, workers: int,
                       label: str) -> dict[str, Any]:
    ctx = pipeline.process_context(workers)
    res = pipeline.process_file(ctx, batch_id, InboxFile(claims.decode_path(path), ward))
    pipeline.complete_claim(ctx, claim_id, owner, res)
    return asdict(res)


@flow(name="jimu-drain", task_runner=ThreadPoolTaskRunner(max_workers=8), log_prints=False)  # type: ignore[arg-type]
def drain_flow(batch_id: str, workers: int = 2, wait: bool = False) -> int:
    """Process the batch's files this worker can claim, ``workers`` at a time; returns how many.
    ``wait``: until every file of the batch is done (taking over files whose lease ran out)."""
    ctx = pipeline.process_context(workers)
    owner = f"{claims.worker_id()}:drain-{time.monotonic_ns()}"
    running: set[Any] = set()
    n = 0
    while True:
        while len(running) < max(1, workers) + 1:  # one more than the OCR processes: route one while they read
            c = claims.claim_next(ctx.factory, batch_id, owner, ctx.settings.claim_lease_s)
            if c is None:
                break
            running.add(process_claim_task.submit(batch_id, c.id, owner, c.path, c.ward, workers,
                                                  task_label(str(claims.decode_path(c.path)), c.ward)))
        if not running:
            if not wait:
                return n
            with session_scope(ctx.factory) as s:
                if claims.only_given_up_left(s, batch_id):
                    return n
            time.sleep(1.0)
            continue
        first = next(as_completed(list(running)))
        running.discard(first)
        first.result()  # a full disk (or a store that stays down) stops the drain here
        n += 1


class _Relay(threading.Thread):
    """Relays the outbox every few seconds while a batch runs, so the processing center is not
    kept waiting for the end of the batch (or for a batch that is killed)."""

    def __init__(self, ctx: pipeline.BatchContext, every_s: float = 3.0) -> None:
        super().__init__(name="jimu-relay", daemon=True)
        self.ctx, self.every_s, self.stop_ev = ctx, every_s, threading.Event()

    def run(self) -> None:
        while not self.stop_ev.wait(self.every_s):
            pipeline.relay_outbox(self.ctx, deadline_s=self.every_s)

    def stop(self) -> None:
        self.stop_ev.set()
        self.join(timeout=30)


def _fan_out(batch_id: str, fan_out: int, workers: int) -> list[str]:
    """Start ``fan_out`` runs of the drain deployment on the work pool (not awaited: the scheduled
    run waits on the claims instead, so a worker that dies cannot hold the batch); their ids."""
    from prefect.deployments import run_deployment

    runs = [run_deployment(name="jimu-drain/drain", parameters={"batch_id": batch_id, "workers": workers},
                           timeout=0, as_subflow=False) for _ in range(fan_out)]
    return [str(getattr(r, "id", "")) for r in runs]


def _artifact(summary: dict[str, Any]) -> None:
    from prefect.artifacts import create_markdown_artifact

    s = summary["states"]
    lines = [f"# Batch {summary['batch_id']}", "", "| | |", "|---|---|",
             f"| files | {summary['files']} |", f"| accepted → queue | {s.get('accepted', 0) + s.get('delivered', 0)} |",
             f"| flagged → review | {s.get('review', 0)} |", f"| quarantined | {s.get('quarantined', 0)} |",
             f"| outbox pending | {summary['outbox_pending']} |"]
    if summary["quarantine_reasons"]:
        lines += ["", "## Quarantined", "", "| reason | documents |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(summary["quarantine_reasons"].items())]
    if summary["skipped_entries"]:  # names may be personal: counted by reason only
        counts: dict[str, int] = {}
        for e in summary["skipped_entries"]:
            counts[e["message"]] = counts.get(e["message"], 0) + 1
        lines += ["", "## Not taken this run", "", "| why | files |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(counts.items())]
    create_markdown_artifact("\n".join(lines), key="jimu-batch-summary", description="accepted / flagged / quarantined")


@flow(name="jimu-batch", log_prints=False)
def batch_flow(inbox: str, workers: int = 2, trigger: str = "schedule", relay_deadline_s: float = 20.0,
               fan_out: int = 0) -> dict[str, Any]:
    """Process every new scan waiting in ``inbox`` (an absolute folder, a sub-folder per ward office)."""
    started = time.perf_counter()
    ctx = pipeline.process_context(workers)
    batch_id, found = pipeline.start_batch(ctx, Path(inbox), trigger)
    relay = _Relay(ctx)
    relay.start()
    try:
        if fan_out > 0:
            _fan_out(batch_id, fan_out, workers)
        drain_flow(batch_id, workers, wait=True)  # this run works too, and ends when every file is done
    except JimuError as e:
        pipeline.fail(ctx, batch_id, e)
        raise
    finally:
        relay.stop()
    summary = asdict(pipeline.finish(ctx, batch_id, started, relay_deadline_s, found.skipped))
    _artifact(summary)
    if ctx.settings.csv_export:
        summary["csv_export"] = csv_export_task(batch_id)
    return summary


@task(name="csv-export", retries=2, retry_delay_seconds=2, retry_condition_fn=transient_only)
def csv_export_task(batch_id: str) -> dict[str, Any]:
    """The batch's CSV hand-off (``JIMU_CSV_EXPORT=1``), written after the relay: counts and file names."""
    from jimu.export.csv_sink import export_batch, export_root

    ctx = pipeline.process_context(0)
    return export_batch(ctx.factory, batch_id, ctx.settings.csv_export_format, export_root(ctx.settings)).summary()


@task(name="reprocess-batch")
def reprocess_task(batch_id: str, from_stage: str, only_flagged: bool, dry_run: bool, workers: int) -> dict[str, Any]:
    from jimu.pipeline.reprocess import reprocess_batch

    return reprocess_batch(batch_id, from_stage, only_flagged=only_flagged, dry_run=dry_run, workers=workers)


@flow(name="jimu-reprocess", log_prints=False)
def reprocess_flow(batch_id: str, from_stage: str = "extract", only_flagged: bool = False, dry_run: bool = False,
                   workers: int = 2) -> dict[str, Any]:
    """Re-run a batch with the current code and thresholds (operator corrections are kept)."""
    return reprocess_task(batch_id, from_stage, only_flagged, dry_run, workers)


@flow(name="jimu-relay", log_prints=False)
def relay_flow(deadline_s: float = 30.0) -> dict[str, Any]:
    """Empty the outbox into the queue (deployed every minute, so a record never waits for a batch)."""
    ctx = pipeline.process_context(0)
    pending, err = pipeline.relay_outbox(ctx, deadline_s)
    return {"outbox_pending": pending, "relay_error": err}

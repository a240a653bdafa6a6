"""Prefect flows over the batch pipeline: thin wrappers, no logic of their own.

* ``batch_flow``: one task per inbox file (a feeder file's documents are processed in its task),
  run on a thread pool whose threads hand the CPU-bound OCR to a pool of worker processes
  (both cores); retries only for transient failures (database busy, broker hiccup).
* ``reprocess_flow``: re-runs a batch's documents with the current code and thresholds.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from jimu.errors import InputFileError, JimuError, QueueError, StoreError
from jimu.pipeline import batch as pipeline
from jimu.pipeline.inbox import InboxFile, Skipped, display_name

_CTX: dict[str, pipeline.BatchContext] = {}


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed for a reason that may pass (a busy database, a flaky broker)."""
    try:
        state.result()
    except (StoreError, QueueError, OSError) as e:
        return not isinstance(e, InputFileError)
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
def process_file_task(run_key: str, batch_id: str, path: str, ward: str | None, label: str) -> dict[str, Any]:
    res = pipeline.process_file(_CTX[run_key], batch_id, InboxFile(Path(path), ward))
    return asdict(res)


def _batch(inbox: str, workers: int, trigger: str, relay_deadline_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    run_key = f"{inbox}:{started}"
    ctx = pipeline.open_context(workers)
    _CTX[run_key] = ctx
    try:
        batch_id, found = pipeline.start_batch(ctx, Path(inbox), trigger)
        futures = [process_file_task.submit(run_key, batch_id, str(f.path), f.ward, task_label(str(f.path), f.ward))
                   for f in found.files]
        routed: list[pipeline.Routed] = []
        skipped = list(found.skipped)
        try:
            for fut in futures:
                res = fut.result()
                routed += [pipeline.Routed(**r) for r in res["routed"]]
                if res["skipped"] is not None:
                    skipped.append(Skipped(**res["skipped"]))
        except JimuError as e:
            pipeline.fail(ctx, batch_id, e)
            raise
        summary = pipeline.finish(ctx, batch_id, routed, len(found.files), started, relay_deadline_s, skipped)
        return asdict(summary)
    finally:
        ctx.close()
        _CTX.pop(run_key, None)


@flow(name="jimu-batch", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False)  # type: ignore[arg-type]
def batch_flow(inbox: str, workers: int = 2, trigger: str = "schedule", relay_deadline_s: float = 20.0
               ) -> dict[str, Any]:
    """Process every scan waiting in ``inbox`` (a folder per ward office)."""
    return _batch(inbox, workers, trigger, relay_deadline_s)


@task(name="reprocess-batch")
def reprocess_task(batch_id: str, from_stage: str, only_flagged: bool, dry_run: bool, workers: int) -> dict[str, Any]:
    from jimu.pipeline.reprocess import reprocess_batch

    return reprocess_batch(batch_id, from_stage, only_flagged=only_flagged, dry_run=dry_run, workers=workers)


@flow(name="jimu-reprocess", log_prints=False)
def reprocess_flow(batch_id: str, from_stage: str = "extract", only_flagged: bool = False, dry_run: bool = False,
                   workers: int = 2) -> dict[str, Any]:
    """Re-run a batch with the current code and thresholds (operator corrections are kept)."""
    return reprocess_task(batch_id, from_stage, only_flagged, dry_run, workers)

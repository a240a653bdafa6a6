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

from jimu.errors import InputFileError, QueueError, StoreError
from jimu.pipeline import batch as pipeline
from jimu.pipeline.inbox import InboxFile

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


@task(name="process-file", retries=2, retry_delay_seconds=1, retry_condition_fn=transient_only,
      task_run_name="process-file-{index}")
def process_file_task(run_key: str, batch_id: str, path: str, ward: str | None, index: int) -> list[dict[str, Any]]:
    routed = pipeline.process_file(_CTX[run_key], batch_id, InboxFile(Path(path), ward))
    return [asdict(r) for r in routed]


def _batch(inbox: str, workers: int, trigger: str, relay_deadline_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    run_key = f"{inbox}:{started}"
    ctx = pipeline.open_context(workers)
    _CTX[run_key] = ctx
    try:
        batch_id, files = pipeline.start_batch(ctx, Path(inbox), trigger)
        futures = [process_file_task.submit(run_key, batch_id, str(f.path), f.ward, i) for i, f in enumerate(files)]
        routed: list[pipeline.Routed] = []
        for fut in futures:
            routed += [pipeline.Routed(**r) for r in fut.result()]
        summary = pipeline.finish(ctx, batch_id, routed, len(files), started, relay_deadline_s)
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

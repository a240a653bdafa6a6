"""``jimu bench pipeline``: the whole flow against extraction alone, and two workers against one, in one run.

Same scans in every pass, each pass in a fresh data folder (the inbox ledger would otherwise skip
files already read):

1. **extraction alone**, one OCR process;
2. **one worker**: the Prefect batch flow draining the batch itself with one OCR process — the
   difference from (1) is what Prefect, the store, the claims, the outbox and the queue add;
3. **one worker, then two workers**: the batch opened and claimed once, then drained by one, then
   (in a fresh store) two separate worker processes with one OCR process each (what two machines
   of a work pool do, here on one), then relayed and summed up once.

Extraction alone also runs with two OCR processes: what this machine gives two CPU-bound processes
with nothing else around them, the ceiling for two workers (``extraction_two_over_one``; two
workers ÷ one against it is ``scaling_efficiency``).

Every pass samples the whole process tree (this process and every descendant: OCR processes, drain
workers, Prefect's server, the PDF sandbox, :mod:`jimu.bench.tree_sampler`): CPU seconds by kind of
process for each pass, and memory during pass 2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from jimu.bench.tree_sampler import TreeSampler, stolen_s

T = TypeVar("T")

SCAN_SUFFIXES = (".png", ".jpg", ".tif", ".pdf")


def _inbox(scans: Path, work: Path) -> Path:
    inbox = work / "inbox" / "中央区"
    if inbox.parent.exists():
        shutil.rmtree(inbox.parent)
    inbox.mkdir(parents=True)
    for p in scans.iterdir():
        if p.suffix in SCAN_SUFFIXES:
            same_fs = p.stat().st_dev == inbox.stat().st_dev
            os.link(p, inbox / p.name) if same_fs else shutil.copyfile(p, inbox / p.name)
    return inbox.parent


def _fresh_data(work: Path, name: str) -> Path:
    from jimu.pipeline.batch import close_process_contexts
    from jimu.settings import get_settings
    from jimu.store.db import dispose_engines

    close_process_contexts()
    dispose_engines()
    data = work / name
    if data.exists():
        shutil.rmtree(data)
    # set in the environment, not only in this process's settings: the passes' worker processes read it too
    os.environ["JIMU_DATA_DIR"] = str(data)
    os.environ["JIMU_INBOX_SETTLE_S"] = "0"
    get_settings.cache_clear()
    return data


def workers_pass(inbox: Path, data: Path, n: int) -> tuple[float, dict[str, Any]]:
    """Open and claim the batch here, drain it in ``n`` worker processes, finish here."""
    from dataclasses import asdict

    from jimu.pipeline import batch as pipeline

    t0 = time.perf_counter()
    ctx = pipeline.open_context(0)
    try:
        batch_id, found = pipeline.start_batch(ctx, inbox, "bench")
        env = dict(os.environ) | {"JIMU_DATA_DIR": str(data)}
        procs = [subprocess.Popen([sys.executable, "-m", "jimu.bench.drain_worker", batch_id, "1"], env=env)
                 for _ in range(n)]
        done = [p.wait() for p in procs]
        if any(done):
            raise RuntimeError(f"a drain worker failed: exit codes {done}")
        summary = asdict(pipeline.finish(ctx, batch_id, t0, skipped=found.skipped))
    finally:
        ctx.close()
    return time.perf_counter() - t0, summary


def _one_per_form(scans: Path, out: Path) -> Path:
    """A folder with one scan of each form (and its truth), linked from ``scans``."""
    from jimu.bench.extract_bench import corpus_items

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    seen: set[str] = set()
    for p, t in corpus_items(scans):
        if t["form_id"] not in seen:
            seen.add(t["form_id"])
            for f in (p, p.with_name(p.name.rsplit(".", 1)[0] + ".truth.json")):
                if f.exists():
                    os.link(f, out / f.name) if f.stat().st_dev == out.stat().st_dev else shutil.copyfile(f, out / f.name)
    return out


def _warm_prefect() -> float:
    """Start Prefect's local server before anything is timed (a deployment's server is already up;
    its start is a fixed cost of the first flow in a process, not of a batch); how long it took."""
    from prefect import flow

    @flow(name="jimu-bench-warm-up")
    def warm_up() -> int:
        return 1

    t0 = time.perf_counter()
    warm_up()
    return time.perf_counter() - t0


def _timed(fn: Callable[[], T], n: int, memory: bool = False) -> tuple[float, T, dict[str, Any]]:
    """Run one pass with the process tree sampled: seconds, its result, and its CPU (and memory)."""
    tree = TreeSampler()
    tree.start()
    t0, stolen0 = time.perf_counter(), stolen_s()
    out = fn()
    seconds = time.perf_counter() - t0
    stolen = stolen_s() - stolen0
    mem = tree.stop()
    cpu = tree.cpu_by_role()
    stats: dict[str, Any] = {"cpu_s_by_process": cpu, "cpu_ms_per_form": round(1000 * cpu["total"] / n),
                             "cores_busy": round(cpu["total"] / seconds, 2),
                             "stolen_cpu_share": round(stolen / ((os.cpu_count() or 1) * seconds), 3) if seconds else 0.0}
    return seconds, out, stats | ({"memory_tree": mem} if memory else {})


def run(scans: Path, work: Path) -> dict[str, Any]:
    from jimu.bench.extract_bench import extract_corpus

    n = len([p for p in scans.iterdir() if p.suffix in SCAN_SUFFIXES])
    from jimu.flows.quiet import quiet_prefect

    quiet_prefect()
    prefect_start_s = _warm_prefect()
    _fresh_data(work, "data-extract")
    extract_corpus(_one_per_form(scans, work / "warm-up"), workers=1)  # every form's template, rendered once
    extract_s, _, cpu_extract = _timed(lambda: extract_corpus(scans, workers=1), n)
    # what this machine gives two OCR processes with nothing else around them: the ceiling for two workers
    extract2_s, _, cpu_extract2 = _timed(lambda: extract_corpus(scans, workers=2), n)

    inbox = _inbox(scans, work)
    _fresh_data(work, "data-one")
    from jimu.flows.batch import batch_flow

    one_s, one, cpu_one = _timed(lambda: batch_flow(str(inbox), workers=1, trigger="bench"), n, memory=True)
    w1_s, _, cpu_w1 = _timed(lambda: workers_pass(inbox, _fresh_data(work, "data-w1"), 1), n)
    two_s, (_, two), cpu_two = _timed(lambda: workers_pass(inbox, _fresh_data(work, "data-w2"), 2), n)
    two_over_one = w1_s / two_s
    extraction_two_over_one = extract_s / extract2_s
    return {
        "forms": n,
        "extract_forms_per_s": round(n / extract_s, 3),
        "extract_two_processes_forms_per_s": round(n / extract2_s, 3),
        "one_worker_forms_per_s": round(n / one_s, 3),
        "worker_process_forms_per_s": round(n / w1_s, 3),
        "two_workers_forms_per_s": round(n / two_s, 3),
        "orchestration_overhead": round(one_s / extract_s - 1, 4),
        "store_and_claims_overhead": round(w1_s / extract_s - 1, 4),  # the worker without Prefect
        "prefect_overhead": round(one_s / w1_s - 1, 4),
        "orchestration_cpu_overhead": round(cpu_one["cpu_ms_per_form"] / cpu_extract["cpu_ms_per_form"] - 1, 4),
        "prefect_server_start_s": round(prefect_start_s, 1),  # before timing: not in any figure
        "two_over_one": round(two_over_one, 3),
        # the machine's own two ÷ one (extraction alone, two processes ÷ one): two workers cannot beat it
        "extraction_two_over_one": round(extraction_two_over_one, 3),
        "scaling_efficiency": round(two_over_one / extraction_two_over_one, 3),
        "extract_s": round(extract_s, 1), "extract_two_processes_s": round(extract2_s, 1),
        "one_worker_s": round(one_s, 1), "worker_process_s": round(w1_s, 1), "two_workers_s": round(two_s, 1),
        "memory_tree": cpu_one.pop("memory_tree"),
        "cpu": {"extract": cpu_extract, "extract_two_processes": cpu_extract2, "one_worker_prefect": cpu_one,
                "worker_process": cpu_w1, "two_workers": cpu_two},
        "states_one": one["states"], "states_two": two["states"],
        "outbox_pending": [one["outbox_pending"], two["outbox_pending"]],
    }


def memory_run(scans: Path, work: Path) -> dict[str, Any]:
    """Only the Prefect batch flow (one worker, one OCR process), with the process tree's memory
    sampled all along: for a long batch (``jimu bench pipeline --memory-only``), where the question
    is whether memory stays flat, not how fast the passes compare."""
    from jimu.flows.quiet import quiet_prefect

    n = len([p for p in scans.iterdir() if p.suffix in SCAN_SUFFIXES])
    quiet_prefect()
    prefect_start_s = _warm_prefect()
    inbox = _inbox(scans, work)
    _fresh_data(work, "data-memory")
    from jimu.flows.batch import batch_flow

    mem = TreeSampler(every_s=2.0)
    mem.start()
    t0 = time.perf_counter()
    summary = batch_flow(str(inbox), workers=1, trigger="bench")
    seconds = time.perf_counter() - t0
    memory = mem.stop()
    deciles = []
    samples = mem.samples
    for k in range(10):
        part = [m for _, m in samples[k * len(samples) // 10:(k + 1) * len(samples) // 10]] or [0.0]
        deciles.append(round(max(part), 1))
    return {"forms": n, "seconds": round(seconds, 1), "forms_per_s": round(n / seconds, 3),
            "prefect_server_start_s": round(prefect_start_s, 1), "memory_tree": memory,
            "cpu_s_by_process": mem.cpu_by_role(),
            "peak_mib_by_tenth_of_the_run": deciles, "by_process": mem.growth_by_process(),
            "states": summary["states"]}

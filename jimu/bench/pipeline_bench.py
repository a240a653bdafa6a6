"""``jimu bench pipeline``: the whole flow (Prefect, store, queue) against extraction alone, in one run.

Both passes read the same office-tier scans with the same number of worker processes; the
difference is what Prefect, the record store, the outbox and the queue add. Memory is sampled
over the flow run (this process and its workers) to show it stays flat.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any


def _rss_mib_tree(pid: int) -> float:
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class MemorySampler(threading.Thread):
    def __init__(self, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.every = every_s
        self.stop_ev = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self.stop_ev.is_set():
            self.samples.append((time.perf_counter() - t0, _rss_mib_tree(os.getpid())))
            self.stop_ev.wait(self.every)

    def stop(self) -> dict[str, float]:
        self.stop_ev.set()
        self.join()
        vals = [m for _, m in self.samples] or [0.0]
        n = len(vals)
        q = max(1, n // 4)
        return {"peak_mib": round(max(vals), 1), "first_quarter_peak_mib": round(max(vals[:q]), 1),
                "last_quarter_peak_mib": round(max(vals[-q:]), 1), "samples": n}


def run(scans: Path, work: Path, workers: int = 2) -> dict[str, Any]:
    from jimu.bench.extract_bench import extract_corpus
    from jimu.settings import get_settings

    n = len([p for p in scans.iterdir() if p.suffix in (".png", ".jpg", ".tif", ".pdf")])
    t0 = time.perf_counter()
    extract_corpus(scans, workers=workers)
    extract_s = time.perf_counter() - t0

    inbox = work / "inbox" / "中央区"
    if inbox.parent.exists():
        shutil.rmtree(inbox.parent)
    inbox.mkdir(parents=True)
    for p in scans.iterdir():
        if p.suffix in (".png", ".jpg", ".tif", ".pdf"):
            os.link(p, inbox / p.name) if p.stat().st_dev == inbox.stat().st_dev else shutil.copyfile(p, inbox / p.name)
    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    os.environ["JIMU_DATA_DIR"] = str(data)
    get_settings.cache_clear()
    from flows.quiet import quiet_prefect

    quiet_prefect()
    from flows.batch import batch_flow

    mem = MemorySampler()
    mem.start()
    t1 = time.perf_counter()
    summary = batch_flow(str(inbox.parent), workers=workers, trigger="bench")
    flow_s = time.perf_counter() - t1
    memory = mem.stop()
    return {
        "forms": n,
        "workers": workers,
        "extract_forms_per_s": round(n / extract_s, 3),
        "pipeline_forms_per_s": round(n / flow_s, 3),
        "overhead": round(flow_s / extract_s - 1, 4),
        "extract_s": round(extract_s, 1),
        "pipeline_s": round(flow_s, 1),
        "memory": memory,
        "states": summary["states"],
        "outbox_pending": summary["outbox_pending"],
    }

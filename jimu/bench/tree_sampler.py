"""The benches' view of their own process tree: memory and CPU of this process and every descendant.

A thread polls ``/proc`` every ``every_s`` seconds. Memory is each process's resident set; CPU is
each process's *own* user + system time (not its children's, which would count a reaped OCR
process twice), so a process that ends between two polls loses at most one interval of CPU.
Each process is given a role from its command line, so a pass's CPU splits into the OCR
process(es), this process (routing, the store, Prefect's client), Prefect's server, the drain
workers.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from jimu.reliability import descendants

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def stolen_s() -> float:
    """CPU seconds the hypervisor has given to other machines since boot (all CPUs; /proc/stat's
    ``steal``): time a pass waited for a CPU it was not given, which no code of ours can change."""
    try:
        return int(Path("/proc/stat").read_text().split("\n", 1)[0].split()[8]) * TICK_S
    except (OSError, IndexError, ValueError):
        return 0.0


def _stat(pid: int) -> tuple[str, float, float] | None:
    """(name, own CPU seconds, resident MiB) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        rss_kib = 0
        name = ""
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Name:"):
                name = line.split(None, 1)[1].strip()
            elif line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return name, (int(fields[11]) + int(fields[12])) * TICK_S, rss_kib / 1024


def role(pid: int) -> str:
    """What a process of the tree is, from its command line."""
    if pid == os.getpid():
        return "this process"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return "gone"
    if "jimu.bench.drain_worker" in cmd:
        return "drain worker"
    if "uvicorn" in cmd or ("prefect" in cmd and "server" in cmd):
        return "prefect server"
    if "multiprocessing" in cmd and "spawn" in cmd:
        return "ocr process"
    if "pdf_worker" in cmd:
        return "pdf sandbox"
    return cmd.split(" ", 1)[0].rsplit("/", 1)[-1] or "other"


def rss_mib_by_process(pid: int) -> dict[int, tuple[str, float]]:
    """Resident memory (MiB) of a process and each of its descendants, with each one's name."""
    out: dict[int, tuple[str, float]] = {}
    for p in set(descendants(pid)):
        st = _stat(p)
        if st is not None:
            out[p] = (st[0], st[2])
    return out


def rss_mib_tree(pid: int) -> float:
    """Resident memory of a process and all its descendants (MiB)."""
    return sum(m for _, m in rss_mib_by_process(pid).values())


class TreeSampler(threading.Thread):
    """Samples the tree's memory and CPU while it runs; :meth:`stop` ends it and sums up memory,
    :meth:`cpu_by_role` the CPU seconds each kind of process used between start and stop."""

    def __init__(self, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.by_process: list[dict[int, tuple[str, float]]] = []
        self.every = every_s
        self.stop_ev = threading.Event()
        self.t0 = time.perf_counter()
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._roles: dict[int, str] = {}
        self._poll(first=True, record=False)  # what was already spent before the start is not this pass's

    def _poll(self, first: bool = False, record: bool = True) -> None:
        procs: dict[int, tuple[str, float]] = {}
        for p in set(descendants(os.getpid())):
            st = _stat(p)
            if st is None:
                continue
            name, cpu, mib = st
            procs[p] = (name, mib)
            if p not in self._roles:
                self._roles[p] = role(p)
                self._cpu_first[p] = cpu if first else 0.0
            self._cpu_last[p] = cpu
        if record:
            self.by_process.append(procs)
            self.samples.append((time.perf_counter() - self.t0, sum(m for _, m in procs.values())))

    def run(self) -> None:
        while not self.stop_ev.is_set():
            self._poll()
            self.stop_ev.wait(self.every)

    def start(self) -> None:
        self.t0 = time.perf_counter()
        super().start()

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds per role between start and the last poll, and their ``total``."""
        out: dict[str, float] = {}
        for p, last in self._cpu_last.items():
            r = self._roles[p]
            out[r] = out.get(r, 0.0) + max(0.0, last - self._cpu_first[p])
        rounded = {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}
        return rounded | {"total": round(sum(out.values()), 1)}

    def growth_by_process(self) -> list[dict[str, Any]]:
        """Each process alive from a tenth into the run to its end: its resident memory (MiB) at
        the end of each tenth of the run, so a process that grows shows which one it is."""
        if len(self.by_process) < 10:
            return []
        early, late = self.by_process[len(self.by_process) // 10], self.by_process[-1]
        tenths = [self.by_process[min(len(self.by_process) - 1, (k + 1) * len(self.by_process) // 10)]
                  for k in range(10)]
        return sorted(({"process": self._roles.get(p, name), "pid": p, "mib_at_a_tenth": round(a, 1),
                        "mib_at_the_end": round(late[p][1], 1),
                        "mib_by_tenth": [round(t[p][1], 1) if p in t else None for t in tenths]}
                       for p, (name, a) in early.items() if p in late),
                      key=lambda r: -float(r["mib_at_the_end"]))

    def stop(self) -> dict[str, float]:
        self.stop_ev.set()
        self.join()
        self._poll(record=False)  # the CPU spent up to now
        vals = [m for _, m in self.samples] or [0.0]
        q = max(1, len(vals) // 4)
        return {"peak_mib": round(max(vals), 1), "first_quarter_peak_mib": round(max(vals[:q]), 1),
                "last_quarter_peak_mib": round(max(vals[-q:]), 1), "samples": len(self.samples)}

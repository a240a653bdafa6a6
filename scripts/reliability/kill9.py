"""Kill -9 mid-batch, at random points, then re-run: nothing lost, nothing delivered twice.

    python scripts/reliability/kill9.py [--forms 200] [--kills 10] [--seed 7]

Generates a batch of office-tier scans, starts ``jimu batch run`` on it and kills the whole
process group with SIGKILL after a random delay, ``--kills`` times, consuming the queue in
between (as the processing center would, also killed now and then); then lets a final run
finish. Checks: every document in exactly one final state, one document per scan, and every
accepted record seen by the consumer exactly once. Prints the figures for the README.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FINAL, JIMU, ROOT, consume_all, document_states, env_for, generate, jimu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--forms", type=int, default=200)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="jimu-kill9-"))
    inbox, data = work / "inbox" / "中央区", work / "data"
    t0 = time.time()
    generate(inbox, args.forms, args.seed)
    env = env_for(data)
    print(f"generated {args.forms} forms in {time.time() - t0:.0f} s; data dir {data}", flush=True)
    seen: Counter[str] = Counter()
    kill_log = []
    for k in range(args.kills):
        delay = rng.uniform(1.5, 12.0)
        p = subprocess.Popen([*JIMU, "batch", "run", str(inbox.parent), "--no-prefect", "--json"], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        finished = p.poll() is not None
        if not finished:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        states = document_states(data) if (data / "jimu.db").exists() else Counter()
        kill_log.append((k + 1, round(delay, 1), finished, sum(states.values())))
        print(f"kill {k + 1}: after {delay:.1f} s ({'had finished' if finished else 'SIGKILL'}), "
              f"documents recorded so far: {sum(states.values())}", flush=True)
        if k % 3 == 1:  # the consumer reads meanwhile, and is killed too sometimes
            for m in consume_all(env):
                seen[m["record_id"]] += 1
    r = jimu(["batch", "run", str(inbox.parent), "--no-prefect", "--json"], env)
    if r.returncode:
        print(r.stderr[-3000:])
        return 1
    for m in consume_all(env):
        seen[m["record_id"]] += 1
    states = document_states(data)
    total = sum(states.values())
    not_final = {s: n for s, n in states.items() if s not in FINAL}
    delivered = states.get("delivered", 0) + states.get("accepted", 0)
    twice = {rid: n for rid, n in seen.items() if n > 1}
    print(f"\nkills: {args.kills}; documents: {total} for {args.forms} scans; states: {dict(states)}")
    print(f"records seen by the consumer: {len(seen)} (accepted documents: {delivered}); seen twice: {len(twice)}")
    ok = total == args.forms and not not_final and len(seen) == delivered and not twice
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

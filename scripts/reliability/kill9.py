"""Kill -9 mid-batch, at random points, then re-run: nothing lost, nothing published twice.

    python scripts/reliability/kill9.py [--forms 200] [--kills 10] [--seed 7] [--queue rabbitmq|embedded]

Generates a batch of office-tier scans and runs ``jimu batch run`` on it through Prefect (a local
Prefect server started for the check), killing the whole process group with SIGKILL after a random
delay, ``--kills`` times; then lets a final run finish. Before each kill it records which stage was
running: listing the inbox, OCR/routing (files claimed by a worker), or the outbox relay (the relay
lock held). Every third kill the processing center's consumer (``jimu queue consume``) is started
and killed too, mid-read.

So that records flow, the check runs with thresholds that accept every field a validator lets
through (delivery is what is checked here, not reading). With RabbitMQ (``--queue rabbitmq``, the
default when the broker answers) the publishes are counted **on the broker**, by a plain AMQP
reader with no de-duplication. Checks: every document in exactly one final state, one document per
scan, every delivered record published, none lost; and a message published twice only where a kill
landed in the relay (a relay killed between a broker's confirm and its mark republishes that one
message: publishing is at least once, and consumers drop the repeat by message id) — at most one
per such kill.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FINAL, JIMU, ROOT, document_states, env_for, generate

from jimu.reliability import accept_all_thresholds, broker_counts

AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
        return True
    except OSError:
        return False


def _stage(data: Path) -> str:
    """What the batch was doing when it was killed (read from the store and the relay lock)."""
    lock = data / "jimu.db.relay.lock"
    if lock.exists():
        with lock.open("a+b") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fh, fcntl.LOCK_UN)
            except BlockingIOError:
                return "relay"
    if not (data / "jimu.db").exists():
        return "start-up"
    from sqlalchemy import create_engine, text

    eng = create_engine(f"sqlite:///{data / 'jimu.db'}")
    try:
        with eng.connect() as c:
            claimed = c.execute(text("select count(*) from file_claims where state = 'claimed'")).scalar() or 0
            running = c.execute(text("select count(*) from batches where state = 'running'")).scalar() or 0
    except Exception:
        return "start-up"
    finally:
        eng.dispose()
    if claimed:
        return "OCR/routing"
    return "listing/finishing" if running else "start-up"


def _embedded_count(env: dict[str, str], seen: Counter[str]) -> int:
    r = subprocess.run([*JIMU, "queue", "consume", "--json", "--max", "100000", "--timeout", "3"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    msgs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    for m in msgs:
        seen[m["record_id"]] += 1
    return len(msgs)


def _prefect_server(work: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = random.Random().randint(14200, 14900)
    home = work / "prefect"
    senv = env | {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    p = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--port", str(port)], env=senv,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    import urllib.request

    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1).read()
            return p, url
        except OSError:
            time.sleep(0.5)
    os.killpg(p.pid, signal.SIGKILL)
    raise SystemExit("the Prefect server did not start")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--forms", type=int, default=200)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--queue", choices=["rabbitmq", "embedded"], default="rabbitmq" if _broker_up() else "embedded")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="jimu-kill9-"))
    inbox, data = work / "inbox" / "中央区", work / "data"
    t0 = time.time()
    generate(inbox, args.forms, args.seed)
    queue_name = f"jimu.kill9.{os.getpid()}"
    accept_all = accept_all_thresholds(work / "accept-all.json", "kill9-accept-all")
    extra = {"JIMU_THRESHOLDS_FILE": str(accept_all), "JIMU_CLAIM_LEASE_S": "5",
             "JIMU_INBOX_SETTLE_S": "0"}
    if args.queue == "rabbitmq":
        extra |= {"JIMU_QUEUE_URL": AMQP, "JIMU_QUEUE_NAME": queue_name}
    env = env_for(data, **extra)
    server, api = _prefect_server(work, env)
    env |= {"PREFECT_API_URL": api, "PREFECT_HOME": str(work / "prefect")}
    print(f"generated {args.forms} forms in {time.time() - t0:.0f} s; queue: {args.queue}; Prefect at {api}", flush=True)
    seen: Counter[str] = Counter()
    count = (lambda: len(broker_counts(AMQP, queue_name, seen))) if args.queue == "rabbitmq" \
        else (lambda: _embedded_count(env, seen))
    stages: Counter[str] = Counter()
    try:
        for k in range(args.kills):
            delay = rng.uniform(4.0, 25.0)
            p = subprocess.Popen([*JIMU, "batch", "run", str(inbox.parent), "--json"], env=env, cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(delay)
            finished = p.poll() is not None
            stage = "had finished" if finished else _stage(data)
            if not finished:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            stages[stage] += 1
            states = document_states(data) if (data / "jimu.db").exists() else Counter()
            when = "(it had finished)" if finished else f"during {stage}"
            print(f"kill {k + 1}: after {delay:.1f} s {when}, documents recorded so far: {sum(states.values())}",
                  flush=True)
            if k % 3 == 1 and args.queue == "embedded":  # the consumer reads meanwhile, and is killed mid-read
                c = subprocess.Popen([*JIMU, "queue", "consume", "--json", "--max", "100000", "--timeout", "3"], env=env,
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
                time.sleep(rng.uniform(0.5, 2.0))
                os.killpg(c.pid, signal.SIGKILL)
                c.wait()
            elif k % 3 == 1:
                count()
        time.sleep(6)  # the last killed run's lease runs out
        r = subprocess.run([*JIMU, "batch", "run", str(inbox.parent), "--json"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=3600)
        if r.returncode:
            print(r.stderr[-3000:])
            return 1
        subprocess.run([*JIMU, "queue", "relay"], env=env, cwd=ROOT, capture_output=True, timeout=600)
        count()
    finally:
        os.killpg(server.pid, signal.SIGKILL)
    states = document_states(data)
    total = sum(states.values())
    not_final = {s: n for s, n in states.items() if s not in FINAL}
    delivered = states.get("delivered", 0)
    repeats = sum(n - 1 for n in seen.values() if n > 1)
    print(f"\nkills: {args.kills} (by stage: {dict(stages)}); documents: {total} for {args.forms} scans; "
          f"states: {dict(states)}")
    where = "on the broker, no de-duplication" if args.queue == "rabbitmq" else "by the consumer"
    print(f"records published ({where}): {len(seen)} distinct, {sum(seen.values())} in all "
          f"(delivered documents: {delivered}); repeated publishes: {repeats} "
          f"(allowed: one per kill in the relay, {stages['relay']})")
    ok = total == args.forms and not not_final and len(seen) == delivered and repeats <= stages["relay"]
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

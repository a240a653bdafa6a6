"""Kill -9 mid-batch, at random points, then re-run: nothing lost, nothing published twice.

    python scripts/reliability/kill9.py [--forms 200] [--kills 10] [--seed 7] [--queue rabbitmq|embedded]

Generates a batch of office-tier scans and runs ``jimu batch run`` on it through Prefect (a local
Prefect server started for the check), killing the whole process group with SIGKILL after a random
delay, ``--kills`` times; then lets a final run finish. Before each kill it records which stage was
running: listing the inbox, OCR/routing (files claimed by a worker), or the outbox relay (the relay
lock held). Every third kill the processing center's consumer (``jimu queue consume --json``) is
started and killed too (SIGKILL, its process group) after a random 0.5–2 s, mid-read.

So that records flow, the check runs with thresholds that accept every field a validator lets
through (delivery is what is checked here, not reading). With RabbitMQ (``--queue rabbitmq``, the
default when the broker answers) the publishes are counted **on the broker**, by a plain AMQP
reader with no de-duplication: a tap, which takes every message off Jimu's queue, counts its
message id and forwards it unchanged (body and properties) to a second durable queue,
``{queue}.center``, declared as Jimu declares its queues, acking the original only once the
broker has confirmed the copy. The consumer reads the center queue: what each run printed before
it was killed is kept, and after the final run and relay the tap takes the rest and the consumer
runs on the center queue to completion.

Checks: every document in exactly one final state, one document per scan, every delivered record
published, none lost; and a message published twice only where a kill landed in the relay (a relay
killed between a broker's confirm and its mark republishes that one message: publishing is at least
once, and consumers drop the repeat by message id) — at most one per such kill. With RabbitMQ,
also: every delivered record reached the consumer's output at least once across all its
runs, the center queue is left empty, and a record version printed twice only where a consumer was
killed between printing it and acking it (RabbitMQ redelivers that one; its dedupe store drops
every other copy) — at most one per consumer kill. With the embedded queue the consumer is the
counter (the embedded queue ignores a repeated publish and the consumer de-duplicates, so a relay's
repeat cannot be seen there), and the killed consumer's output is not counted.
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
from typing import Any

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


def _consume(env: dict[str, str], out: Path, kill_after: float | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Run ``jimu queue consume --json``, killed with SIGKILL (its process group) after ``kill_after`` s or
    left to finish; the records it printed (and flushed before each ack), and whether it was killed running.

    Its stdout goes to a file, not a pipe: a pipe left unread until the kill would fill up and stall it."""
    cmd = [*JIMU, "queue", "consume", "--json", "--max", "100000", "--timeout", "3"]
    with out.open("wb") as fh:
        c = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.PIPE, start_new_session=True)
        killed = False
        if kill_after is not None:
            time.sleep(kill_after)
            killed = c.poll() is None
            if killed:
                os.killpg(c.pid, signal.SIGKILL)
        _out, err = c.communicate(timeout=600)
    if not killed and c.returncode:
        raise SystemExit(f"consume failed ({c.returncode}): {err.decode(errors='replace')[-2000:]}")
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        lines.pop()  # cut short by the kill: not printed in full, so not acked either
    return [json.loads(line) for line in lines if line.strip()], killed


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
    center = f"{queue_name}.center"  # the processing center's side of the tap
    center_env = env | {"JIMU_QUEUE_NAME": center}
    printed: Counter[str] = Counter()  # record versions the consumer printed, over all its runs
    consumer_runs = consumer_kills = 0

    def consumer(kill_after: float | None) -> None:
        nonlocal consumer_runs, consumer_kills
        consumer_runs += 1
        msgs, killed = _consume(center_env, work / f"consumer-{consumer_runs}.jsonl", kill_after)
        consumer_kills += killed
        for m in msgs:
            printed[f"{m['record_id']}:{m['record_version']}"] += 1
        if kill_after is not None:
            how = "killed" if killed else "it had finished"
            print(f"  consumer: {how} after {kill_after:.1f} s, having printed {len(msgs)} record(s)", flush=True)

    count = (lambda: len(broker_counts(AMQP, queue_name, seen, forward_to=center))) if args.queue == "rabbitmq" \
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
            elif k % 3 == 1:  # tap what was published so far through to the center, whose consumer is killed mid-read
                count()
                consumer(rng.uniform(0.5, 2.0))
        time.sleep(6)  # the last killed run's lease runs out
        r = subprocess.run([*JIMU, "batch", "run", str(inbox.parent), "--json"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=3600)
        if r.returncode:
            print(r.stderr[-3000:])
            return 1
        subprocess.run([*JIMU, "queue", "relay"], env=env, cwd=ROOT, capture_output=True, timeout=600)
        count()
        if args.queue == "rabbitmq":
            consumer(None)  # to completion
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
    if args.queue == "rabbitmq":
        from jimu.queue.amqp_queue import AmqpQueue

        with AmqpQueue(AMQP, center) as cq:
            left = cq.stats()
        missing = set(seen) - set(printed)
        printed_repeats = sum(n - 1 for n in printed.values() if n > 1)
        print(f"consumer ({consumer_runs} runs on {center}, {consumer_kills} killed): {len(printed)} record versions "
              f"printed, {sum(printed.values())} in all; published but never printed: {len(missing)}; "
              f"printed twice: {printed_repeats} (allowed: one per consumer kill, {consumer_kills}); "
              f"left on the center queue: {left.ready}, dead letters: {left.dead}")
        ok = ok and not missing and set(printed) <= set(seen) and printed_repeats <= consumer_kills \
            and left.ready == 0 and left.dead == 0
        if ok:
            for name in (queue_name, center):
                with AmqpQueue(AMQP, name) as q:
                    q.delete_topology()
        else:
            print(f"queues kept for a look: {queue_name}, {center} (each with .dlx, .dlq); files in {work}")
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

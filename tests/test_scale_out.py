"""Proof of scale-out: a real Prefect server on PostgreSQL, two process workers with separate data
folders sharing only PostgreSQL, RabbitMQ and the shared storage; a 60-form batch spread over both,
one worker killed with -9 mid-batch, the other (and the scheduled run) finishing it.

    pytest -m scale_out        # alone (about 3 minutes on 2 cores)

Checks: every scan in exactly one final state; both workers did work; every delivered record
published exactly once, counted on the broker with no de-duplication; a worker stops on the first
SIGTERM (``python -m jimu.flows.worker``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jimu.reliability import accept_all_thresholds, broker_counts, descendants

pytestmark = [pytest.mark.scale_out, pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"
FORMS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} never answered")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jimu.fixtures.corpus import generate
    from jimu.store.db import init_db
    from tests.service_helpers import create_pg_database, drop_pg_database

    root = tmp_path_factory.mktemp("scale")
    store_url = create_pg_database("jimu_scale")
    init_db(url=store_url)  # the schema, before anyone polls it
    prefect_db = create_pg_database("prefect_scale")
    queue = f"jimu.scale.{os.getpid()}"
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = dict(os.environ) | {
        "PREFECT_API_URL": api, "PREFECT_HOME": str(root / "prefect-client"),
        "JIMU_DATABASE_URL": store_url, "JIMU_QUEUE_URL": AMQP, "JIMU_QUEUE_NAME": queue,
        "JIMU_STORAGE_URL": (root / "shared").as_uri(), "JIMU_CLAIM_LEASE_S": "8", "JIMU_INBOX_SETTLE_S": "0",
        "JIMU_INTAKE_DATE": "2026-11-20", "PYTHONPATH": str(ROOT),
        "JIMU_THRESHOLDS_FILE": str(root / "accept-all.json"),
    }
    accept_all_thresholds(root / "accept-all.json", "scale-accept-all")
    (root / "shared").mkdir()
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)],
        env=base | {"PREFECT_HOME": str(root / "prefect-server"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.replace("+psycopg", "+asyncpg")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        _wait_http(f"{api}/health")
        pool = f"jimu-scale-{os.getpid()}"
        subprocess.run([sys.executable, "-m", "prefect", "work-pool", "create", pool, "--type", "process"],
                       env=base, check=True, capture_output=True, timeout=120)
        deploy = (f"from jimu.flows.batch import drain_flow\n"
                  f"drain_flow.from_source(source={str(ROOT)!r}, entrypoint='jimu/flows/batch.py:drain_flow')"
                  f".deploy(name='drain', work_pool_name={pool!r}, print_next_steps=False)\n")
        subprocess.run([sys.executable, "-c", deploy], env=base, cwd=ROOT, check=True, capture_output=True, timeout=180)
        for name in ("a", "b"):  # separate data folders: they share only PostgreSQL, RabbitMQ and the storage
            env = base | {"JIMU_DATA_DIR": str(root / f"data-{name}"), "PREFECT_WORKER_QUERY_SECONDS": "2"}
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "jimu.flows.worker", "--pool", pool, "--limit", "1", "--name",
                 f"worker-{name}"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
        inbox = root / "inbox" / "中央区"
        generate("all", FORMS, 611, "office", inbox, workers=2)
        for t in inbox.glob("*.truth.json"):
            t.unlink()
        yield {"root": root, "env": base, "workers": workers, "inbox": inbox.parent, "queue": queue,
               "store_url": store_url}
    finally:
        for p in [*workers, server]:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        from jimu.store.db import dispose_engines

        dispose_engines()
        drop_pg_database(store_url)
        drop_pg_database(prefect_db)


def test_one_batch_spreads_over_two_workers_and_survives_one_killed(cluster: dict[str, Any]) -> None:
    from sqlalchemy import create_engine, text

    env = cluster["env"] | {"JIMU_DATA_DIR": str(cluster["root"] / "data-scheduler")}
    run = subprocess.Popen(
        [sys.executable, "-c", "import json,sys; from jimu.flows.batch import batch_flow; "
         f"print(json.dumps(batch_flow({str(cluster['inbox'])!r}, workers=1, trigger='test', fan_out=2)))"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    engine = create_engine(cluster["store_url"])

    def done() -> int:
        with engine.connect() as c:
            return int(c.execute(text("select count(*) from file_claims where state = 'done'")).scalar() or 0)

    def worker_pids() -> set[str]:  # processes other than the scheduled run that finished a file
        with engine.connect() as c:
            owners = [r[0] for r in c.execute(text("select owner from file_claims where state = 'done'"))]
        return {o.split(":")[1] for o in owners} - {str(run.pid)}

    deadline = time.monotonic() + 600
    while (len(worker_pids()) < 2 or done() < FORMS // 4) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.5)
    assert len(worker_pids()) >= 2, "both pool workers should have taken files by now"
    killed = cluster["workers"][0]
    for pid in sorted(descendants(killed.pid), reverse=True):  # worker a, its flow run and OCR process
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    before = done()
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    with engine.connect() as c:
        states = dict(c.execute(text("select state, count(*) from documents group by state")).all())
        owners = [r[0] for r in c.execute(text("select owner from file_claims where state = 'done'"))]
    engine.dispose()
    final = {"review", "accepted", "delivered", "quarantined", "duplicate", "rejected"}
    assert sum(states.values()) == FORMS and set(states) <= final, states  # every scan, one final state
    assert summary["files"] == FORMS and summary["documents"] == FORMS
    pids = Counter(o.split(":")[1] for o in owners)
    assert len(set(pids) - {str(run.pid)}) >= 2, pids  # both pool workers did work
    assert before < FORMS  # the kill was mid-batch: the rest was done by the survivors
    seen = broker_counts(AMQP, cluster["queue"])
    assert sum(seen.values()) == len(seen) == states.get("delivered", 0)  # each record published once
    survivor = cluster["workers"][1]
    survivor.send_signal(signal.SIGTERM)  # a service manager's stop: the worker ends on the first one
    assert survivor.wait(timeout=30) == 0

"""One batch spread over many workers through claims in the store (SQLite and a real PostgreSQL).

The OCR is a fake (these tests are about claiming, leases and the ledger); the store is real.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from jimu.pipeline import batch as B
from jimu.pipeline.work import FileOut
from jimu.settings import get_settings
from jimu.store import claims
from jimu.store.db import dispose_engines, init_db, session_scope
from jimu.store.models import Batch, FileClaim
from tests.pipeline_helpers import SAMPLES, isolated_settings
from tests.service_helpers import create_pg_database, drop_pg_database

SAMPLE = "juminhyo_kofu_office_s424242_0000.jpg"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    url = create_pg_database() if request.param == "postgresql" else None
    isolated_settings(monkeypatch, tmp_path / "data", JIMU_INBOX_SETTLE_S="0",
                      **({"JIMU_DATABASE_URL": url} if url else {}))
    read: Counter[str] = Counter()

    def fake_extract(path_s: str, sha: str | None = None) -> FileOut:
        read[Path(path_s).name] += 1
        time.sleep(0.02)  # long enough for the drains to interleave
        return FileOut(path=path_s, file_sha256=sha or "0" * 64, error_code="unknown_form",
                       error_message="This page does not match any of Jimu's forms.")

    monkeypatch.setattr(B, "extract_file", fake_extract)
    inbox = tmp_path / "inbox" / "中央区"
    inbox.mkdir(parents=True)
    for i in range(24):
        (inbox / f"scan_{i:04d}.jpg").write_bytes((SAMPLES / SAMPLE).read_bytes() + bytes([i]))
    yield {"inbox": inbox.parent, "read": read}  # type: ignore[misc]
    dispose_engines()
    get_settings.cache_clear()
    if url:
        drop_pg_database(url)


def test_drains_in_parallel_read_every_file_exactly_once(env: dict) -> None:
    ctx = B.open_context(0)
    try:
        batch_id, found = B.start_batch(ctx, env["inbox"], "test")
        counts: list[int] = []
        drains = [threading.Thread(target=lambda: counts.append(B.drain(ctx, batch_id))) for _ in range(4)]
        for t in drains:
            t.start()
        for t in drains:
            t.join()
        summary = B.finish(ctx, batch_id, time.perf_counter(), skipped=found.skipped)
    finally:
        ctx.close()
    assert sum(counts) == 24 and sum(1 for c in counts if c > 0) >= 2  # the work was shared
    assert set(env["read"].values()) == {1} and len(env["read"]) == 24  # each file read once
    assert summary.files == 24 and summary.documents == 24


def test_a_second_run_over_the_same_inbox_takes_nothing_already_claimed(env: dict) -> None:
    ctx = B.open_context(0)
    try:
        first, _ = B.start_batch(ctx, env["inbox"], "test")
        second, _ = B.start_batch(ctx, env["inbox"], "test")  # while the first still runs
        with session_scope(ctx.factory) as s:
            assert claims.open_count(s, first) == 24 and claims.open_count(s, second) == 0
    finally:
        ctx.close()


def test_a_killed_workers_file_is_taken_again_when_its_lease_runs_out(env: dict) -> None:
    ctx = B.open_context(0)
    try:
        batch_id, _ = B.start_batch(ctx, env["inbox"], "test")
        lost = claims.claim_next(ctx.factory, batch_id, "other-host:1", lease_s=0.2)  # then killed -9
        assert lost is not None
        time.sleep(0.3)
        assert B.drain(ctx, batch_id) == 24  # its file too, once the lease ran out
        assert not claims.complete(ctx.factory, lost.id, "other-host:1", {"routed": [], "skipped": None})
        summary = B.finish(ctx, batch_id, time.perf_counter())
    finally:
        ctx.close()
    assert summary.documents == 24 and env["read"][Path(lost.path).name] == 1


def test_a_batch_whose_process_died_is_marked_failed_and_its_files_taken_by_the_next_run(env: dict) -> None:
    import socket

    ctx = B.open_context(0)
    try:
        dead, _ = B.start_batch(ctx, env["inbox"], "test")
        with session_scope(ctx.factory) as s:
            s.get(Batch, dead).owner = f"{socket.gethostname()}:999999999"  # a pid that does not exist
        batch_id, _ = B.start_batch(ctx, env["inbox"], "test")
        with session_scope(ctx.factory) as s:
            old = s.get(Batch, dead)
            assert old.state == "failed" and "stopped without finishing" in (old.error or "")
            assert claims.open_count(s, batch_id) == 24
        assert B.drain(ctx, batch_id) == 24
    finally:
        ctx.close()


def test_a_file_that_stops_every_worker_is_set_aside_after_three_tries(env: dict) -> None:
    ctx = B.open_context(0)
    try:
        batch_id, _ = B.start_batch(ctx, env["inbox"], "test")
        first = claims.claim_next(ctx.factory, batch_id, "w:1", lease_s=0.05)
        assert first is not None
        for i in range(2, 4):  # taken again and again, and each worker dies
            time.sleep(0.1)
            again = claims.claim_next(ctx.factory, batch_id, f"w:{i}", lease_s=0.05)
            assert again is not None and again.id == first.id
        time.sleep(0.1)
        assert B.drain(ctx, batch_id) == 23  # not a fourth time
        summary = B.finish(ctx, batch_id, time.perf_counter())
    finally:
        ctx.close()
    assert [e["reason"] for e in summary.skipped_entries] == ["repeated_crash"]
    with session_scope(init_db()) as s:
        assert s.query(FileClaim).filter(FileClaim.state != "done").count() == 0

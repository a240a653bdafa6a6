"""Faults that must not stop or damage a batch (issue 12): each one as its own regression test.

The OCR is replaced by a fake that sets every file aside as an unknown form: these tests are about
the code around it (inbox, store, originals, routing), which runs for real on SQLite.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from jimu.errors import DiskFullError, StoreError
from jimu.pipeline import batch as B
from jimu.pipeline.inbox import discover
from jimu.pipeline.work import FileOut
from jimu.settings import get_settings
from jimu.store.db import dispose_engines, session_scope
from jimu.store.models import Batch, Document
from tests.pipeline_helpers import SAMPLES, isolated_settings

SAMPLE = "juminhyo_kofu_office_s424242_0000.jpg"


def _fake_extract(path_s: str, sha: str | None = None) -> FileOut:
    return FileOut(path=path_s, file_sha256=sha or "0" * 64, error_code="unknown_form",
                   error_message="This page does not match any of Jimu's forms.")


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    isolated_settings(monkeypatch, tmp_path / "data", JIMU_INBOX_SETTLE_S="0")
    monkeypatch.setattr(B, "extract_file", _fake_extract)
    inbox = tmp_path / "inbox"
    (inbox / "中央区").mkdir(parents=True)
    yield {"inbox": inbox, "data": tmp_path / "data", "root": tmp_path}
    dispose_engines()
    get_settings.cache_clear()


def _drop(inbox: Path, name: str | bytes, content: bytes | None = None) -> Path:
    folder = os.fsencode(inbox / "中央区")
    raw = name if isinstance(name, bytes) else name.encode()
    path = Path(os.fsdecode(os.path.join(folder, raw)))
    # each file its own bytes (same bytes would be one document, already processed)
    path.write_bytes(content if content is not None else (SAMPLES / SAMPLE).read_bytes() + raw)
    return path


def _documents() -> list[Document]:
    from jimu.store.db import init_db

    with session_scope(init_db()) as s:
        docs = list(s.query(Document).all())
        s.expunge_all()
        return docs


def _batches() -> list[Batch]:
    from jimu.store.db import init_db

    with session_scope(init_db()) as s:
        out = list(s.query(Batch).all())
        s.expunge_all()
        return out


def test_a_shift_jis_file_name_is_stored_decoded_and_never_logged(env: dict[str, Path],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    _drop(env["inbox"], "申請書_山田太郎.jpg".encode("cp932"))
    _drop(env["inbox"], "scan_0002.jpg")
    caplog.set_level(logging.DEBUG)
    summary = B.run_batch_plain(env["inbox"], workers=0)
    assert summary.documents == 2
    names = sorted(d.source_name for d in _documents())
    assert names == ["scan_0002.jpg", "申請書_山田太郎.jpg"]
    assert "山田" not in caplog.text
    assert [b.state for b in _batches()] == ["finished"]


def test_a_file_that_vanishes_after_listing_is_reported_and_the_batch_goes_on(
        env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    gone = _drop(env["inbox"], "scan_0001.jpg")
    _drop(env["inbox"], "scan_0002.jpg")
    real = B.discover

    def listed_then_deleted(path: Path, settle_s: float = 0.0):  # type: ignore[no-untyped-def]
        found = real(path, settle_s)
        gone.unlink()
        return found

    monkeypatch.setattr(B, "discover", listed_then_deleted)
    summary = B.run_batch_plain(env["inbox"], workers=0)
    assert summary.documents == 1
    assert summary.skipped_entries == [{"file": "scan_0001.jpg", "reason": "vanished",
                                        "message": "一覧の後にファイルが無くなりました"}]
    assert [b.state for b in _batches()] == ["finished"]


def test_a_file_that_may_not_be_read_is_reported(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    locked = _drop(env["inbox"], "scan_0001.jpg")
    _drop(env["inbox"], "scan_0002.jpg")
    real = B.file_sha256

    def no_permission(path: Path) -> str:  # as root, chmod 000 would not stop the read
        if path == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(B, "file_sha256", no_permission)
    summary = B.run_batch_plain(env["inbox"], workers=0)
    assert summary.documents == 1 and summary.skipped_entries[0]["reason"] == "unreadable_file"
    assert [b.state for b in _batches()] == ["finished"]


def test_a_routing_failure_quarantines_that_file_only_and_is_not_retried_every_run(
        env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _drop(env["inbox"], "scan_0001.jpg")
    _drop(env["inbox"], "scan_0002.jpg", (SAMPLES / "inkan_toroku_office_s424242_0000.jpg").read_bytes())
    real = B.route_file
    calls: list[str] = []

    def broken(factory, batch_id, item, out, *a, **k):  # type: ignore[no-untyped-def]
        calls.append(item.path.name)
        if item.path == bad:
            raise KeyError("a bug in routing")
        return real(factory, batch_id, item, out, *a, **k)

    monkeypatch.setattr(B, "route_file", broken)
    first = B.run_batch_plain(env["inbox"], workers=0)
    assert first.documents == 2 and first.states == {"quarantined": 2}
    codes = sorted(d.quarantine_code or "" for d in _documents())
    assert codes == ["internal_error", "unknown_form"]
    internal = next(d for d in _documents() if d.quarantine_code == "internal_error")
    assert internal.quarantine_message and internal.quarantine_message.startswith("内部エラー")
    calls.clear()
    second = B.run_batch_plain(env["inbox"], workers=0)
    assert calls == [] and second.new == 0  # both files are final: neither is read again
    assert [b.state for b in _batches()] == ["finished", "finished"]


def test_quarantine_reasons_are_in_japanese_with_the_english_detail(env: dict[str, Path]) -> None:
    _drop(env["inbox"], "scan_0001.jpg")
    B.run_batch_plain(env["inbox"], workers=0)
    (doc,) = _documents()
    assert doc.quarantine_message == ("Jimu の様式ではありません。区役所に回付してください。 / "
                                      "This page does not match any of Jimu's forms.")


def test_an_empty_store_file_refuses_to_start_unless_told_it_is_new(env: dict[str, Path],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    env["data"].mkdir(parents=True)
    (env["data"] / "jimu.db").write_bytes(b"")
    _drop(env["inbox"], "scan_0001.jpg")
    with pytest.raises(StoreError, match="empty"):
        B.run_batch_plain(env["inbox"], workers=0)
    monkeypatch.setenv("JIMU_NEW_STORE", "1")
    get_settings.cache_clear()
    assert B.run_batch_plain(env["inbox"], workers=0).documents == 1


def test_a_missing_store_beside_kept_originals_refuses_to_start(env: dict[str, Path]) -> None:
    _drop(env["inbox"], "scan_0001.jpg")
    B.run_batch_plain(env["inbox"], workers=0)
    dispose_engines()
    (env["data"] / "jimu.db").unlink()
    with pytest.raises(StoreError, match="missing"):
        B.run_batch_plain(env["inbox"], workers=0)


def test_a_full_disk_stops_the_batch_with_one_clear_error_and_it_resumes(env: dict[str, Path],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import jimu.storage as R

    for i in range(3):
        _drop(env["inbox"], f"scan_000{i}.jpg", (SAMPLES / SAMPLE).read_bytes() + bytes([i]))
    real = shutil.copyfile
    n = {"copies": 0}

    def fills_up(src, dst, *a, **k):  # type: ignore[no-untyped-def]
        n["copies"] += 1
        if n["copies"] >= 2:
            Path(dst).write_bytes(b"half")  # a partial copy, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(R.shutil, "copyfile", fills_up)
    with pytest.raises(DiskFullError) as e:
        B.run_batch_plain(env["inbox"], workers=0)
    assert e.value.exit_code == 10 and "disk" in e.value.message
    (batch,) = _batches()
    assert batch.state == "failed" and batch.error is not None and "disk" in batch.error
    assert not list((env["data"] / "originals").rglob("*.tmp"))  # no half copy left behind
    monkeypatch.setattr(R.shutil, "copyfile", real)
    again = B.run_batch_plain(env["inbox"], workers=0)  # space freed: the next run takes the rest
    assert again.files == 2 and again.states == {"quarantined": 2}  # the file done before the disk filled is not
    assert len(_documents()) == 3 and {d.state for d in _documents()} == {"quarantined"}  # read again


def test_a_symlink_out_of_the_inbox_is_not_followed_or_copied(env: dict[str, Path]) -> None:
    secret = env["root"] / "outside.txt"
    secret.write_text("root:x:0:0")
    (env["inbox"] / "中央区" / "scan.png").symlink_to(secret)
    (env["inbox"] / "中央区" / "loop.png").symlink_to(env["inbox"] / "中央区" / "loop.png")
    _drop(env["inbox"], "scan_0001.jpg")
    summary = B.run_batch_plain(env["inbox"], workers=0)
    assert summary.documents == 1
    reasons = {e["file"]: e["reason"] for e in summary.skipped_entries}
    assert reasons == {"中央区/scan.png": "symlink_outside", "中央区/loop.png": "symlink_loop"}
    copies = [p for p in (env["data"] / "originals").rglob("*") if p.is_file()]
    assert len(copies) == 1 and all(b"root:x" not in p.read_bytes() for p in copies)


def test_a_file_over_the_size_limit_is_quarantined_without_being_copied(env: dict[str, Path],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from jimu.pipeline.work import extract_file

    monkeypatch.setenv("JIMU_MAX_FILE_BYTES", "1000")
    get_settings.cache_clear()
    monkeypatch.setattr(B, "extract_file", extract_file)  # the real ingest refuses it before reading
    _drop(env["inbox"], "big.jpg", b"\xff\xd8" + b"0" * 5000)
    summary = B.run_batch_plain(env["inbox"], workers=0)
    assert summary.quarantine_reasons == {"over_limit": 1}
    assert not [p for p in (env["data"] / "originals").rglob("*") if p.is_file()]


def test_a_file_still_being_written_waits_for_the_next_run(env: dict[str, Path]) -> None:
    growing = _drop(env["inbox"], "scan_0001.jpg")
    _drop(env["inbox"], "scan_0002.jpg.part")
    stop = threading.Event()

    def scanner() -> None:
        with growing.open("ab") as f:
            while not stop.is_set():
                f.write(b"\0" * 1024)
                f.flush()
                time.sleep(0.02)

    t = threading.Thread(target=scanner)
    t.start()
    try:
        found = discover(env["inbox"], settle_s=0.3)
    finally:
        stop.set()
        t.join()
    assert found.files == []
    assert sorted((k.name, k.reason) for k in found.skipped) == [
        ("中央区/scan_0001.jpg", "still_being_written"), ("中央区/scan_0002.jpg.part", "still_being_written")]
    assert [f.path.name for f in discover(env["inbox"], settle_s=0.1).files] == ["scan_0001.jpg"]


def test_fifos_are_reported_not_skipped_silently(env: dict[str, Path]) -> None:
    os.mkfifo(env["inbox"] / "中央区" / "pipe.jpg")
    found = discover(env["inbox"])
    assert [(k.name, k.reason) for k in found.skipped] == [("中央区/pipe.jpg", "not_a_file")]


def test_originals_are_kept_under_relative_keys_and_a_missing_one_is_recorded(env: dict[str, Path]) -> None:
    """Another machine sharing the storage finds the same key; reprocess records a missing original."""
    from jimu.pipeline.reprocess import reprocess_batch
    from jimu.storage import get_storage, resolve_original

    _drop(env["inbox"], "scan_0001.jpg")
    summary = B.run_batch_plain(env["inbox"], workers=0)
    (doc,) = _documents()
    assert doc.original_path is not None and not Path(doc.original_path).is_absolute()
    assert doc.original_path.startswith(f"originals/{doc.sha256[:2]}/")
    settings = get_settings()
    local = resolve_original(doc.original_path, settings)
    assert local is not None and local.read_bytes().startswith(b"\xff\xd8")
    assert get_storage(settings).local_path("../../etc/passwd") is None  # keys stay under the root
    local.unlink()  # the shared folder lost it
    report = reprocess_batch(summary.batch_id, "extract", workers=1)
    assert report["documents"][0]["note"] == "original not found in the storage"


def test_an_object_store_keeps_originals_too(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Any fsspec URL is a storage: here fsspec's in-memory store stands in for S3 (same interface)."""
    from jimu.storage import resolve_original

    monkeypatch.setenv("JIMU_STORAGE_URL", "memory://jimu-test")
    get_settings.cache_clear()
    _drop(env["inbox"], "scan_0001.jpg")
    B.run_batch_plain(env["inbox"], workers=0)
    (doc,) = _documents()
    assert not (env["data"] / "originals").exists()  # nothing on the local disk but the cache
    fetched = resolve_original(doc.original_path, get_settings())
    assert fetched is not None and fetched.is_relative_to(env["data"] / "cache")
    assert fetched.read_bytes().startswith(b"\xff\xd8")

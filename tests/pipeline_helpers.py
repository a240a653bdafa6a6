"""Shared set-up for pipeline tests: an isolated data dir (SQLite store + SQLite queue) and inboxes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jimu.fixtures.corpus import CORPUS_TODAY
from jimu.settings import get_settings

SAMPLES = Path(__file__).resolve().parent.parent / "jimu" / "fixtures" / "samples"


def isolated_settings(monkeypatch: pytest.MonkeyPatch, data_dir: Path, **env: str) -> None:
    monkeypatch.setenv("JIMU_DATA_DIR", str(data_dir))
    monkeypatch.delenv("JIMU_DATABASE_URL", raising=False)
    monkeypatch.delenv("JIMU_QUEUE_URL", raising=False)
    monkeypatch.setenv("JIMU_INTAKE_DATE", CORPUS_TODAY.isoformat())  # the simulated forms were filed then
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()


def copy_sample(name: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(SAMPLES / name, dest / name))


def drain_queue(max_n: int = 1000) -> list[dict]:
    from jimu.queue import get_consumer

    consumer = get_consumer(get_settings())
    out = []
    while True:
        msgs = consumer.get(100, 0.5)
        if not msgs:
            break
        for m in msgs:
            out.append(m.body)
            consumer.ack(m)
        if len(out) >= max_n:
            break
    close = getattr(consumer, "close", None)
    if close:
        close()
    return out

"""The Prefect noise filter drops Prefect's own "database is locked" retries and never a Jimu record or error."""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path

import pytest

from jimu.errors import DiskFullError, QueueError, QueueUnavailableError, StoreError
from jimu.flows import quiet
from jimu.flows.quiet import DropKnownNoise, is_jimus

JIMU_DIR = Path(quiet.__file__).resolve().parents[1]
LOCKED = "database is locked"


def _raised(exc: BaseException, cause: BaseException | None = None, in_file: str | None = None) -> BaseException:
    """``exc`` as raised (with a traceback), from ``cause``, in code compiled as ``in_file``."""
    code = compile("raise exc from cause" if cause is not None else "raise exc", in_file or "<prefect>", "exec")
    try:
        exec(code, {"exc": exc, "cause": cause})
    except BaseException as e:  # caught to keep it, with its traceback
        return e
    raise AssertionError("not raised")


def _record(logger: str, msg: str = LOCKED, exc: BaseException | None = None, pathname: str = "/venv/prefect/x.py",
            level: int = logging.ERROR) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord(logger, level, pathname, 1, msg, None, exc_info)


PREFECT_NOISE = {
    "server-service-message": _record("prefect.server.services.scheduler", "Unexpected error: database is locked"),
    "uvicorn-asgi-traceback": _record("uvicorn.error", "Exception in ASGI application",
                                      _raised(sqlite3.OperationalError(LOCKED))),
    "prefect-internal-wrapped": _record("prefect._internal.concurrency", "Service failed",
                                        _raised(RuntimeError("retry"), sqlite3.OperationalError(LOCKED))),
    "fastapi": _record("fastapi", "database is locked"),
    "prefect-root": _record("prefect", "(sqlite3.OperationalError) database is locked"),
}


@pytest.mark.parametrize("record", PREFECT_NOISE.values(), ids=PREFECT_NOISE.keys())
def test_prefects_own_lock_noise_is_dropped(record: logging.LogRecord) -> None:
    assert not is_jimus(record)
    assert DropKnownNoise().filter(record) is False


JIMU_FILE = str(JIMU_DIR / "store" / "db.py")
KEPT = {
    # Jimu's own loggers, whatever they say
    "jimu-store-logger": _record("jimu.store", "database is locked"),
    "jimu-queue-logger": _record("jimu.queue.sqlite_queue", "publish failed",
                                 _raised(sqlite3.OperationalError(LOCKED))),
    "jimu-root-logger": _record("jimu", "database is locked"),
    # Jimu's errors, through Prefect's loggers
    "store-error-on-prefect-engine": _record("prefect.engine", "Crash detected!", _raised(StoreError(LOCKED))),
    "disk-full-on-prefect": _record("prefect", "Crash", _raised(DiskFullError(LOCKED))),
    "queue-error-as-cause": _record("prefect.flows", "failed",
                                    _raised(RuntimeError(LOCKED), QueueUnavailableError(LOCKED))),
    "store-error-as-context": _record("prefect.server.api", "failed",
                                      _raised(sqlite3.OperationalError(LOCKED), StoreError("busy"))),
    "jimu-frame-in-traceback": _record("uvicorn.error", "Exception",
                                       _raised(sqlite3.OperationalError(LOCKED), in_file=JIMU_FILE)),
    "jimu-error-named-in-text": _record("prefect.engine", "Finished in state Failed('StoreError: database is locked')"),
    "queue-error-named-in-text": _record("prefect.client", f"{QueueError.__name__}: {LOCKED}"),
    "jimu-module-named-in-text": _record("prefect.server", "jimu.store.db: database is locked"),
    "logged-from-jimu-code": _record("prefect.server", LOCKED, pathname=JIMU_FILE),
    # the run loggers carry our flows' and tasks' errors
    "task-run-logger": _record("prefect.task_runs", LOCKED),
    "flow-run-logger": _record("prefect.flow_runs", "Encountered exception", _raised(sqlite3.OperationalError(LOCKED))),
    "worker-logger": _record("prefect.workers.process", LOCKED),
    # not Prefect's: e.g. SQLAlchemy's pool, which Jimu's store uses too
    "sqlalchemy": _record("sqlalchemy.pool.impl.QueuePool", LOCKED),
    "root": _record("root", LOCKED),
    "lookalike-logger-name": _record("prefectish", LOCKED),
    # Prefect's own, but not the known noise
    "other-prefect-error": _record("prefect.server.services", "disk I/O error"),
}


@pytest.mark.parametrize("record", KEPT.values(), ids=KEPT.keys())
def test_jimu_records_and_errors_and_other_lines_are_kept(record: logging.LogRecord) -> None:
    assert DropKnownNoise().filter(record) is True


@pytest.mark.parametrize("name", ["jimu-store-logger", "store-error-on-prefect-engine", "queue-error-as-cause",
                                  "jimu-frame-in-traceback", "jimu-error-named-in-text", "logged-from-jimu-code"])
def test_a_jimu_record_is_recognised_as_jimus(name: str) -> None:
    assert is_jimus(KEPT[name])


def test_a_record_that_cannot_be_formatted_is_kept() -> None:
    record = logging.LogRecord("prefect.server", logging.ERROR, "/x.py", 1, "%d locked", ("not a number",), None)
    assert DropKnownNoise().filter(record) is True


def test_quiet_prefect_installs_the_filter_on_prefects_handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    from jimu.settings import get_settings

    monkeypatch.setenv("JIMU_DATA_DIR", str(tmp_path / "data"))
    for k, v in quiet._DEFAULTS.items():  # set here so that the test leaves the environment as it was
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "data" / "prefect"))
    get_settings.cache_clear()
    try:
        quiet.quiet_prefect()
    finally:
        get_settings.cache_clear()
    assert "prefect" in sys.modules
    handlers = [h for lg in (logging.getLogger(), logging.getLogger("uvicorn")) for h in lg.handlers]
    assert handlers
    for h in handlers:
        assert any(isinstance(x, DropKnownNoise) for x in h.filters), h
        assert h.filter(_record("jimu.store", LOCKED))
        assert h.filter(_record("prefect.engine", "x", _raised(StoreError(LOCKED))))
        assert not h.filter(PREFECT_NOISE["uvicorn-asgi-traceback"])

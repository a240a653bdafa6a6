"""Keep Prefect's own internals out of a normal run's output.

The embedded default is Prefect's local ephemeral server on SQLite. Under concurrent task runs
its background services log "database is locked" tracebacks that are harmless (Prefect retries;
see PrefectHQ/prefect#18934). We give it a longer SQLite timeout, turn off the services a batch
does not use, keep its state under the data dir, and drop that one known noise line.

The filter (:class:`DropKnownNoise`) drops a record only when all of these hold: it comes from one
of Prefect's own internal loggers (``prefect.*`` but not the flow- and task-run loggers, which carry
our tasks' errors; ``uvicorn``, ``fastapi``), its text says "database is locked", and nothing in it
is Jimu's: not a ``jimu`` logger, no :class:`~jimu.errors.JimuError` (a store or queue error) in
its exception or that exception's causes, no frame of Jimu's code in its traceback, no mention of
a Jimu module or error class in its text. Jimu's own store (SQLite too) and queue errors always surface.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from jimu.settings import get_settings

_DEFAULTS = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "ERROR",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
    "PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT": "30",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}

NOISE = ("database is locked",)
# Prefect's internal loggers, whose "database is locked" lines are its own server's SQLite retrying
NOISY_LOGGERS = ("prefect", "uvicorn", "fastapi")
# ...but not the run loggers: a flow or task run logs the exceptions of the code it runs (ours)
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs", "prefect.workers")
_JIMU_DIR = str(Path(__file__).resolve().parents[1]) + os.sep  # the jimu package's folder
_JIMU_MODULE = re.compile(r"\bjimu\.[a-z_]")  # jimu.store, jimu.queue.sqlite_queue, ...


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _jimu_error_names() -> set[str]:
    from jimu.errors import JimuError

    names, todo = set(), [JimuError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def _exception_chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and not any(exc is e for e in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def is_jimus(record: logging.LogRecord) -> bool:
    """Whether a record is Jimu's own, or carries a Jimu error: such a record is never dropped."""
    from jimu.errors import JimuError

    if _under(record.name, ("jimu",)) or record.pathname.startswith(_JIMU_DIR):
        return True
    exc = record.exc_info[1] if record.exc_info else None
    for e in _exception_chain(exc):
        if isinstance(e, JimuError):
            return True
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith(_JIMU_DIR):
                return True
            tb = tb.tb_next
    text = _text(record)
    return bool(_JIMU_MODULE.search(text)) or any(re.search(rf"\b{n}\b", text) for n in _jimu_error_names())


def _text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a record whose arguments do not format: keep it (and let logging report it)
        return ""
    for e in _exception_chain(record.exc_info[1] if record.exc_info else None):
        text += f"\n{type(e).__name__}: {e}"
    if record.exc_text:
        text += "\n" + record.exc_text
    return text


class DropKnownNoise(logging.Filter):
    """Drops Prefect's own "database is locked" retries, and nothing else (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _under(record.name, NOISY_LOGGERS) or _under(record.name, RUN_LOGGERS):
            return True
        if is_jimus(record):
            return True
        return not any(n in _text(record) for n in NOISE)


def quiet_prefect() -> None:
    """Call before importing anything from ``prefect``."""
    home = get_settings().data_dir.resolve() / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    # Prefect's own variables, set before it is imported (and inherited by the processes it starts)
    os.environ.setdefault("PREFECT_HOME", str(home))
    for k, v in _DEFAULTS.items():
        os.environ.setdefault(k, v)
    import prefect  # noqa: F401 - sets up Prefect's logging handlers, which we then filter

    f = DropKnownNoise()
    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        lg.addFilter(f)
        for h in lg.handlers:
            h.addFilter(f)

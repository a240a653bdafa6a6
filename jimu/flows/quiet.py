"""Keep Prefect's own internals out of a normal run's output.

The embedded default is Prefect's local ephemeral server on SQLite. Under concurrent task runs
its background services log "database is locked" tracebacks that are harmless (Prefect retries;
see PrefectHQ/prefect#18934). We give it a longer SQLite timeout, turn off the services a batch
does not use, keep its state under the data dir, and drop that one known noise line. Real errors
of our own code still surface.
"""

from __future__ import annotations

import logging
import os

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


class DropKnownNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += str(record.exc_info[1])
        return not any(n in text for n in NOISE)


def quiet_prefect() -> None:
    """Call before importing anything from ``prefect``."""
    home = get_settings().data_dir / "prefect"
    home.mkdir(parents=True, exist_ok=True)
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

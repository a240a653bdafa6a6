"""Engines, sessions and migrations of the record store.

* SQLite (default, ``{data_dir}/jimu.db``): WAL, foreign keys on, ``busy_timeout``; every transaction
  starts with ``BEGIN IMMEDIATE`` so that concurrent writers (several batch workers, the review UI)
  queue up on the write lock instead of failing half-way with "database is locked".
* PostgreSQL (``JIMU_DATABASE_URL=postgresql://…``) through psycopg 3.

:func:`init_db` brings the schema to Alembic ``head`` (idempotent, safe to call from several
processes at once) and returns a session factory.  Repository functions (``jimu.store.repo``) take a
:class:`~sqlalchemy.orm.Session` and never commit; wrap a unit of work in :func:`session_scope`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.pool import StaticPool

from jimu.errors import AppendOnlyError, DiskFullError, JimuError, StoreError, is_disk_full
from jimu.settings import Settings, get_settings
from jimu.store.models import AuditEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_MIGRATION_LOCK = 0x6A696D75  # "jimu": pg_advisory_xact_lock key serialising concurrent init_db calls

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` → the psycopg 3 driver; anything else unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable database URL>"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """A new engine for ``url`` (prefer :func:`get_engine`, which caches one per URL)."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except exc.ArgumentError as e:
        raise StoreError(f"JIMU_DATABASE_URL is not a database URL: {e}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        kwargs: dict[str, Any] = {}
        if database in ("", ":memory:"):
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        return create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": "jimu"},
        )
    raise StoreError(
        f"unsupported database {backend!r} in JIMU_DATABASE_URL",
        hint="Use sqlite:///path/to/jimu.db or postgresql://user@host/dbname (or leave it unset).",
    )


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (created on first use)."""
    url = normalize_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests; before forking worker processes)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _refuse_bulk_audit_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEntry for m in state.all_mappers):
        raise AppendOnlyError("the audit log is append-only; bulk UPDATE/DELETE of audit_log was refused")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit and refuse bulk audit-log changes."""
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "do_orm_execute", _refuse_bulk_audit_changes)
    return factory


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error; database errors become StoreError."""
    session = factory()
    try:
        yield session
        session.commit()
    except JimuError:
        session.rollback()
        raise
    except exc.DBAPIError as e:  # the database said no (unreachable, constraint, trigger); others are bugs
        session.rollback()
        raise store_error(e) from e
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def store_error(e: exc.SQLAlchemyError, what: str = "record store operation failed") -> StoreError:
    """A StoreError for a SQLAlchemy error, without SQL parameters (they may hold personal data)."""
    if isinstance(e, exc.DBAPIError):
        orig = e.orig
        detail = str(orig).strip().splitlines()[0] if orig is not None else type(e).__name__
        if "append-only" in detail:
            return AppendOnlyError(f"{what}: {detail}")
        if is_disk_full(orig if orig is not None else e):
            return DiskFullError(f"{what}: the database's disk is full")
        return StoreError(f"{what}: {type(orig).__name__ if orig is not None else 'error'}: {detail}")
    return StoreError(f"{what}: {type(e).__name__}")


def alembic_config(url: str) -> Config:
    """An Alembic config for the migrations shipped in this package (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a migration
        raise StoreError("no Alembic migrations found", hint="Reinstall Jimu; jimu/store/migrations is missing.")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic ``upgrade`` on ``engine`` in one transaction (serialised across processes)."""
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE holds the write lock for the whole upgrade
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Run Alembic ``downgrade`` (developers and tests; the application never downgrades)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def refuse_lost_history(settings: Settings) -> None:
    """Refuse to start on an embedded store that is empty where history is expected: a 0-byte
    ``jimu.db`` (a failed copy, a restore gone wrong) or a missing one beside kept originals.
    Starting anyway would create a fresh store, lose every record and read every file again as new."""
    if settings.new_store:
        return
    db = settings.data_dir / "jimu.db"
    originals = settings.data_dir / "originals"
    if db.exists() and db.stat().st_size == 0:
        why = f"the record store {db.name} in the data folder is empty (0 bytes)"
    elif not db.exists() and originals.is_dir() and any(originals.iterdir()):
        why = f"the record store {db.name} is missing, but the data folder keeps originals of earlier batches"
    else:
        return
    raise StoreError(f"{why}; refusing to start, so that no history is lost",
                     hint="Restore jimu.db from a backup, or set JIMU_NEW_STORE=1 to start a new, empty store "
                          "(every file in the inbox is then read again as new).")


def init_db(settings: Settings | None = None, *, url: str | None = None) -> sessionmaker[Session]:
    """Bring the record store's schema to ``head`` (a no-op when it is there) and return a session factory.

    ``url`` overrides the settings (``JIMU_DATABASE_URL``; default ``sqlite:///{data_dir}/jimu.db``).
    """
    if url is None:
        settings = settings or get_settings()
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            refuse_lost_history(settings)
        url = settings.resolved_database_url
    engine = get_engine(url)
    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
    except JimuError:
        raise
    except exc.SQLAlchemyError as e:
        raise StoreError(
            f"cannot open or migrate the record store at {safe_url(url)}: {type(e).__name__}: "
            f"{str(getattr(e, 'orig', None) or e).strip().splitlines()[0]}"
        ) from e
    return session_factory(engine)

"""Helpers for tests that use the real PostgreSQL and RabbitMQ (``@pytest.mark.integration``); not part of the package.

When a service is down: the test FAILS under CI (``CI=true``) and is skipped elsewhere.
Addresses: ``JIMU_TEST_PG_URL`` (an admin URL, default ``postgresql://postgres@127.0.0.1:5432/postgres``)
and ``JIMU_TEST_AMQP_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/%2F``).
"""

from __future__ import annotations

import os
import uuid
from typing import Any, NoReturn

from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("JIMU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("JIMU_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def service_down(name: str, error: BaseException) -> NoReturn:
    """Fail (in CI) or skip (elsewhere) because ``name`` cannot be reached."""
    import pytest

    msg = f"{name} is not reachable: {type(error).__name__}: {str(error).strip() or repr(error)}"
    if in_ci():
        pytest.fail(f"{msg} (CI=true: integration services must be up)", pytrace=False)
    pytest.skip(msg)


def _psycopg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_pg_database(prefix: str = "jimu_test") -> str:
    """Create a fresh, uniquely named database; returns its SQLAlchemy URL (psycopg 3)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(_psycopg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as e:
        service_down("PostgreSQL", e)
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    import psycopg

    name = make_url(url).database
    with psycopg.connect(_psycopg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def require_amqp() -> None:
    """Skip/fail unless RabbitMQ answers at ``AMQP_URL``."""
    import pika
    import pika.exceptions

    params = pika.URLParameters(AMQP_URL)
    params.connection_attempts = 1
    params.socket_timeout = 3
    try:
        pika.BlockingConnection(params).close()
    except (pika.exceptions.AMQPError, OSError) as e:
        service_down("RabbitMQ", e)


def unique_queue_name(prefix: str = "jimu.test") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


def sample_field_inputs(form_id: str = "kaigo_nintei", token: str = "", status: str = "accepted") -> list[Any]:
    """A plausible canonical value for every leaf field of ``form_id`` (``token`` makes texts unique)."""
    from jimu.forms_schema import get_form
    from jimu.store.repo import FieldInput

    out: list[Any] = []
    for lf in get_form(form_id).leaf_fields():
        value: Any
        if lf.kind == "text":
            value = f"テスト{token}"
        elif lf.kind == "kana":
            value = "テスト"
        elif lf.kind == "digits":
            value = ("1234567890" * 4)[: lf.cells or 4]
        elif lf.kind == "date":
            value = "2025-04-01"
        elif lf.kind == "checkbox":
            value = True
        elif lf.kind == "single_choice":
            value = lf.options[0].id
        else:
            value = sorted(o.id for o in lf.options[:2])
        out.append(FieldInput(field_id=lf.id, kind=lf.kind, value=value, confidence=0.97,
                              status="accepted" if status == "accepted" else "flagged",
                              sensitivity=lf.sensitivity, crop_png=b"\x89PNG fake"))
    return out

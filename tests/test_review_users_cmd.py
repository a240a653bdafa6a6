"""``jimu users`` (accounts of the review UI) and ``jimu review`` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner, Result

from jimu.commands import review_cmd, users_cmd
from jimu.errors import UserAdminError
from jimu.settings import get_settings
from jimu.store.db import dispose_engines, init_db, session_scope
from jimu.store.models import AuditEntry, User

SECRET = "s3cret-pass-word"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("JIMU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JIMU_DATABASE_URL", raising=False)
    # cheap hashing for the test (the parameters are settings)
    monkeypatch.setenv("JIMU_REVIEW_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("JIMU_REVIEW_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("JIMU_REVIEW_ARGON2_PARALLELISM", "1")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    dispose_engines()


def refused(result: Result, what: str) -> bool:
    """The command stopped with a UserAdminError (the jimu CLI maps it to exit code 9)."""
    e = result.exception
    return isinstance(e, UserAdminError) and e.exit_code == 9 and what in e.message


def users(data_dir: Path) -> dict[str, User]:
    factory = init_db(url=f"sqlite:///{data_dir / 'jimu.db'}")
    with session_scope(factory) as s:
        return {u.name: u for u in s.scalars(select(User))}


def test_add_with_password_on_stdin(data_dir: Path) -> None:
    r = CliRunner().invoke(users_cmd.app, ["add", "op-001", "--role", "supervisor", "--password-stdin"],
                           input=SECRET + "\n")
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output
    u = users(data_dir)["op-001"]
    assert u.role == "supervisor" and u.active
    assert u.password_hash.startswith("$argon2id$") and SECRET not in u.password_hash
    PasswordHasher().verify(u.password_hash, SECRET)


def test_add_with_a_hidden_prompt(data_dir: Path) -> None:
    r = CliRunner().invoke(users_cmd.app, ["add", "op-002"], input=f"{SECRET}\n{SECRET}\n")
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output  # never echoed
    assert users(data_dir)["op-002"].role == "operator"


def test_prompt_mismatch_and_short_password(data_dir: Path) -> None:
    r = CliRunner().invoke(users_cmd.app, ["add", "op-003"], input=f"{SECRET}\nother-one-xx\n{SECRET}\n{SECRET}\n")
    assert r.exit_code == 0 and SECRET not in r.output
    r = CliRunner().invoke(users_cmd.app, ["add", "op-004", "--password-stdin"], input="short\n")
    assert refused(r, "too short")


@pytest.mark.parametrize(("args", "what"), [
    (["add", "op 5", "--password-stdin"], "user name"),
    (["add", "山田", "--password-stdin"], "user name"),
    (["add", "op-005", "--role", "root", "--password-stdin"], "unknown role"),
])
def test_bad_names_and_roles(data_dir: Path, args: list[str], what: str) -> None:
    r = CliRunner().invoke(users_cmd.app, args, input=SECRET + "\n")
    assert refused(r, what)


def test_duplicate_list_disable_role_passwd(data_dir: Path) -> None:
    run = CliRunner().invoke
    assert run(users_cmd.app, ["add", "op-006", "--password-stdin"], input=SECRET + "\n").exit_code == 0
    r = run(users_cmd.app, ["add", "op-006", "--password-stdin"], input=SECRET + "\n")
    assert refused(r, "already exists")
    r = run(users_cmd.app, ["list"])
    assert r.exit_code == 0 and "op-006" in r.output and "argon2" not in r.output
    assert run(users_cmd.app, ["disable", "op-006"]).exit_code == 0
    assert users(data_dir)["op-006"].active is False
    assert run(users_cmd.app, ["enable", "op-006"]).exit_code == 0
    assert run(users_cmd.app, ["role", "op-006", "admin"]).exit_code == 0
    old = users(data_dir)["op-006"].password_hash
    assert run(users_cmd.app, ["passwd", "op-006", "--password-stdin"], input="new-password-1\n").exit_code == 0
    u = users(data_dir)["op-006"]
    assert u.role == "admin" and u.active and u.password_hash != old
    assert refused(run(users_cmd.app, ["disable", "nobody"]), "no user")
    factory = init_db(url=f"sqlite:///{data_dir / 'jimu.db'}")
    with session_scope(factory) as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.actor == "cli"))]
        details = [a.detail_json or "" for a in s.scalars(select(AuditEntry))]
    assert actions.count("user.add") == 1 and actions.count("user.change") == 4
    assert not any(SECRET in d or "new-password-1" in d for d in details)


def test_review_seed_command(data_dir: Path) -> None:
    r = CliRunner().invoke(review_cmd.app, ["seed", "--n", "2", "--form", "juminhyo_kofu"])
    assert r.exit_code == 0, r.output
    factory = init_db(url=f"sqlite:///{data_dir / 'jimu.db'}")
    from jimu.store.models import Document

    with session_scope(factory) as s:
        assert [d.state for d in s.scalars(select(Document))] == ["review", "review"]

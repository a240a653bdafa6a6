"""``jimu users``: accounts of the review UI (operator, supervisor, admin).

Passwords are read from a hidden prompt (asked twice) or, with ``--password-stdin``, from the first
line of standard input; they are never echoed, logged or accepted as a command-line argument.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from jimu.errors import UserAdminError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

app = typer.Typer(help="Accounts of the review UI (roles: operator, supervisor, admin).", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 160)


def _read_password(from_stdin: bool) -> str:
    from jimu.review.auth import check_password

    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise UserAdminError("no password on standard input", hint="Pipe the password in: … | jimu users add …")
        return check_password(password)
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return check_password(password)


def _factory() -> sessionmaker[Session]:
    from jimu.settings import get_settings
    from jimu.store.db import init_db

    return init_db(get_settings())


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Login name (a staff id: letters, digits, . _ -)."),
    role: str = typer.Option("operator", "--role", help="operator, supervisor or admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create an account; the password is asked for (hidden) unless --password-stdin is given."""
    from jimu.review.auth import check_role, check_user_name, create_user
    from jimu.store.db import session_scope
    from jimu.store.repo import append_audit

    check_user_name(name)
    check_role(role)
    password = _read_password(password_stdin)
    with session_scope(_factory()) as s:
        create_user(s, name, role, password)
        append_audit(s, "cli", "user.add", detail={"user": name, "role": role})
    console.print(f"added user [bold]{name}[/] ({role})")


@app.command("list")
def list_users() -> None:
    """List the accounts (never their passwords)."""
    from sqlalchemy import select

    from jimu.store.db import session_scope
    from jimu.store.models import User

    with session_scope(_factory()) as s:
        rows = [(u.name, u.role, u.active, u.created_at) for u in s.scalars(select(User).order_by(User.name))]
    t = Table("name", "role", "active", "created (UTC)")
    for name, role, active, created in rows:
        t.add_row(name, role, "yes" if active else "no", created.strftime("%Y-%m-%d %H:%M"))
    console.print(t)


def _set(name: str, *, active: bool | None = None, role: str | None = None, password: str | None = None) -> None:
    from sqlalchemy import select

    from jimu.review.auth import hash_password
    from jimu.store.db import session_scope
    from jimu.store.models import User
    from jimu.store.repo import append_audit

    with session_scope(_factory()) as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserAdminError(f"no user named {name!r}")
        detail: dict[str, object] = {"user": name}
        if active is not None:
            user.active = active
            detail["active"] = active
        if role is not None:
            user.role = role
            detail["role"] = role
        if password is not None:
            user.password_hash = hash_password(password)
            detail["password"] = "changed"
        append_audit(s, "cli", "user.change", detail=detail)


@app.command("passwd")
def passwd(
    name: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a new password."""
    _set(name, password=_read_password(password_stdin))
    console.print(f"password of [bold]{name}[/] changed")


@app.command("role")
def set_role(name: str = typer.Argument(...), role: str = typer.Argument(..., help="operator, supervisor or admin.")
             ) -> None:
    """Change an account's role (takes effect within 30 seconds, also for open sessions)."""
    from jimu.review.auth import check_role

    _set(name, role=check_role(role))
    console.print(f"[bold]{name}[/] is now {role}")


@app.command("disable")
def disable(name: str = typer.Argument(...)) -> None:
    """Disable an account (its open sessions end within 30 seconds)."""
    _set(name, active=False)
    console.print(f"[bold]{name}[/] disabled")


@app.command("enable")
def enable(name: str = typer.Argument(...)) -> None:
    """Enable a disabled account again."""
    _set(name, active=True)
    console.print(f"[bold]{name}[/] enabled")

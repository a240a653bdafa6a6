"""Accounts, sessions, CSRF and login rate limiting of the review app.

* Passwords: argon2id (``argon2-cffi``); an unknown user name costs the same as a wrong password.
* Sessions: a random token in a cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` when configured);
  the session itself lives in this process (idle and absolute time-outs).  Restarting the app logs
  everyone out.  A new token is issued at login (no session fixation).
* CSRF: every session has a token; every POST carries it (form field ``csrf_token`` or header
  ``X-CSRF-Token``).  The login form uses a double-submit token (cookie + field).
* Login attempts: failures are counted per user name and per client address over a window; past
  the limit, logins are refused (HTTP 429) until the window has passed.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jimu.errors import UserAdminError
from jimu.settings import ReviewOptions
from jimu.store.models import ROLES, User

SESSION_COOKIE: Final = "jimu_session"
LOGIN_COOKIE: Final = "jimu_login"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
USER_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD_LEN: Final = 8
ROLE_RANK: Final = {"operator": 0, "supervisor": 1, "admin": 2}

class Passwords:
    """Hashing and checking passwords with one set of argon2id parameters."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    @classmethod
    def from_settings(cls, rs: ReviewOptions) -> Passwords:
        return cls(PasswordHasher(time_cost=rs.argon2_time_cost, memory_cost=rs.argon2_memory_kib,
                                  parallelism=rs.argon2_parallelism))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; an absent hash (unknown or disabled user) costs the same time."""
        if password_hash is None:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_hex(16))
            password_hash = self._dummy
            real = False
        else:
            real = True
        try:
            return self.hasher.verify(password_hash, password) and real
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return False


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """A hash with ``hasher``, or with the configured parameters (``JIMU_REVIEW_ARGON2_*``)."""
    if hasher is None:
        from jimu.settings import get_settings

        return Passwords.from_settings(get_settings().review).hash(password)
    return hasher.hash(password)


def check_user_name(name: str) -> str:
    if not USER_NAME_RE.fullmatch(name):
        raise UserAdminError(
            "a user name is 1–64 characters: letters, digits, '.', '_' or '-' (starting with a letter or digit)",
            hint="Use a staff id such as 'op-0123' rather than a person's name.",
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserAdminError(f"unknown role {role!r}", hint=f"Use one of: {', '.join(ROLES)}.")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LEN:
        raise UserAdminError(f"the password is too short (at least {MIN_PASSWORD_LEN} characters)",
                             hint="Choose a longer password.")
    return password


def create_user(session: Session, name: str, role: str, password: str,
                hasher: PasswordHasher | None = None) -> User:
    check_user_name(name)
    check_role(role)
    check_password(password)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UserAdminError(f"a user named {name!r} already exists",
                             hint="Choose another name, or change its password with `jimu users passwd`.")
    user = User(name=name, role=role, password_hash=hash_password(password, hasher), active=True)
    session.add(user)
    session.flush()
    return user


def has_role(role: str, needed: str) -> bool:
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


# ------------------------------------------------------------------------------------------ sessions


@dataclass
class WebSession:
    token: str
    user_id: int
    user_name: str
    role: str
    csrf: str
    created: float
    last_seen: float
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) shown once
    skipped: set[str] = field(default_factory=set)  # document ids skipped in this session
    filters: dict[str, str] = field(default_factory=dict)  # the work list's last filters (ids only)
    checked: float = 0.0  # when the account was last checked to be active (monotonic)
    # crops of the review page this session just opened (normal fields only): served without a
    # database round trip while the page loads — (document id, {field pk: png}, expires monotonic)
    crops: tuple[str, dict[int, bytes], float] | None = None

    def flash(self, text: str, kind: str = "info") -> None:
        self.flashes.append((kind, text))

    def pop_flashes(self) -> list[tuple[str, str]]:
        out, self.flashes = self.flashes, []
        return out


class SessionStore:
    """In-process sessions with idle and absolute time-outs (thread-safe)."""

    def __init__(self, idle_s: float, max_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s, self.max_s, self.clock = idle_s, max_s, clock
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def create(self, user: User) -> WebSession:
        now = self.clock()
        s = WebSession(token=secrets.token_urlsafe(32), user_id=user.id, user_name=user.name, role=user.role,
                       csrf=secrets.token_urlsafe(32), created=now, last_seen=now)
        with self._lock:
            self._expire(now)
            self._sessions[s.token] = s
        return s

    def get(self, token: str | None) -> WebSession | None:
        if not token:
            return None
        now = self.clock()
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return None
            if now - s.last_seen > self.idle_s or now - s.created > self.max_s:
                del self._sessions[token]
                return None
            s.last_seen = now
            return s

    def delete(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(token, None)

    def delete_user(self, user_id: int) -> None:
        with self._lock:
            for t in [t for t, s in self._sessions.items() if s.user_id == user_id]:
                del self._sessions[t]

    def _expire(self, now: float) -> None:
        dead = [t for t, s in self._sessions.items() if now - s.last_seen > self.idle_s or now - s.created > self.max_s]
        for t in dead:
            del self._sessions[t]

    def __len__(self) -> int:
        return len(self._sessions)


def tokens_equal(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


# ------------------------------------------------------------------------------------------ rate limit


class LoginLimiter:
    """Failed logins per user name and per client address in a sliding window (in-process)."""

    def __init__(self, window_s: float, max_per_name: int, max_per_ip: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s, self.max_per_name, self.max_per_ip, self.clock = window_s, max_per_name, max_per_ip, clock
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked(self, name: str, ip: str) -> bool:
        now = self.clock()
        with self._lock:
            return (len(self._recent("n:" + name.lower(), now)) >= self.max_per_name
                    or len(self._recent("i:" + ip, now)) >= self.max_per_ip)

    def failed(self, name: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            self._recent("n:" + name.lower(), now).append(now)
            self._recent("i:" + ip, now).append(now)
            if len(self._fails) > 100_000:  # bound memory under a spray of random names
                for k in [k for k, q in self._fails.items() if not q]:
                    del self._fails[k]

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._fails.pop("n:" + name.lower(), None)

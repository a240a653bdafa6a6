"""Signing in and out of the review app: ``/``, ``/login`` (a double-submit CSRF token, attempts limited
per name and address), ``/logout``."""

from __future__ import annotations

import re
import secrets
from typing import Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from jimu.review.app import AppContext, CsrfRejected
from jimu.review.auth import CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE, WebSession, tokens_equal
from jimu.review.web import Posted, client_ip, csrf_form, ctx_of, current_user, redirect, render
from jimu.store import repo
from jimu.store.db import session_scope
from jimu.store.models import User

router = APIRouter()

SAFE_NEXT_RE: Final = re.compile(r"^/(?!/)[A-Za-z0-9/_.\-]*$")


@router.get("/")
def home(s: WebSession = Depends(current_user)) -> Response:
    return redirect("/worklist")


@router.get("/login")
def login_page(request: Request) -> Response:
    c = ctx_of(request)
    if c.sessions.get(request.cookies.get(SESSION_COOKIE)) is not None:
        return redirect("/worklist")
    token = secrets.token_urlsafe(32)
    nxt = request.query_params.get("next", "")
    response = render(request, "login.html", {"login_csrf": token, "next": nxt if SAFE_NEXT_RE.fullmatch(nxt) else "",
                                              "error": None}, None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=c.review.cookie_secure,
                        path="/login")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    c = ctx_of(request)
    form = await request.form()
    name = str(form.get("name") or "").strip()
    password = str(form.get("password") or "")
    nxt = str(form.get("next") or "")
    if not tokens_equal(request.cookies.get(LOGIN_COOKIE), str(form.get(CSRF_FIELD) or "")):
        raise CsrfRejected()
    ip = client_ip(request)

    def again(message: str, status: int) -> Response:
        response = render(request, "login.html", {"login_csrf": request.cookies.get(LOGIN_COOKIE),
                                                  "next": nxt if SAFE_NEXT_RE.fullmatch(nxt) else "",
                                                  "error": message}, None, status=status)
        return response

    if c.limiter.blocked(name, ip):
        return again("ログインの失敗が続いたため、しばらくログインできません。時間をおいてやり直してください", 429)
    user_id = await run_in_threadpool(_check_login, c, name, password)
    if user_id is None:
        c.limiter.failed(name, ip)
        return again("ユーザー名またはパスワードが違います", 401)
    c.limiter.succeeded(name)
    with session_scope(c.factory) as db:
        user = db.get(User, user_id)
        assert user is not None
        s = c.sessions.create(user)
        repo.append_audit(db, user.name, "user.login")
    c.sessions.delete(request.cookies.get(SESSION_COOKIE))
    response = redirect(nxt if nxt and SAFE_NEXT_RE.fullmatch(nxt) else "/worklist")
    response.set_cookie(SESSION_COOKIE, s.token, httponly=True, samesite="strict", secure=c.review.cookie_secure,
                        path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _check_login(c: AppContext, name: str, password: str) -> int | None:
    with session_scope(c.factory) as db:
        user = db.scalar(select(User).where(User.name == name)) if name else None
        ok = c.passwords.verify(user.password_hash if user is not None and user.active else None, password)
        if not ok or user is None:
            return None
        if c.passwords.needs_rehash(user.password_hash):
            user.password_hash = c.passwords.hash(password)
        return user.id


@router.post("/logout")
def logout(request: Request, p: Posted = Depends(csrf_form)) -> Response:
    c = ctx_of(request)
    c.sessions.delete(p.s.token)
    with session_scope(c.factory) as db:
        repo.append_audit(db, p.s.user_name, "user.logout")
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

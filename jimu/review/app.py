"""The review web app: FastAPI, server-rendered Jinja2 pages, a little plain JavaScript.

``create_app()`` builds the app against the same store as the batch (``Settings.database_url`` /
``data_dir``); ``jimu review serve`` runs it with uvicorn.  Everything (CSS, JS, fonts from the
system) is served locally; no CDN, no front-end build.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from jimu.review import index as review_index
from jimu.review.auth import LoginLimiter, Passwords, SessionStore
from jimu.review.entries import ensure_tables, purge_stale
from jimu.review.pageimage import PageRenderer
from jimu.review.service import ReviewProblem, jst
from jimu.settings import ReviewOptions, Settings, get_settings

log = logging.getLogger(__name__)

HERE: Final = Path(__file__).resolve().parent
TEMPLATES_DIR: Final = HERE / "templates"
STATIC_DIR: Final = HERE / "static"

CSP: Final = ("default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
              "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


@dataclass
class AppContext:
    settings: Settings
    review: ReviewOptions  # settings.review
    factory: sessionmaker[Session]
    sessions: SessionStore
    limiter: LoginLimiter
    templates: Jinja2Templates
    pages: PageRenderer
    static_version: str
    passwords: Passwords
    relay: DelayedRelay | None = None  # publishes approved records once the undo window has passed


class DelayedRelay:
    """One background thread that runs the outbox relay when the latest approval's undo window
    is over (approvals in a row share one run)."""

    def __init__(self, run: Callable[[], None]) -> None:
        self._run = run
        self._due: float | None = None
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, delay_s: float) -> None:
        with self._cv:
            self._due = max(self._due or 0.0, time.monotonic() + max(0.0, delay_s))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="jimu-review-relay", daemon=True)
                self._thread.start()
            self._cv.notify()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while self._due is not None and self._due > time.monotonic():
                    self._cv.wait(self._due - time.monotonic())
                if self._due is None:
                    self._thread = None
                    return
                self._due = None
            self._run()


class NotLoggedIn(Exception):
    """No valid session (→ redirect to the login page, or 401 for images, API calls and posts)."""


class NotAllowed(Exception):
    """Logged in, but the role may not do this (→ 403)."""


class CsrfRejected(Exception):
    """A post without the session's CSRF token (→ 403)."""


def _static_version() -> str:
    h = hashlib.sha256()
    for p in sorted(STATIC_DIR.glob("*")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def is_asset(request: Request) -> bool:
    return request.url.path.endswith(".png")


def error_page(request: Request, status: int, message: str) -> Response:
    if wants_json(request) or is_asset(request):
        return JSONResponse({"ok": False, "error": message}, status_code=status)
    ctx: AppContext = request.app.state.ctx
    return ctx.templates.TemplateResponse(request, "error.html", {"message": message, "status": status, "s": None},
                                          status_code=status)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotLoggedIn)
    async def _not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if request.method == "GET" and not wants_json(request) and not is_asset(request):
            path = request.url.path
            target = "/login" if path in ("/", "/login") else f"/login?next={path}"
            return RedirectResponse(target, status_code=303)
        return error_page(request, 401, "ログインしてください")

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, exc: NotAllowed) -> Response:
        return error_page(request, 403, "この操作をする権限がありません")

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        return error_page(request, 403, "画面の有効期限が切れました。ページを開き直してください")

    @app.exception_handler(ReviewProblem)
    async def _problem(request: Request, exc: ReviewProblem) -> Response:
        return error_page(request, exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "ページが見つかりません", 405: "この操作はできません"}
        return error_page(request, exc.status_code, messages.get(exc.status_code, "要求を処理できませんでした"))

    from starlette.requests import ClientDisconnect

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # the browser went away mid-request (closed, navigated, lost the network): nothing to tell it,
        # and nothing was done (its form was never read); one line in the log, no traceback
        logging.getLogger("jimu.review").info("a browser disconnected before its %s request was read",
                                               request.method)
        return Response(status_code=400)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_page(request, 400, "要求の形式が正しくありません")


@lru_cache(maxsize=1)
def _templates() -> Jinja2Templates:
    """One template environment per process (compiled templates are shared by every app instance)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.globals["static_version"] = _static_version()
    templates.env.filters["jst"] = jst
    return templates


def create_app(settings: Settings | None = None, *, factory: sessionmaker[Session] | None = None) -> FastAPI:
    """The review app against ``settings``' store (created/migrated when needed), with ``settings.review``."""
    from jimu.review import routes, web
    from jimu.store.db import init_db

    settings = settings or get_settings()
    rs = settings.review
    if factory is None:
        factory = init_db(settings)
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine):
        ensure_tables(bind)
    from jimu.store.db import session_scope

    with session_scope(factory) as s:
        purge_stale(s)
        review_index.reindex_stale(s)
    templates = _templates()
    ctx = AppContext(
        settings=settings,
        review=rs,
        factory=factory,
        sessions=SessionStore(rs.session_idle_s, rs.session_max_s),
        limiter=LoginLimiter(rs.login_window_s, rs.login_max_failures_per_name, rs.login_max_failures_per_ip),
        templates=templates,
        pages=PageRenderer(settings),
        static_version=str(templates.env.globals["static_version"]),
        passwords=Passwords.from_settings(rs),
    )
    ctx.relay = DelayedRelay(lambda: web.relay_outbox(ctx))
    app = FastAPI(title="Jimu review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in routes.ROUTERS:
        app.include_router(router)
    from jimu.review import form_editor

    app.include_router(form_editor.router)
    from jimu.review import handoff_routes

    app.include_router(handoff_routes.router)
    _install_handlers(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            response = await call_next(request)
        except Exception as exc:  # a bug: log where, never the message (it might quote a value)
            log.error("review app: unhandled %s on %s %s\n%s", type(exc).__name__, request.method,
                      request.url.path, "".join(traceback.format_tb(exc.__traceback__)))
            response = error_page(request, 500, "内部エラーが発生しました。管理者に連絡してください")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=86400"
        else:  # pages, crops and page images hold personal data: never cached
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


"""What every route of the review app uses: the logged-in user and CSRF-checked posts, rendering a page,
ids, filters and page numbers from a request, and publishing a record once it is delivered."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import BackgroundTasks, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from jimu.review import service
from jimu.review.app import AppContext, CsrfRejected, NotAllowed, NotLoggedIn
from jimu.review.auth import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, WebSession, has_role, tokens_equal
from jimu.review.pageimage import original_file
from jimu.review.service import Filters, NotFound, ReviewProblem
from jimu.store.db import session_scope
from jimu.store.models import Document, User

log = logging.getLogger(__name__)

FIELD_PK_RE: Final = re.compile(r"^[0-9]{1,18}$")
FILTER_RE: Final = re.compile(r"^[\w\-]{1,64}$")
USER_RECHECK_S: Final = 30.0


def ctx_of(request: Request) -> AppContext:
    c: AppContext = request.app.state.ctx
    return c


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_user(request: Request) -> WebSession:
    c = ctx_of(request)
    s = c.sessions.get(request.cookies.get(SESSION_COOKIE))
    if s is None:
        raise NotLoggedIn()
    if time.monotonic() - s.checked > USER_RECHECK_S:
        with session_scope(c.factory) as db:
            user = db.get(User, s.user_id)
            active, role = (user.active, user.role) if user is not None else (False, "")
        if not active:
            c.sessions.delete(s.token)
            raise NotLoggedIn()
        s.role = role
        s.checked = time.monotonic()
    return s


def supervisor_user(s: WebSession = Depends(current_user)) -> WebSession:
    if not has_role(s.role, "supervisor"):
        raise NotAllowed()
    return s


@dataclass
class Posted:
    s: WebSession
    form: dict[str, str]


async def csrf_form(request: Request, s: WebSession = Depends(current_user)) -> Posted:
    """The posted form of a logged-in user whose CSRF token matches (field or header)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD)
    if not tokens_equal(token, s.csrf):
        raise CsrfRejected()
    return Posted(s, fields)


async def csrf_json(request: Request, s: WebSession = Depends(current_user)) -> Posted:
    if not tokens_equal(request.headers.get(CSRF_HEADER), s.csrf):
        raise CsrfRejected()
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ReviewProblem("要求の形式が正しくありません") from None
    if not isinstance(body, dict):
        raise ReviewProblem("要求の形式が正しくありません")
    return Posted(s, {k: v for k, v in body.items() if isinstance(v, str)})


async def supervisor_form(request: Request, s: WebSession = Depends(supervisor_user)) -> Posted:
    return await csrf_form(request, s)


def render(request: Request, name: str, context: Mapping[str, Any], s: WebSession | None,
           status: int = 200) -> Response:
    c = ctx_of(request)
    data = {"s": s, "flashes": s.pop_flashes() if s else [], "csrf": s.csrf if s else "",
            "is_supervisor": bool(s and has_role(s.role, "supervisor")), **context}
    return c.templates.TemplateResponse(request, name, data, status_code=status)


def field_pk(value: str) -> int:
    if not FIELD_PK_RE.fullmatch(value):
        raise NotFound("項目が見つかりません")
    return int(value)


def posted_values(form: Mapping[str, str], prefix: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for k, v in form.items():
        if k.startswith(prefix) and FIELD_PK_RE.fullmatch(k[len(prefix):]):
            out[int(k[len(prefix):])] = v
    return out


def filters_from(request: Request) -> Filters:
    q = request.query_params

    def ok(name: str) -> str | None:
        v = q.get(name) or None
        return v if v is not None and FILTER_RE.fullmatch(v) else None

    return Filters(form=ok("form"), batch=ok("batch"), ward=ok("ward"), mine=q.get("mine") == "1")


def prefetch_pages(c: AppContext, db: Session, doc: Document, ahead: int = 2) -> None:
    """Render this document's page and the next ones' in the queue in the background."""
    c.pages.prefetch(original_file(doc.original_path, c.settings), doc.sha256, doc.form_id)
    for nxt in service.following(db, doc, ahead):
        c.pages.prefetch(original_file(nxt.original_path, c.settings), nxt.sha256, nxt.form_id)


def escalated_only_for_supervisors(doc: Document, s: WebSession) -> None:
    if doc.escalated_by and not has_role(s.role, "supervisor"):
        raise service.Forbidden("この書類は監督者に相談中です。監督者の回答を待ってください")


def page_number(request: Request) -> int:
    try:
        return max(1, min(100_000, int(request.query_params.get("page", "1"))))
    except ValueError:
        return 1


def page_available(c: AppContext, doc: Document) -> bool:
    return original_file(doc.original_path, c.settings) is not None


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def relay_outbox(c: AppContext) -> None:
    """Publish what the approval put in the outbox (runs after the response; failures leave it pending)."""
    from jimu.errors import JimuError
    from jimu.outbox import relay
    from jimu.queue import get_publisher

    try:
        publisher = get_publisher(c.settings)
        try:
            relay(c.factory, publisher)
        finally:
            publisher.close()
    except JimuError as e:
        log.info("outbox relay after approval did not finish: %s", type(e).__name__)


def after_delivery(c: AppContext, tasks: BackgroundTasks) -> None:
    """Publish the approved record: at once, or once the undo window is over (Alt+Z takes it back)."""
    if not c.review.relay_after_approve:
        return
    if c.review.undo_window_s > 0 and c.relay is not None:
        c.relay.schedule(c.review.undo_window_s)
    else:
        tasks.add_task(relay_outbox, c)

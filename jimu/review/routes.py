"""Routes of the review app.  URLs carry only ids (documents by id, fields by their numeric id).

Pages (GET, login required → otherwise a redirect to /login):
  /                                   → /worklist
  /login                              login form
  /worklist?form=&batch=&ward=        documents waiting for review, oldest first; counts per reason
  /next                               the oldest document this user can work on now
  /documents/{doc_id}                 review page / blind second entry page (by stage)
  /supervisor?days=                   throughput and corrections per operator; the mismatch queue  [supervisor]
  /supervisor/audit                   the audit log                                                [supervisor]
  /supervisor/documents/{doc_id}      decide a double-entry mismatch                               [supervisor]
Images (GET, login required → otherwise 401):
  /documents/{doc_id}/fields/{field_pk}/crop.png
  /documents/{doc_id}/page.png
Posts (login + CSRF token required → otherwise 401 / 403):
  /login, /logout
  /documents/{doc_id}/approve | /skip | /reject | /second-entry
  /supervisor/documents/{doc_id}/decide
  /api/documents/{doc_id}/fields/{field_pk}     JSON {"value": text}; header X-CSRF-Token
  /api/documents/{doc_id}/lock                  keep the lock while the page is open
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from jimu.review import handoffs, service
from jimu.review.app import AppContext, CsrfRejected, NotAllowed, NotLoggedIn
from jimu.review.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    WebSession,
    has_role,
    tokens_equal,
)
from jimu.review.entries import purge_stale
from jimu.review.pageimage import original_file
from jimu.review.service import Filters, NotFound, ReviewProblem
from jimu.store import repo
from jimu.store.db import session_scope
from jimu.store.models import Document, FieldValue, User, utcnow

router = APIRouter()
log = logging.getLogger(__name__)

FIELD_PK_RE: Final = re.compile(r"^[0-9]{1,18}$")
SAFE_NEXT_RE: Final = re.compile(r"^/(?!/)[A-Za-z0-9/_.\-]*$")
FILTER_RE: Final = re.compile(r"^[\w\-]{1,64}$")
USER_RECHECK_S: Final = 30.0
CROP_GRANT_S: Final = 60.0  # crops of a page just rendered are served from memory this long
KEYS: Final = [
    ("Enter", "この項目を確定して次の要確認項目へ"),
    ("Tab / Shift+Tab", "次の項目 / 前の項目"),
    ("Ctrl+Enter または F9", "書類を承認"),
    ("F8", "スキップ（次の書類へ）"),
    ("F4", "不備返戻（区役所へ戻す）"),
    ("Alt+H", "保留（しばらく後に回す）"),
    ("Alt+S", "監督者に相談"),
    ("Alt+Z", "直前の承認を取り消す（送信前のみ）"),
    ("F2", "ページ全体を横に表示／隠す（今の項目を枠で示す）"),
    ("Alt+↑ / Alt+↓", "ページを拡大／縮小（マウスのホイールでも）"),
    ("Alt+Shift+矢印", "ページを動かす（マウスでドラッグしても）"),
    ("Alt+0", "ページ全体に戻す"),
    ("Alt+A", "自動で受け付けた項目を開く／閉じる"),
    ("F1", "キー操作の一覧を表示／閉じる"),
    ("Esc", "ダイアログを閉じる"),
]
ENTRY_KEYS: Final = [
    ("Enter", "この項目を確定して次の項目へ"),
    ("Tab / Shift+Tab", "次の項目 / 前の項目"),
    ("Ctrl+Enter または F9", "入力を確定して送る"),
    ("F8", "スキップ（次の書類へ）"),
    ("F4", "不備返戻（区役所へ戻す）"),
    ("F2", "ページ全体を横に表示／隠す（今の項目を枠で示す）"),
    ("Alt+↑ / Alt+↓", "ページを拡大／縮小"),
    ("Alt+Shift+矢印", "ページを動かす"),
    ("F1", "キー操作の一覧を表示／閉じる"),
    ("Esc", "ダイアログを閉じる"),
]
DECIDE_KEYS: Final = [
    ("Enter", "この項目を確定して次の項目へ"),
    ("Tab / Shift+Tab", "次の項目 / 前の項目"),
    ("Alt+1 / Alt+2", "この項目に1人目／2人目の入力を採る（違う文字は黄色）"),
    ("Ctrl+Enter または F9", "判断を記録"),
    ("F4", "不備返戻（区役所へ戻す）"),
    ("F2", "ページ全体を横に表示／隠す（今の項目を枠で示す）"),
    ("Alt+↑ / Alt+↓", "ページを拡大／縮小"),
    ("F1", "キー操作の一覧を表示／閉じる"),
    ("Esc", "ダイアログを閉じる"),
]


# ------------------------------------------------------------------------------------------ helpers


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


# ------------------------------------------------------------------------------------------ login


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


# ------------------------------------------------------------------------------------------ work list


@router.get("/worklist")
def worklist(request: Request, s: WebSession = Depends(current_user)) -> Response:
    c = ctx_of(request)
    filters = filters_from(request)
    s.filters = filters.query()
    with session_scope(c.factory) as db:
        wl = service.work_list(db, filters, s.user_name, s.role, page_number(request), c.review.worklist_limit)
    return render(request, "worklist.html", {"wl": wl, "filters": filters, "stage_text": service.STAGE_TEXT,
                                             "query": filters.query()}, s)


@router.get("/next")
def next_doc(request: Request, s: WebSession = Depends(current_user)) -> Response:
    c = ctx_of(request)
    filters = Filters.from_query(s.filters)
    with session_scope(c.factory) as db:
        doc_id = service.next_document(db, filters, s.user_name, s.role, s.skipped)
    if doc_id is None:
        s.flash("いま作業できる書類はありません", "info")
        return redirect("/worklist")
    return redirect(f"/documents/{doc_id}")


# ------------------------------------------------------------------------------------------ review


def _entry_context(ev: service.EntryView, mode: str) -> dict[str, Any]:
    action = (f"/documents/{ev.doc.id}/second-entry" if mode == "second"
              else f"/supervisor/documents/{ev.doc.id}/decide")
    return {"e": ev, "doc": ev.doc, "form": ev.form, "keys": ENTRY_KEYS if mode == "second" else DECIDE_KEYS,
            "reject_reasons": service.REJECT_REASONS, "mode": mode, "action": action}


def _review_context(c: AppContext, view: service.ReviewView, s: WebSession) -> dict[str, Any]:
    return {"v": view, "doc": view.doc, "form": view.form, "keys": KEYS, "reject_reasons": service.REJECT_REASONS,
            "user": s.user_name}


@router.get("/documents/{doc_id}")
def document_page(request: Request, doc_id: str, s: WebSession = Depends(current_user)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc, form = service.load_review_document(db, doc_id)
        stage = service.document_stage(db, doc)
        escalated_only_for_supervisors(doc, s)
        if stage == "supervisor":
            if has_role(s.role, "supervisor"):
                return redirect(f"/supervisor/documents/{doc.id}")
            raise service.Forbidden("この書類は監督者の確認を待っています")
        if stage == "second" and s.user_name in service.first_operators(doc):
            raise service.Forbidden("この書類の最初の入力はあなたです。二重入力は別の担当者がします")
        service.take_lock(db, doc, s.user_name, c.review.lock_ttl_s)
        repo.append_audit(db, s.user_name, "review.open", document_id=doc.id, detail={"stage": stage})
        available = page_available(c, doc)
        prefetch_pages(c, db, doc)
        if stage == "second":
            ev = service.blind_view(doc, form, page_available=available)
            return render(request, "entry.html", _entry_context(ev, "second"), s)
        view = service.build_review_view(doc, form, page_available=available)
        _mark_confirmed(view, s.user_name)
        shown = {v.pk for b in view.blocks for v in b.fields}
        s.crops = (doc.id, {f.id: f.crop_png for f in doc.fields if f.id in shown and f.crop_png is not None
                            and f.sensitivity != "restricted"}, time.monotonic() + CROP_GRANT_S)
        _audit_shown(db, s.user_name, doc, view)
        return render(request, "review.html", _review_context(c, view, s), s)


def _audit_shown(db: Session, user: str, doc: Document, view: service.ReviewView) -> None:
    """Audit every restricted value a review page shows, whatever its status code."""
    shown = {v.pk for b in view.blocks for v in b.fields}
    service.audit_restricted_view(db, user, doc, [f for f in doc.fields if f.sensitivity == "restricted"
                                                  and f.id in shown], "value")


def _mark_confirmed(view: service.ReviewView, user: str, *, after_post: bool = False) -> None:
    for b in view.blocks:
        for f in b.fields:
            f_conf = (f.decided_by == user and not f.restricted) or (after_post and f.error is None and not b.failing)
            f.confirmed = f_conf


@router.post("/documents/{doc_id}/approve")
def approve(request: Request, doc_id: str, tasks: BackgroundTasks, p: Posted = Depends(csrf_form)) -> Response:
    c = ctx_of(request)
    s = p.s
    with session_scope(c.factory) as db:
        doc, form = service.load_review_document(db, doc_id)
        escalated_only_for_supervisors(doc, s)
        service.take_lock(db, doc, s.user_name, c.review.lock_ttl_s)
        posted = posted_values(p.form, "v")
        original = {f.id: service.display_value_of(f, form) for f in doc.fields}
        posted = {pk: t for pk, t in posted.items() if pk in service.decide_pks(doc) or original.get(pk) != t}
        confirmed = {int(x) for x in p.form.get("confirmed", "").split(",") if x.strip().isdigit()}
        result = service.approve(db, doc, form, posted, s.user_name, page_available=page_available(c, doc),
                                 confirmed=confirmed)
        if not result.ok:
            assert result.view is not None
            _mark_confirmed(result.view, s.user_name, after_post=True)
            _audit_shown(db, s.user_name, doc, result.view)  # the page again shows restricted values
            return render(request, "review.html", _review_context(c, result.view, s), s, status=422)
        handoffs.clear_escalation(db, doc, s.user_name, action="review.answer")
    if result.awaiting_second:
        s.flash("承認しました。個人番号・口座情報は別の担当者の二重入力を待ちます", "ok")
    elif result.duplicate_of:
        s.flash("承認しましたが、以前の書類と同じ内容のため重複として保留しました", "warn")
    else:
        s.flash("承認しました。記録を送信します", "ok")
        after_delivery(c, tasks)
    return redirect("/next")


@router.post("/documents/{doc_id}/skip")
def skip(request: Request, doc_id: str, p: Posted = Depends(csrf_form)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc = service.load_document(db, doc_id)
        service.skip(db, doc, p.s.user_name)
    p.s.skipped.add(doc.id)
    p.s.flash("スキップしました", "info")
    return redirect("/next")


@router.post("/documents/{doc_id}/reject")
def reject(request: Request, doc_id: str, p: Posted = Depends(csrf_form)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc, _form = service.load_review_document(db, doc_id)
        escalated_only_for_supervisors(doc, p.s)
        service.take_lock(db, doc, p.s.user_name, c.review.lock_ttl_s)
        service.reject(db, doc, p.s.user_name, p.form.get("code", ""), p.form.get("note", ""))
    p.s.flash("不備返戻にしました（区役所へ戻します）", "ok")
    return redirect("/next")


@router.post("/documents/{doc_id}/second-entry")
def second_entry(request: Request, doc_id: str, tasks: BackgroundTasks, p: Posted = Depends(csrf_form)) -> Response:
    c = ctx_of(request)
    s = p.s
    with session_scope(c.factory) as db:
        doc, form = service.load_review_document(db, doc_id)
        service.take_lock(db, doc, s.user_name, c.review.lock_ttl_s)
        result = service.second_entry(db, doc, form, posted_values(p.form, "e"), s.user_name,
                                      page_available=page_available(c, doc))
        if not result.ok:
            assert result.view is not None
            return render(request, "entry.html", _entry_context(result.view, "second"), s, status=422)
    if result.matched:
        s.flash("二重入力が一致しました。記録を送信します", "ok")
        after_delivery(c, tasks)
    else:
        s.flash("二重入力が一致しなかったため、監督者の確認に回しました", "warn")
    return redirect("/next")


# ------------------------------------------------------------------------------------------ images


def _image_document(db: Session, doc_id: str, s: WebSession) -> Document:
    """The document whose images this user may see: a supervisor any; an operator only one in
    review that they have open (they hold its lock), never at the supervisor stage, and not the
    blind second entry of a document they entered first."""
    doc = service.load_document(db, doc_id)
    if has_role(s.role, "supervisor"):
        return doc
    if doc.state != "review":
        raise NotFound("書類が見つかりません")
    stage = service.document_stage(db, doc)
    if stage == "supervisor":
        raise service.Forbidden("この書類は監督者の確認を待っています")
    if stage == "second" and s.user_name in service.first_operators(doc):
        raise service.Forbidden("この書類の最初の入力はあなたです。二重入力は別の担当者がします")
    if doc.lock_owner != s.user_name or doc.lock_expires is None or doc.lock_expires <= utcnow():
        raise service.Forbidden("この書類を開いている担当者だけが画像を見られます")
    return doc


@router.get("/documents/{doc_id}/fields/{field_id}/crop.png")
def crop(request: Request, doc_id: str, field_id: str, s: WebSession = Depends(current_user)) -> Response:
    c = ctx_of(request)
    pk = field_pk(field_id)
    if s.crops is not None and s.crops[0] == doc_id and time.monotonic() < s.crops[2]:
        data = s.crops[1].get(pk)
        if data is not None:  # this session's review page of this document was just rendered
            return Response(data, media_type="image/png")
    with session_scope(c.factory) as db:
        doc = _image_document(db, doc_id, s)
        f = db.scalar(select(FieldValue).where(FieldValue.id == pk, FieldValue.document_id == doc.id))
        if f is None:
            raise NotFound("項目が見つかりません")
        data = f.crop_png
        if data is None and f.crop_path:
            path = original_file(f.crop_path, c.settings)
            data = path.read_bytes() if path is not None else None
        if data is None:
            raise NotFound("この項目の画像はありません")
        if f.sensitivity == "restricted":
            service.audit_restricted_view(db, s.user_name, doc, [f], "crop")
    return Response(data, media_type="image/png")


@router.get("/documents/{doc_id}/page.png")
def page_image(request: Request, doc_id: str, s: WebSession = Depends(current_user)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc = _image_document(db, doc_id, s)
        path = original_file(doc.original_path, c.settings)
        sha, form_id = doc.sha256, doc.form_id
        if path is None:
            raise NotFound("ページ画像がありません")
        service.audit_page_view(db, s.user_name, doc)
    data = c.pages.get(path, sha, form_id)
    if data is None:
        raise NotFound("ページ画像を作れませんでした")
    return Response(data, media_type="image/png")


# ------------------------------------------------------------------------------------------ API


@router.post("/api/documents/{doc_id}/fields/{field_id}")
def api_save_field(request: Request, doc_id: str, field_id: str, p: Posted = Depends(csrf_json)) -> Response:
    c = ctx_of(request)
    pk = field_pk(field_id)
    with session_scope(c.factory) as db:
        doc, form = service.load_review_document(db, doc_id)
        if service.document_stage(db, doc) != "review":
            raise ReviewProblem("この書類は確認の段階ではありません")
        service.take_lock(db, doc, p.s.user_name, c.review.lock_ttl_s)
        result = service.save_field(db, doc, form, pk, p.form.get("value", ""), p.s.user_name)
    return JSONResponse({"ok": result.ok, "text": result.text, "error": result.error, "saved": result.saved})


@router.post("/api/documents/{doc_id}/lock")
def api_lock(request: Request, doc_id: str, p: Posted = Depends(csrf_json)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc, _form = service.load_review_document(db, doc_id)
        service.take_lock(db, doc, p.s.user_name, c.review.lock_ttl_s)
    return JSONResponse({"ok": True, "ttl_s": c.review.lock_ttl_s})


# ------------------------------------------------------------------------------------------ supervisor


@router.get("/supervisor")
def supervisor_home(request: Request, s: WebSession = Depends(supervisor_user)) -> Response:
    c = ctx_of(request)
    try:
        days = max(1, min(365, int(request.query_params.get("days", "1"))))
    except ValueError:
        days = 1
    since = utcnow() - dt.timedelta(days=days)
    with session_scope(c.factory) as db:
        purge_stale(db)
        stats = service.operator_stats(db, since)
        queue, waiting = service.supervisor_queue(db, page_number(request))
        backlog = service.backlog(db)
    return render(request, "supervisor.html", {"stats": stats, "queue": queue, "waiting": waiting, "days": days,
                                                 "backlog": backlog}, s)


@router.get("/me")
def my_stats(request: Request, s: WebSession = Depends(current_user)) -> Response:
    """An operator's own work: today (24 hours) and the last 7 days; nobody else's."""
    c = ctx_of(request)
    now = utcnow()
    with session_scope(c.factory) as db:
        periods = []
        for label, days in (("24時間", 1), ("7日間", 7)):
            mine = [st for st in service.operator_stats(db, now - dt.timedelta(days=days)) if st.name == s.user_name]
            periods.append((label, mine[0] if mine else service.OperatorStats(s.user_name)))
    return render(request, "me.html", {"periods": periods}, s)


@router.get("/supervisor/audit")
def audit_log(request: Request, s: WebSession = Depends(supervisor_user)) -> Response:
    c = ctx_of(request)
    q = request.query_params

    def ok(name: str, pattern: str = r"^[\w.\-]{1,64}$") -> str | None:
        v = q.get(name) or None
        return v if v is not None and re.fullmatch(pattern, v) else None

    before_s = ok("before", r"^[0-9]{1,18}$")
    actor, action = ok("actor"), ok("action")
    document_id = ok("document", service.DOC_ID_RE.pattern)
    with session_scope(c.factory) as db:
        rows = service.audit_rows(db, actor=actor, action=action, document_id=document_id,
                                  before=int(before_s) if before_s else None)
        repo.append_audit(db, s.user_name, "audit.view", detail={"actor": actor, "action": action,
                                                                  "document": document_id})
    return render(request, "audit.html", {"rows": rows, "actor": actor or "", "action": action or "",
                                          "document": document_id or ""}, s)


@router.get("/supervisor/documents/{doc_id}")
def decide_page(request: Request, doc_id: str, s: WebSession = Depends(supervisor_user)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc, form = service.load_review_document(db, doc_id)
        if service.document_stage(db, doc) != "supervisor":
            raise ReviewProblem("この書類は監督者の確認を待っていません")
        service.take_lock(db, doc, s.user_name, c.review.lock_ttl_s)
        repo.append_audit(db, s.user_name, "review.open", document_id=doc.id, detail={"stage": "supervisor"})
        ev = service.supervisor_view(db, doc, form, page_available=page_available(c, doc))
        service.audit_restricted_view(db, s.user_name, doc, [f for f in doc.fields if any(v.pk == f.id
                                                                                          for v in ev.fields)],
                                      "double_entry")
        return render(request, "entry.html", _entry_context(ev, "supervisor"), s)


@router.post("/supervisor/documents/{doc_id}/decide")
def decide(request: Request, doc_id: str, tasks: BackgroundTasks, p: Posted = Depends(supervisor_form)) -> Response:
    c = ctx_of(request)
    s = p.s
    with session_scope(c.factory) as db:
        doc, form = service.load_review_document(db, doc_id)
        service.take_lock(db, doc, s.user_name, c.review.lock_ttl_s)
        result = service.supervisor_decide(db, doc, form, posted_values(p.form, "d"), s.user_name,
                                           page_available=page_available(c, doc))
        if not result.ok:
            assert result.view is not None
            service.audit_restricted_view(db, s.user_name, doc, [f for f in doc.fields if any(
                v.pk == f.id for v in result.view.fields)], "double_entry")  # shown again: audited again
            return render(request, "entry.html", _entry_context(result.view, "supervisor"), s, status=422)
    if result.matched:
        s.flash("判断を記録しました。記録を送信します", "ok")
        after_delivery(c, tasks)
    else:
        s.flash("判断を記録しました", "ok")
    return redirect("/supervisor")

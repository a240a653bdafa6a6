"""A document under review: its page (the review page, or the blind second entry), approve, skip, reject,
the second entry, and the page's own calls (save a field, keep the lock)."""

from __future__ import annotations

import time
from typing import Any, Final

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from jimu.review import handoffs, service
from jimu.review.app import AppContext
from jimu.review.auth import WebSession, has_role
from jimu.review.service import ReviewProblem
from jimu.review.web import (
    Posted,
    after_delivery,
    csrf_form,
    csrf_json,
    ctx_of,
    current_user,
    escalated_only_for_supervisors,
    field_pk,
    page_available,
    posted_values,
    prefetch_pages,
    redirect,
    render,
)
from jimu.store import repo
from jimu.store.db import session_scope
from jimu.store.models import Document

router = APIRouter()

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


def entry_context(ev: service.EntryView, mode: str) -> dict[str, Any]:
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
            return render(request, "entry.html", entry_context(ev, "second"), s)
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
            return render(request, "entry.html", entry_context(result.view, "second"), s, status=422)
    if result.matched:
        s.flash("二重入力が一致しました。記録を送信します", "ok")
        after_delivery(c, tasks)
    else:
        s.flash("二重入力が一致しなかったため、監督者の確認に回しました", "warn")
    return redirect("/next")


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

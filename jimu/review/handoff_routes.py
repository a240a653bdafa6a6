"""Routes that hand a document on (:mod:`jimu.review.handoffs`): put aside, escalate, answer an
escalation, assign, unlock, and take back the last approval."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from jimu.outbox import holding_relay
from jimu.review import handoffs, service
from jimu.review.web import Posted, csrf_form, ctx_of, redirect, supervisor_form
from jimu.store.db import session_scope

router = APIRouter()


@router.post("/documents/{doc_id}/postpone")
def postpone(request: Request, doc_id: str, p: Posted = Depends(csrf_form)) -> Response:
    c = ctx_of(request)
    try:
        minutes = int(p.form.get("minutes", ""))
    except ValueError:
        minutes = 0
    with session_scope(c.factory) as db:
        doc, _form = service.load_review_document(db, doc_id)
        service.take_lock(db, doc, p.s.user_name, c.review.lock_ttl_s)
        handoffs.postpone(db, doc, p.s.user_name, minutes, p.form.get("reason", ""))
    p.s.flash(f"{minutes}分保留しました（その間はほかの書類を開きます）", "info")
    return redirect("/next")


@router.post("/documents/{doc_id}/escalate")
def escalate(request: Request, doc_id: str, p: Posted = Depends(csrf_form)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc, _form = service.load_review_document(db, doc_id)
        service.take_lock(db, doc, p.s.user_name, c.review.lock_ttl_s)
        handoffs.escalate(db, doc, p.s.user_name, p.form.get("reason", ""))
    p.s.flash("監督者に相談として回しました", "ok")
    return redirect("/next")


@router.post("/supervisor/documents/{doc_id}/return")
def return_to_operators(request: Request, doc_id: str, p: Posted = Depends(supervisor_form)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc, _form = service.load_review_document(db, doc_id)
        handoffs.clear_escalation(db, doc, p.s.user_name)
        service.release_lock(db, doc, p.s.user_name)
    p.s.flash("相談に答え、担当者の作業一覧に戻しました", "ok")
    return redirect("/supervisor")


@router.post("/supervisor/assign")
def assign(request: Request, p: Posted = Depends(supervisor_form)) -> Response:
    c = ctx_of(request)
    assignee = p.form.get("assignee") or None
    with session_scope(c.factory) as db:
        if p.form.get("batch"):
            n = handoffs.assign_batch(db, p.form["batch"], assignee, p.s.user_name)
        else:
            doc = service.load_document(db, p.form.get("doc", ""))
            n = handoffs.assign(db, [doc.id], assignee, p.s.user_name)
    who = f"{assignee} さん" if assignee else "担当なし"
    p.s.flash(f"{n}件を{who}に割り当てました", "ok")
    return redirect("/supervisor" if p.form.get("back") == "supervisor" else "/worklist")


@router.post("/supervisor/unlock")
def unlock(request: Request, p: Posted = Depends(supervisor_form)) -> Response:
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        doc = service.load_document(db, p.form.get("doc", ""))
        holder = handoffs.unlock(db, doc, p.s.user_name)
    p.s.flash(f"{holder} さんの作業中の印を外しました" if holder else "作業中の書類ではありませんでした", "ok")
    return redirect("/worklist")


@router.post("/reopen")
def reopen(request: Request, p: Posted = Depends(csrf_form)) -> Response:
    """Back to the last approved document, while its record still waits in the outbox."""
    c = ctx_of(request)
    with holding_relay(c.factory) as held:
        if not held:
            raise service.ReviewProblem("いま送信中です。数秒待ってからもう一度押してください")
        with session_scope(c.factory) as db:
            doc_id = handoffs.reopen(db, p.s.user_name)
    p.s.skipped.discard(doc_id)
    p.s.flash("直前の承認を取り消しました。直して、もう一度承認してください", "info")
    return redirect(f"/documents/{doc_id}")


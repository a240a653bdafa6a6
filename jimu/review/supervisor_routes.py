"""The supervisor's pages: figures per operator and the mismatch queue (``/supervisor``), the audit log,
and deciding a double-entry mismatch."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response

from jimu.review import service
from jimu.review.auth import WebSession
from jimu.review.document_routes import entry_context
from jimu.review.entries import purge_stale
from jimu.review.service import ReviewProblem
from jimu.review.web import (
    Posted,
    after_delivery,
    ctx_of,
    page_available,
    page_number,
    posted_values,
    redirect,
    render,
    supervisor_form,
    supervisor_user,
)
from jimu.store import repo
from jimu.store.db import session_scope
from jimu.store.models import utcnow

router = APIRouter()


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
        return render(request, "entry.html", entry_context(ev, "supervisor"), s)


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
            return render(request, "entry.html", entry_context(result.view, "supervisor"), s, status=422)
    if result.matched:
        s.flash("判断を記録しました。記録を送信します", "ok")
        after_delivery(c, tasks)
    else:
        s.flash("判断を記録しました", "ok")
    return redirect("/supervisor")

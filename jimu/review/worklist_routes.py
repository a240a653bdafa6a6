"""What an operator works on: the work list (``/worklist``), the next document (``/next``) and their own
figures (``/me``)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from jimu.review import service
from jimu.review.auth import WebSession
from jimu.review.service import Filters
from jimu.review.web import ctx_of, current_user, filters_from, page_number, redirect, render
from jimu.store.db import session_scope
from jimu.store.models import utcnow

router = APIRouter()


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

"""The images of a document: a field's crop and the whole page, only to the operator who has the
document open (and to supervisors)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from jimu.review import service
from jimu.review.auth import WebSession, has_role
from jimu.review.pageimage import original_file
from jimu.review.service import NotFound
from jimu.review.web import ctx_of, current_user, field_pk
from jimu.store.db import session_scope
from jimu.store.models import Document, FieldValue, utcnow

router = APIRouter()


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

"""The form editor (admin role): a city's own form definitions, edited over their blank.

``GET /forms`` lists the forms; ``GET /forms/{id}/edit`` shows the blank with every field's box
(``static/editor.js`` lets a person select a box, set its id, label, kind, required, validators
and sensitivity, move and resize it by mouse or keyboard, add and delete fields); the page posts
the definition to ``POST /api/forms/{id}``, which saves it only when it loads strictly (the same
loader as ``jimu forms``), over the YAML it came from. Jimu's own forms (``jimu/forms_schema/``) are
shown but not saved from here: they change in the repository, with a new version.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from jimu.errors import FormSchemaError
from jimu.forms_schema.loader import FORMS_DIR, clear_cache, load_all_forms, parse_form
from jimu.forms_schema.model import FormDefinition
from jimu.review.app import CsrfRejected, NotAllowed
from jimu.review.auth import CSRF_HEADER, WebSession, has_role, tokens_equal
from jimu.review.service import NotFound
from jimu.review.web import ctx_of, current_user, render
from jimu.store import repo
from jimu.store.db import session_scope

router = APIRouter()
PREVIEW_DPI = 100  # the blank as the editor shows it


def admin_user(s: WebSession = Depends(current_user)) -> WebSession:
    if not has_role(s.role, "admin"):
        raise NotAllowed()
    return s


def _form(form_id: str) -> FormDefinition:
    form = load_all_forms().get(form_id)
    if form is None:
        raise NotFound("その様式はありません")
    return form


def _yaml_path(form: FormDefinition) -> Path | None:
    return form.source_dir / f"{form.form_id}.yaml" if form.source_dir is not None else None


def editable(form: FormDefinition) -> bool:
    """A form from a city's own folder (``JIMU_FORMS_DIRS``), not one of Jimu's own."""
    p = _yaml_path(form)
    return p is not None and p.is_file() and p.resolve().parent != FORMS_DIR.resolve()


@router.get("/forms")
def forms_page(request: Request, s: WebSession = Depends(admin_user)) -> Response:
    forms = [{"id": f.form_id, "title": f.title, "version": f.version, "fields": len(f.fields),
              "editable": editable(f)} for f in load_all_forms().values()]
    return render(request, "forms.html", {"forms": forms}, s)


@router.get("/forms/{form_id}/edit")
def edit_page(request: Request, form_id: str, s: WebSession = Depends(admin_user)) -> Response:
    form = _form(form_id)
    p = _yaml_path(form) if editable(form) else None
    raw = yaml.safe_load(p.read_text(encoding="utf-8")) if p else json.loads(form.model_dump_json(exclude_defaults=True))
    return render(request, "form_editor.html", {
        "form": form, "editable": p is not None,
        # inside <script type="application/json">: no "<", ">" or "&" may close or open a tag
        "definition_json": json.dumps(raw, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("&", "\\u0026"),
        "page_mm": [form.page.width_mm, form.page.height_mm],
    }, s)


@router.get("/forms/{form_id}/blank.png")
def blank_png(form_id: str, s: WebSession = Depends(admin_user)) -> Response:
    from PIL import Image

    from jimu.extractors.templates import get_template

    img = Image.fromarray(get_template(_form(form_id)).image)  # the cached blank at WORK_DPI
    k = PREVIEW_DPI / 300
    img = img.resize((round(img.width * k), round(img.height * k)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@router.post("/api/forms/{form_id}")
async def save_form(request: Request, form_id: str, s: WebSession = Depends(admin_user)) -> Response:
    if not tokens_equal(request.headers.get(CSRF_HEADER), s.csrf):
        raise CsrfRejected()
    form = _form(form_id)
    if not editable(form):
        return JSONResponse({"ok": False, "error": "Jimu の標準様式はここでは保存できません（リポジトリで変更します）"},
                            status_code=403)
    try:
        data: Any = json.loads(await request.body() or b"{}")
    except ValueError:
        return JSONResponse({"ok": False, "error": "要求の形式が正しくありません"}, status_code=400)
    if not isinstance(data, dict) or data.get("form_id") != form_id:
        return JSONResponse({"ok": False, "error": "form_id を変えることはできません"}, status_code=422)
    path = _yaml_path(form)
    assert path is not None
    try:
        parse_form(data, path.name)  # strictly, as the loader does
    except FormSchemaError as e:
        return JSONResponse({"ok": False, "error": e.message}, status_code=422)
    text = (f"# {form_id}: saved from the form editor by {s.user_name}\n"
            + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=200))
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".yaml.tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    clear_cache()
    from jimu.extractors.templates import clear_caches

    clear_caches()
    c = ctx_of(request)
    with session_scope(c.factory) as db:
        repo.append_audit(db, s.user_name, "form.save", detail={"form_id": form_id, "fields": len(data.get("fields", []))})
    return JSONResponse({"ok": True, "fields": len(data.get("fields", []))})

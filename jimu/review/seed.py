"""Documents waiting for review, made without scanning: for tests, the benchmark and demos.

A form is filled with generated (fictitious) values and rendered with a handwriting-like font;
that page is kept as the document's original and every field's crop is cut out of it.  Some
fields are "misread" (a wrong value, low confidence), and the real accept/flag policy
(:func:`jimu.validators.policy.decide`) decides which fields are flagged and why, exactly as in the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from jimu.forms_schema import get_form
from jimu.forms_schema.model import Box, LeafField
from jimu.store import repo
from jimu.store.db import session_scope
from jimu.validators.policy import THRESHOLD_KINDS, FieldInput, Thresholds, decide

MISREAD_CONFIDENCE = 0.55
GOOD_CONFIDENCE = 0.9995
# demo review data: what reads well is accepted, the misreads are flagged (not a calibration)
SEED_THRESHOLDS = Thresholds(version="seed", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.99))


@dataclass(frozen=True)
class SeededDocument:
    id: str
    form_id: str
    truth: dict[str, Any]  # what the paper says (canonical)
    read: dict[str, Any]  # what the "OCR" proposes (canonical)
    flagged: list[str]  # field ids flagged for review, in form order
    reasons: dict[str, list[str]]


def misread(leaf: LeafField, value: Any, rng: random.Random) -> Any:
    """A plausible wrong reading of ``value`` (one character off, another option, another year)."""
    if value is None or value == "" or value == []:
        return value
    if leaf.kind in ("digits",) or (leaf.kind == "text" and leaf.charset):
        s = str(value)
        i = rng.randrange(len(s))
        return s[:i] + str((int(s[i]) + rng.randint(1, 8)) % 10) + s[i + 1 :] if s[i].isdigit() else s
    if leaf.kind == "date":
        d = dt.date.fromisoformat(str(value))
        return d.replace(day=min(28, d.day % 28 + 1)).isoformat()
    if leaf.kind == "single_choice":
        others = [o.id for o in leaf.options if o.id != value]
        return rng.choice(others) if others else value
    if leaf.kind == "checkbox":
        return not value
    if leaf.kind == "multi_choice":
        return sorted(set(value) ^ {leaf.options[0].id})
    s = str(value)
    similar = {"ン": "ソ", "シ": "ツ", "ソ": "ン", "ツ": "シ", "ロ": "口", "カ": "力", "エ": "工", "ニ": "二",
               "夕": "タ", "一": "ー", "田": "由", "子": "了", "本": "木", "川": "州", "大": "太", "市": "巾"}
    idx = [i for i, ch in enumerate(s) if ch in similar]
    i = rng.choice(idx) if idx else rng.randrange(len(s))
    return s[:i] + similar.get(s[i], "〇") + s[i + 1 :]


def _png(img: Image.Image, dpi: int | None = None) -> bytes:
    buf = io.BytesIO()
    if dpi:
        img.save(buf, format="PNG", compress_level=1, dpi=(dpi, dpi))
    else:
        img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _crop(page: Image.Image, box: Box, dpi: int, pad_mm: float = 1.0) -> bytes:
    k = dpi / 25.4
    x0, y0 = max(0, round((box.x - pad_mm) * k)), max(0, round((box.y - pad_mm) * k))
    x1, y1 = min(page.width, round((box.right + pad_mm) * k)), min(page.height, round((box.bottom + pad_mm) * k))
    return _png(page.crop((x0, y0, x1, y1)))


def seed_document(
    factory: sessionmaker[Session],
    data_dir: Path,
    *,
    form_id: str,
    seed: int,
    wrong: Mapping[str, Any] | None = None,
    n_misread: int = 0,
    batch_id: str | None = None,
    ward: str | None = "中央区",
    today: dt.date | None = None,
    dpi: int = 150,
    truth: Mapping[str, Any] | None = None,
) -> SeededDocument:
    """One document in state ``review``: its original page in ``data_dir/originals``, crops in the store.

    ``wrong`` maps field ids to the value the "OCR" proposes instead of the truth; ``n_misread``
    more fields (picked at random among the filled ones) get a :func:`misread` value.
    """
    from jimu.fixtures.fonts import font_path
    from jimu.fixtures.render import Hand, render_png
    from jimu.fixtures.values import sample_values

    today = today or dt.date.today()
    form = get_form(form_id)
    rng = random.Random(f"jimu-review-seed-{form_id}-{seed}")
    values: dict[str, Any] = dict(truth) if truth is not None else dict(sample_values(form, rng, today))
    leaves = {lf.id: lf for lf in form.leaf_fields()}
    read = dict(values)
    misread_ids = set((wrong or {}).keys())
    read.update(wrong or {})
    candidates = [fid for fid, v in values.items()
                  if fid not in misread_ids and v not in (None, "", [], False)
                  and leaves[fid].sensitivity == "normal" and leaves[fid].kind in ("text", "kana", "digits")]
    for fid in rng.sample(candidates, min(n_misread, len(candidates))):
        read[fid] = misread(leaves[fid], values[fid], rng)
        misread_ids.add(fid)

    page = render_png(form, values, dpi=dpi, hand=Hand(font=font_path("seto"), jitter=0.5, rng=rng))
    page_png = _png(page, dpi)
    sha = hashlib.sha256(page_png).hexdigest()
    original = f"originals/{sha[:2]}/{sha}.png"  # a storage key under the data folder (the default storage)
    (data_dir / original).parent.mkdir(parents=True, exist_ok=True)
    (data_dir / original).write_bytes(page_png)

    decision = decide(form, {fid: FieldInput(read.get(fid), MISREAD_CONFIDENCE if fid in misread_ids
                                             else GOOD_CONFIDENCE) for fid in leaves},
                      SEED_THRESHOLDS, today)
    with session_scope(factory) as s:
        if batch_id is None:
            batch_id = repo.create_batch(s, "/inbox/seed", trigger="manual").id
        doc, _created = repo.add_document(s, batch_id=batch_id, sha256=sha, source_name=f"scan_{seed:05d}.png",
                                          original_path=original, page_count=1, ward=ward,
                                          scanned_at=dt.datetime.now(dt.UTC))
        repo.set_document_state(s, doc, "extracting")
        repo.set_document_form(s, doc, form.form_id, form.version)
        repo.save_fields(s, doc, [
            repo.FieldInput(
                field_id=fid, kind=leaf.kind, value=read.get(fid),
                confidence=decision.fields[fid].confidence,
                status="flagged" if decision.fields[fid].status == "flagged" else "accepted",
                reasons=decision.fields[fid].reasons, crop_png=_crop(page, leaf.entry, dpi),
                sensitivity=leaf.sensitivity,
            )
            for fid, leaf in leaves.items()
        ])
        repo.set_document_state(s, doc, "review", reason="seeded for review")
        doc_id = doc.id
    flagged = [fid for fid in leaves if decision.fields[fid].status == "flagged"]
    return SeededDocument(id=doc_id, form_id=form_id, truth=values, read=read, flagged=flagged,
                          reasons={fid: decision.fields[fid].reasons for fid in flagged})

"""``jimu bench review-scale``: the review app's response times with a small and a large backlog.

A backlog of documents in review is written straight into a fresh store (no OCR: rows built from
the forms' own fields and the value sampler, two or three fields flagged per document, as routing
leaves them, review index included), then the work list, a deep page of it, ``/next``, the review
page and a cached page image are timed through the real app (in-process HTTP) against the small
and the large store in the same run.  The figures are medians; the ratio large ÷ small says
whether a response stays flat as the backlog grows, whatever the machine's speed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from jimu.forms_schema import get_form, load_all_forms
from jimu.settings import Settings
from jimu.store.models import Batch, Document, FieldValue, ReviewReason, dumps, utcnow

FORMS: Final = ("jumin_idou", "juminhyo_kofu", "inkan_toroku", "kodomo_iryohi", "kaigo_nintei")
WARDS: Final = ("中央区", "花見川区", "稲毛区", "若葉区", "緑区", "美浜区")
REASONS: Final = ("low_confidence", "low_confidence", "required_missing", "validator:postal_code")
TARGETS_MS: Final = {"worklist": 150.0, "worklist_deep": 150.0, "next": 150.0, "review_page": 100.0,
                     "page_image_cached": 50.0}


def build_backlog(factory: sessionmaker[Session], n: int, *, seed: int, batches: int = 20,
                  values_pool: int = 12) -> list[str]:
    """``n`` documents in review, written directly (Core inserts); their ids, oldest first."""
    from jimu.fixtures.values import sample_values
    from jimu.review.values import reason_words

    rng = random.Random(seed)
    known = set(load_all_forms())
    forms = [get_form(f) for f in FORMS if f in known]
    leaves = {f.form_id: f.leaf_fields() for f in forms}
    pool = {f.form_id: [sample_values(f, random.Random(seed * 1000 + i), dt.date(2026, 11, 20))
                        for i in range(values_pool)] for f in forms}
    now = utcnow()
    batch_ids = [str(uuid.uuid4()) for _ in range(batches)]
    doc_rows: list[dict[str, Any]] = []
    field_rows: list[dict[str, Any]] = []
    reason_rows: list[dict[str, Any]] = []
    for i in range(n):
        form = forms[i % len(forms)]
        values = pool[form.form_id][rng.randrange(values_pool)]
        doc_id = str(uuid.uuid4())
        leaf_list = [lf for lf in leaves[form.form_id] if lf.sensitivity != "restricted"]
        flagged = set(rng.sample([lf.id for lf in leaf_list], k=min(len(leaf_list), rng.choice((2, 2, 3)))))
        words: dict[str, int] = {}
        for lf in leaves[form.form_id]:
            is_flagged = lf.id in flagged
            reasons = [rng.choice(REASONS)] if is_flagged else []
            for r in reasons:
                w = reason_words(r, form)
                words[w] = words.get(w, 0) + 1
            field_rows.append({
                "document_id": doc_id, "field_id": lf.id, "kind": lf.kind, "value_json": dumps(values.get(lf.id)),
                "confidence": rng.uniform(0.3, 0.8) if is_flagged else rng.uniform(0.95, 1.0),
                "status": "flagged" if is_flagged else "accepted", "reasons_json": dumps(reasons),
                "source": "ocr", "sensitivity": lf.sensitivity,
                # restricted fields are never flagged here and carry no first entry: every document
                # is at the operators' stage (review), as routing leaves it
            })
        doc_rows.append({
            "id": doc_id, "batch_id": batch_ids[i % batches], "sha256": f"bench-{doc_id}", "file_sha256": "0" * 64,
            "source_name": f"scan-{i:05d}.png", "page_count": 1, "ward": WARDS[i % len(WARDS)],
            "form_id": form.form_id, "form_version": form.version, "state": "review", "record_id": str(uuid.uuid4()),
            "record_version": 0, "created_at": now - dt.timedelta(seconds=n - i), "updated_at": now,
            "review_stage": "review", "review_flagged": len(flagged),
        })
        reason_rows += [{"document_id": doc_id, "words": w, "fields": k} for w, k in words.items()]
    with factory() as s:
        s.execute(insert(Batch), [{"id": b, "source_path": "bench", "trigger": "manual", "state": "finished",
                                   "created_at": now, "n_files": 0, "n_documents": 0} for b in batch_ids])
        for rows, table in ((doc_rows, Document), (field_rows, FieldValue), (reason_rows, ReviewReason)):
            for k in range(0, len(rows), 5000):
                s.execute(insert(table), rows[k:k + 5000])
        s.commit()
    return [r["id"] for r in doc_rows]


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: templates compiled, caches filled
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


@contextmanager
def _app(data_dir: Path, n: int, seed: int, database_url: str | None) -> Iterator[tuple[Any, list[str], str | None]]:
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from jimu.review.app import create_app
    from jimu.review.auth import create_user
    from jimu.review.seed import seed_document
    from jimu.settings import ReviewOptions
    from jimu.store.db import dispose_engines, init_db, session_scope

    review = ReviewOptions(relay_after_approve=False, argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1)
    settings = Settings(data_dir=data_dir, database_url=database_url, queue_url=None, review=review)
    factory = init_db(settings)
    with session_scope(factory) as s:
        create_user(s, "bench", "operator", "bench-password-1", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    ids = build_backlog(factory, n, seed=seed)
    with_page = seed_document(factory, data_dir, form_id="jumin_idou", seed=seed, n_misread=2).id
    app = create_app(settings, factory=factory)
    try:
        with TestClient(app) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
            r = c.post("/login", data={"name": "bench", "password": "bench-password-1",
                                       "csrf_token": token.group(1) if token else ""}, follow_redirects=False)
            if r.status_code != 303:
                raise RuntimeError(f"bench login failed: {r.status_code}")
            yield c, ids, with_page
    finally:
        dispose_engines()


def measure(data_dir: Path, n: int, *, seed: int, repeat: int = 15, database_url: str | None = None) -> dict[str, float]:
    """Median milliseconds of each response with ``n`` documents in review."""
    with _app(data_dir, n, seed, database_url) as (c, ids, with_page):
        def ok(path: str, status: int = 200) -> Callable[[], Any]:
            def call() -> Any:
                r = c.get(path, follow_redirects=False)
                if r.status_code != status:
                    raise RuntimeError(f"{path}: {r.status_code}")
                return r
            return call

        deep = max(1, (n // 50) - 1)
        c.get(f"/documents/{with_page}")  # opens it (lock) and renders its page in the background
        out = {
            "worklist": _median_ms(ok("/worklist"), repeat),
            "worklist_deep": _median_ms(ok(f"/worklist?page={deep}"), repeat),
            "next": _median_ms(ok("/next", 303), repeat),
            "review_page": _median_ms(ok(f"/documents/{ids[len(ids) // 2]}"), repeat),
            "page_image_cached": _median_ms(ok(f"/documents/{with_page}/page.png"), repeat),
        }
    return out


def run(out_dir: Path, *, small: int = 100, large: int = 10_000, seed: int = 907, repeat: int = 15,
        database_url: str | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    a = measure(out_dir / f"small-{small}", small, seed=seed, repeat=repeat, database_url=None)
    b = measure(out_dir / f"large-{large}", large, seed=seed, repeat=repeat, database_url=None)
    rows = {k: {"ms_small": round(a[k], 1), "ms_large": round(b[k], 1), "ratio": round(b[k] / a[k], 2),
                "target_ms": TARGETS_MS[k], "meets_target": b[k] < TARGETS_MS[k]} for k in a}
    return {"bench": "review-scale", "small": small, "large": large, "seed": seed, "repeat": repeat,
            "store": "sqlite (embedded default)", "responses": rows, "seconds": round(time.perf_counter() - t0, 1)}


def write(result: dict[str, Any], path: Path) -> None:
    from jimu.bench.metrics import provenance

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**result, "provenance": provenance([], [])}, ensure_ascii=False, indent=2) + "\n")


def index_matches(session: Session) -> list[str]:
    """Documents whose stored review index differs from one computed from their fields (empty: all agree)."""
    from jimu.review import index

    wrong = []
    for doc_id, stage in session.execute(select(Document.id, Document.review_stage)).all():
        index.refresh(session, doc_id)
        d = session.get(Document, doc_id)
        if d is not None and d.review_stage != stage:
            wrong.append(doc_id)
    session.rollback()
    return wrong

"""The batch pipeline end to end on the embedded defaults: real Tesseract, SQLite store and queue."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from jimu.pipeline.batch import run_batch_plain
from jimu.pipeline.views import batch_view
from jimu.settings import get_settings
from tests.pipeline_helpers import SAMPLES as SAMPLES_DIR
from tests.pipeline_helpers import copy_sample, drain_queue, isolated_settings
from tests.resources import bad_inputs

GOOD = {
    "中央区": ["inkan_toroku_clean_s424242_0000.png", "juminhyo_kofu_office_s424242_0000.jpg"],
    "美浜区": ["kaigo_nintei_poor_s424242_0000.jpg", "kodomo_iryohi_clean_s424242_0000.png"],
    "緑区": ["feeder_all_office_s4242_3.tif", "kodomo_iryohi_pc_s4243_0000.pdf"],
}
BAD_KINDS = sorted(k for k, v in bad_inputs.KINDS.items())
OK_KINDS = ["jpeg_named_tif", "pdf_owner_password_only", "png_named_jpg"]  # tricky but fine: read, not quarantined
QUARANTINED_KINDS = [k for k in BAD_KINDS if k not in OK_KINDS]


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("pipe")
    # accept-all thresholds, so that forms nothing else flags reach the queue (the shipped calibration
    # may send every field of these few samples to review, and the queue checks would check nothing)
    from jimu.validators.policy import THRESHOLD_KINDS

    thresholds = root / "accept-all.json"
    thresholds.write_text(json.dumps({"version": "accept-all", "thresholds": dict.fromkeys(THRESHOLD_KINDS, 0.0)}))
    isolated_settings(mp, root / "data", JIMU_PDF_TIMEOUT_S="4", JIMU_PDF_MEMORY_MB="400",
                      JIMU_THRESHOLDS_FILE=str(thresholds))
    inbox = root / "inbox"
    for ward, names in GOOD.items():
        for n in names:
            copy_sample(n, inbox / ward)
    expected_bad = {}
    for kind in BAD_KINDS:
        item = bad_inputs.make(kind, inbox / "花見川区" / kind)
        expected_bad[item.path.name] = item
    _tricky_pages(inbox / "稲毛区")
    first = run_batch_plain(inbox, workers=2)
    messages_first = drain_queue()
    second = run_batch_plain(inbox, workers=2)
    messages_second = drain_queue()
    view = batch_view(first.batch_id)
    yield {"first": first, "second": second, "view": view, "bad": expected_bad, "messages": messages_first,
           "messages_second": messages_second, "settings": get_settings(),
           "same_bytes": _same_bytes([item.path for item in expected_bad.values()])}
    mp.undo()
    get_settings.cache_clear()


def test_every_document_reaches_one_final_state(batch_run: dict) -> None:
    finals = {"review", "accepted", "delivered", "quarantined", "duplicate"}
    states = Counter(d["state"] for d in batch_run["view"]["documents"])
    assert set(states) <= finals, states
    first = batch_run["first"]
    # identical bytes under two names are one document (the second is "already processed")
    assert first.new == len(batch_run["view"]["documents"])
    assert first.documents == first.new + first.skipped


def _same_bytes(paths: list[Path]) -> dict[str, set[str]]:
    """File name → the names of the files with the same bytes (itself included); sizes first (one is huge)."""
    import hashlib

    def digest(p: Path) -> str:
        h = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()

    by_size: dict[int, list[Path]] = {}
    for p in paths:
        by_size.setdefault(p.stat().st_size, []).append(p)
    out: dict[str, set[str]] = {}
    for group in by_size.values():
        keys = {p: digest(p) for p in group} if len(group) > 1 else {group[0]: ""}
        for p, k in keys.items():
            out[p.name] = {q.name for q, kq in keys.items() if kq == k}
    return out


def test_good_scans_are_read_not_quarantined(batch_run: dict) -> None:
    docs = [d for d in batch_run["view"]["documents"] if d["source_name"] not in batch_run["bad"]]
    assert len(docs) == 5 + 3 + 2  # five single forms, three in the feeder TIFF, upside-down scan, letter
    forms = [d for d in docs if d["source_name"] != "letter.png"]
    assert [(d["source_name"], d["quarantine"]) for d in forms if d["state"] == "quarantined"] == []
    assert [d["source_name"] for d in forms if d["form_id"] is None] == []
    by_name = {d["source_name"]: d for d in docs}
    assert by_name["inkan_toroku_clean_s424242_0000.png"]["ward"] == "中央区"
    assert by_name["kodomo_iryohi_clean_s424242_0000.png"]["ward"] == "美浜区"


def _bad(batch_run: dict, kind: str) -> bad_inputs.BadInput:
    (item,) = [v for v in batch_run["bad"].values() if v.kind == kind]
    return item


def test_the_tricky_but_fine_kinds_are_the_ones_expected_to_load(batch_run: dict) -> None:
    assert sorted(v.kind for v in batch_run["bad"].values() if v.expected == "ok") == OK_KINDS
    assert sorted(v.kind for v in batch_run["bad"].values()) == BAD_KINDS


@pytest.mark.parametrize("kind", OK_KINDS)
def test_a_tricky_but_fine_input_is_read(batch_run: dict, kind: str) -> None:
    item = _bad(batch_run, kind)
    docs = [d for d in batch_run["view"]["documents"] if d["source_name"] == item.path.name]
    assert docs, f"{kind}: no document recorded"
    # read like any scan: what is not one of Jimu's forms is quarantined as such, for no other reason
    assert [d["quarantine"] for d in docs if d["state"] == "quarantined" and d["quarantine"]["code"] != "unknown_form"
            ] == []


@pytest.mark.parametrize("kind", QUARANTINED_KINDS)
def test_bad_input_is_quarantined_with_a_readable_reason(batch_run: dict, kind: str) -> None:
    item = _bad(batch_run, kind)
    # files with the same bytes (two PDF bombs) are one document, recorded under one of their names
    names = batch_run["same_bytes"][item.path.name]
    docs = [d for d in batch_run["view"]["documents"] if d["source_name"] in names]
    assert len(docs) == 1, f"{kind}: {len(docs)} documents for the files {sorted(names)}"
    (d,) = docs
    assert d["state"] == "quarantined"
    q = d["quarantine"]
    assert q["code"] == item.expected.reason_code
    assert len(q["message"]) > 20 and "Traceback" not in q["message"]


def _tricky_pages(folder: Path) -> None:
    """An upside-down scan (must be read) and a page of another document (must be quarantined)."""
    from PIL import Image, ImageDraw, ImageFont

    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(SAMPLES_DIR / "juminhyo_kofu_office_s424242_0000.jpg") as im:
        im.rotate(180).save(folder / "upside_down.jpg", quality=90, dpi=(300, 300))
    letter = Image.new("L", (2480, 3508), 255)
    d = ImageDraw.Draw(letter)
    font = ImageFont.truetype("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf", 48)
    d.text((200, 200), "お知らせ", font=font, fill=0)
    for i in range(40):
        d.text((200, 400 + i * 70), "拝啓 時下ますますご清栄のこととお慶び申し上げます。" * 1, font=font, fill=0)
    letter.save(folder / "letter.png", dpi=(300, 300))


def test_upside_down_scan_is_read_and_other_documents_are_quarantined(batch_run: dict) -> None:
    by_name = {d["source_name"]: d for d in batch_run["view"]["documents"]}
    assert by_name["upside_down.jpg"]["form_id"] == "juminhyo_kofu"
    assert by_name["upside_down.jpg"]["state"] != "quarantined"
    letter = by_name["letter.png"]
    assert letter["state"] == "quarantined" and letter["quarantine"]["code"] == "unknown_form"
    assert "does not match" in letter["quarantine"]["message"]


def test_second_run_adds_nothing_and_delivers_nothing_twice(batch_run: dict) -> None:
    second = batch_run["second"]
    assert second.new == 0
    assert second.files == 0 and second.documents == 0  # the ledger: files already read are not read again
    assert batch_run["messages_second"] == []
    ids = [m["record_id"] for m in batch_run["messages"]]
    assert len(ids) == len(set(ids))
    accepted = [d for d in batch_run["view"]["documents"] if d["state"] in ("accepted", "delivered")]
    assert accepted and len(ids) == len(accepted)
    assert sorted(ids) == sorted(d["record_id"] for d in accepted)


def _schema_problem(message: dict) -> str | None:
    from jimu.errors import InvalidMessageError
    from jimu.queue.message import validate_record_message

    try:
        validate_record_message(message)
    except InvalidMessageError as e:
        return e.message
    return None


def test_queue_messages_carry_no_image_and_match_the_schema(batch_run: dict) -> None:
    messages = batch_run["messages"]
    assert len(messages) >= 5  # the forms nothing flagged
    assert [(m["record_id"], p) for m in messages if (p := _schema_problem(m)) is not None] == []
    assert [m["record_id"] for m in messages if "crop" in json.dumps(m)] == []


def test_rescan_of_the_same_paper_is_held_as_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same form and values, different bytes (re-encoded) → the second is flagged as a likely rescan."""
    from PIL import Image

    isolated_settings(monkeypatch, tmp_path / "data")
    inbox = tmp_path / "inbox"
    src = copy_sample("inkan_toroku_clean_s424242_0000.png", inbox / "a")
    with Image.open(src) as im:
        im.save(inbox / "a" / "rescan.png", optimize=True, compress_level=1)  # different bytes, same pixels
    run_batch_plain(inbox, workers=1)
    states = sorted(d["state"] for d in batch_view(_last_batch())["documents"])
    assert "duplicate" in states
    assert len([s for s in states if s == "duplicate"]) == 1
    get_settings.cache_clear()


def _last_batch() -> str:
    from sqlalchemy import select

    from jimu.store.db import init_db, session_scope
    from jimu.store.models import Batch

    with session_scope(init_db(get_settings())) as s:
        return s.scalars(select(Batch.id).order_by(Batch.created_at.desc()).limit(1)).one()

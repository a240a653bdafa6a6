"""Field readers (jimu.extractors.readers) on rendered, scanned and registered forms, and their helpers.

Pages are rendered with hand-made values (``jimu.fixtures.render.render_png``), degraded by the scan
simulator (clean, office, poor with a red seal placed where a test wants it, and the handwriting
font) and registered onto the template, so every reader sees what it sees in production.

Beyond "reads the right value", the property that matters most is *honesty*: a reading is either
right or its confidence is below the auto-accept range (0.9 here), on every tier.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest

from jimu.extractors.crops import TextInkParams, paper_level, suppress_mid_gray, text_ink
from jimu.extractors.digit_classifier import DigitClassifier
from jimu.extractors.engines import get_engine
from jimu.extractors.marks import classify_score, mark_score
from jimu.extractors.readers import FieldReading, ReadContext, read_checkbox, read_field
from jimu.extractors.register import register_page, to_gray
from jimu.extractors.templates import dropout_mask
from jimu.extractors.text_cleanup import (
    TextEvidence,
    charset_class,
    clean_text,
    fix_lookalikes,
    implausible_chars,
    length_fit,
    text_confidence,
)
from jimu.extractors.types import PX_PER_MM, Page
from jimu.fixtures.fonts import font_path
from jimu.fixtures.render import Hand, render_png
from jimu.fixtures.scan import simulate_scan
from jimu.forms_schema import get_form
from jimu.forms_schema.model import Box, LeafField
from jimu.validators.normalize import normalize

ACCEPT = 0.9  # a wrong value must never reach this confidence

INKAN: dict[str, Any] = {
    "apply_date": "2026-11-18", "address": "千葉市中央区春日1丁目8番28号", "name": "西田英樹", "kana": "ニシダヒデキ",
    "birth_date": "1969-05-11", "sex": "male", "phone": "09040639227", "method": "honnin", "id_document": "other",
    "agent_name": None, "agent_phone": None, "agent_address": None,
}
KOFU: dict[str, Any] = {
    "request_date": "2026-11-20", "address": "千葉市花見川区こてはし台3-11-9", "name": "松岡順子",
    "kana": "マツオカジュンコ", "birth_date": "1988-04-05", "phone": "08031307357", "relation": "honnin",
    "target_name": None, "target_address": None, "copies": "1", "scope": "ichibu", "cert_copies": None,
    "items": ["honseki", "zokugara"], "purpose": "passport", "purpose_other": None, "id_document": "mynumber_card",
}
VALUES = {"inkan_toroku": INKAN, "juminhyo_kofu": KOFU}

# (quality, handwriting, field the seal is stamped over)
TIERS = {
    "clean": ("clean", False, None),
    "office": ("office", False, None),
    "poor-seal-on-empty": ("poor", False, "agent_name"),
    "poor-seal-on-options": ("poor", False, "sex"),
    "handwritten": ("office", True, None),
}


@dataclass(frozen=True)
class Scanned:
    ctx: ReadContext
    sealed: bool


@cache
def scanned(form_id: str, tier: str, seed: int = 7) -> Scanned:
    quality, handwritten, seal_on = TIERS[tier]
    form = get_form(form_id)
    rng = random.Random(seed)
    hand = Hand(font=font_path("seto"), jitter=1.0, rng=rng) if handwritten else Hand(font=font_path("mincho"), rng=rng)
    page = render_png(form, VALUES[form_id], dpi=300, hand=hand)
    seal = None
    if seal_on:
        leaf = next((lf for lf in form.leaf_fields() if lf.id == seal_on), form.leaf_fields()[0])
        e = leaf.entry
        seal = [(round(e.x * PX_PER_MM), round(e.y * PX_PER_MM), round((e.x + 30) * PX_PER_MM),
                 round(e.bottom * PX_PER_MM))]
    scan = simulate_scan(page, quality, rng, seal_boxes_px=seal)  # type: ignore[arg-type]
    reg = register_page(Page(image=to_gray(np.asarray(scan.image)), dpi=scan.dpi, page_no=0))
    assert reg.form_id == form_id
    ctx = ReadContext(reg.image, dropout_mask(form_id), get_engine(), DigitClassifier.load())
    return Scanned(ctx, scan.seal_bbox is not None)


def read(form_id: str, tier: str, field_id: str) -> tuple[FieldReading, Any, float]:
    s = scanned(form_id, tier)
    leaf = get_form(form_id).leaf(field_id)
    r = read_field(s.ctx, leaf)
    n = normalize(leaf, r.raw, r.confidence)
    return r, n.value, n.confidence


def same(value: Any, truth: Any) -> bool:
    if truth in (None, [], "") and value in (None, [], ""):
        return True
    return bool(value == truth)


# --------------------------------------------------------------------------------------------------
# every field of every tier: right, or not confident


@pytest.mark.parametrize("tier", list(TIERS))
@pytest.mark.parametrize("form_id", list(VALUES))
def test_every_field_is_right_or_unsure(form_id: str, tier: str) -> None:
    wrong_but_sure = []
    for leaf in get_form(form_id).leaf_fields():
        r, value, conf = read(form_id, tier, leaf.id)
        if not same(value, VALUES[form_id].get(leaf.id)) and conf >= ACCEPT:
            wrong_but_sure.append((leaf.id, r.raw, value, conf))
    assert not wrong_but_sure


def test_the_seals_landed_where_asked() -> None:
    assert scanned("inkan_toroku", "poor-seal-on-empty").sealed
    assert scanned("inkan_toroku", "poor-seal-on-options").sealed


# --------------------------------------------------------------------------------------------------
# per kind


@pytest.mark.parametrize("tier", ["clean", "office", "poor-seal-on-empty", "poor-seal-on-options"])
@pytest.mark.parametrize("field_id", ["address", "name", "phone"])
def test_text_is_read(tier: str, field_id: str) -> None:
    r, value, conf = read("inkan_toroku", tier, field_id)
    assert value == INKAN[field_id]
    assert conf >= ACCEPT
    assert len(r.char_confidences) == len(r.raw)  # per character, for snapping and review


@pytest.mark.parametrize("tier", ["clean", "office", "poor-seal-on-empty"])
def test_kana_is_read(tier: str) -> None:
    r, value, conf = read("inkan_toroku", tier, "kana")
    assert value == "ニシダヒデキ"
    assert conf >= ACCEPT
    assert len(r.char_confidences) == len(r.raw) == 6


@pytest.mark.parametrize("tier", list(TIERS))
def test_boxed_digits(tier: str) -> None:
    _, value, conf = read("juminhyo_kofu", tier, "copies")
    assert value == "1" and conf >= ACCEPT
    _, value, conf = read("juminhyo_kofu", tier, "cert_copies")  # empty boxes
    assert value is None and conf >= ACCEPT


@pytest.mark.parametrize("tier", list(TIERS))
@pytest.mark.parametrize(("form_id", "field_id"), [("inkan_toroku", "apply_date"), ("inkan_toroku", "birth_date"),
                                                   ("juminhyo_kofu", "birth_date")])
def test_dates(tier: str, form_id: str, field_id: str) -> None:
    r, value, conf = read(form_id, tier, field_id)
    assert value == VALUES[form_id][field_id]
    assert conf >= ACCEPT
    assert r.problem is None


@pytest.mark.parametrize("tier", list(TIERS))
@pytest.mark.parametrize(("form_id", "field_id"), [
    ("inkan_toroku", "sex"),  # circle
    ("inkan_toroku", "method"),  # tick
    ("inkan_toroku", "id_document"),  # tick, four options
    ("juminhyo_kofu", "scope"),  # circle
    ("juminhyo_kofu", "items"),  # multi choice, ticks
])
def test_choices(tier: str, form_id: str, field_id: str) -> None:
    r, value, conf = read(form_id, tier, field_id)
    assert value == VALUES[form_id][field_id]
    assert conf >= ACCEPT
    assert "unsure" not in r.marks.values()


def checkbox_over_first_option(form_id: str, field_id: str) -> LeafField:
    """A check-box leaf whose square is the first tick square of a tick-style choice (no form has one)."""
    leaf = get_form(form_id).leaf(field_id)
    e = leaf.entry
    return leaf.model_copy(update={"id": "cb", "kind": "checkbox", "options": [],
                                   "entry": Box(x=e.x + 0.5, y=e.y, w=e.w - 0.5, h=e.h)})


@pytest.mark.parametrize("tier", list(TIERS))
def test_checkbox(tier: str) -> None:
    ctx = scanned("inkan_toroku", tier).ctx
    ticked = read_checkbox(ctx, checkbox_over_first_option("inkan_toroku", "method"))  # honnin: ticked
    assert ticked.raw is True and ticked.confidence >= ACCEPT and ticked.problem is None
    blank = read_checkbox(ctx, checkbox_over_first_option("inkan_toroku", "id_document"))  # mynumber_card: not
    assert blank.raw is False and blank.confidence >= ACCEPT


@pytest.mark.parametrize("tier", list(TIERS))
@pytest.mark.parametrize(("form_id", "field_id"), [
    ("inkan_toroku", "agent_name"), ("inkan_toroku", "agent_phone"), ("inkan_toroku", "agent_address"),
    ("juminhyo_kofu", "target_name"), ("juminhyo_kofu", "purpose_other"),
])
def test_empty_fields_are_empty(tier: str, form_id: str, field_id: str) -> None:
    r, value, conf = read(form_id, tier, field_id)
    assert r.raw == "" and value is None
    assert conf >= ACCEPT


def test_a_seal_on_an_empty_field_is_not_read_as_text() -> None:
    s = scanned("inkan_toroku", "poor-seal-on-empty")
    leaf = get_form("inkan_toroku").leaf("agent_name")
    r = read_field(s.ctx, leaf)
    assert r.raw == ""
    assert r.confidence < 0.97  # but the reader says something was there


# --------------------------------------------------------------------------------------------------
# the writing alone: text_ink on synthetic crops


def synthetic_crop(h: int = 120, w: int = 600, paper: int = 235) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.clip(rng.normal(paper, 4, (h, w)), 0, 255).astype(np.uint8)


def put_text(img: np.ndarray, text: str, x: int = 30, ink: int = 40) -> None:
    import cv2
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path("gothic")), 48)
    layer = Image.new("L", (img.shape[1], img.shape[0]), 0)
    ImageDraw.Draw(layer).text((x, img.shape[0] // 2), text, font=font, fill=255, anchor="lm")
    a = np.asarray(cv2.GaussianBlur(np.asarray(layer, dtype=np.float32) / 255.0, (0, 0), 0.7), dtype=np.float32)
    img[:] = (img * (1 - a) + ink * a).astype(np.uint8)


def test_text_ink_of_an_empty_crop_with_specks_is_empty() -> None:
    img = synthetic_crop()
    rng = np.random.default_rng(5)
    for _ in range(40):  # dust: 1–2 px, very dark
        y, x = int(rng.integers(2, 117)), int(rng.integers(2, 597))
        img[y : y + 2, x : x + 2] = 20
    assert text_ink(img).empty


def test_text_ink_drops_ruled_line_remnants() -> None:
    img = synthetic_crop()
    img[0:3, :] = 40  # what dropout left of the box's top and bottom lines
    img[-3:, :] = 40
    img[:, 0:3] = 40
    assert text_ink(img).empty
    put_text(img, "山田太郎")
    ink = text_ink(img)
    assert not ink.empty and ink.dropped >= 1
    assert 8 <= ink.bbox[1] and ink.bbox[3] <= 112  # the lines are not part of the writing
    assert not ink.touches_edge


def test_text_ink_ignores_mid_grey_seal_ink() -> None:
    import cv2

    img = synthetic_crop()
    cv2.circle(img, (300, 60), 55, 140, 8)  # a seal's ring: mid-grey in a grayscale scan
    cv2.putText(img, "X", (280, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 150, 6)
    ink = text_ink(img)
    assert ink.empty and ink.dropped_px > 400
    put_text(img, "千葉", x=420)
    ink = text_ink(img)
    assert not ink.empty and ink.bbox[0] >= 400  # the writing only


def test_text_ink_keeps_dakuten() -> None:
    img = synthetic_crop()
    put_text(img, "ド")
    with_marks = int(text_ink(img).ink_px)
    img2 = synthetic_crop()
    put_text(img2, "ト")
    assert with_marks > int(text_ink(img2).ink_px) + 20


def test_text_ink_writing_over_the_box_line_touches_the_edge() -> None:
    img = synthetic_crop()
    put_text(img, "山田", x=-10)
    assert text_ink(img).touches_edge


def test_for_ocr_scales_to_the_target_height() -> None:
    img = synthetic_crop()
    put_text(img, "山田太郎")
    ink = text_ink(img, TextInkParams(border=0.25))
    out = ink.for_ocr(24)
    rows = np.nonzero((out < 128).any(axis=1))[0]
    assert abs((rows[-1] - rows[0] + 1) - 24) <= 3
    assert set(np.unique(out)) <= set(range(256)) and out.dtype == np.uint8


def test_suppress_mid_gray_keeps_strokes_and_drops_a_seal() -> None:
    import cv2

    img = synthetic_crop(60, 60)
    cv2.line(img, (30, 5), (30, 55), 30, 4)
    cv2.circle(img, (15, 15), 8, 140, 3)
    out = suppress_mid_gray(img, 235.0)
    assert out[30, 30] < 60  # the stroke
    assert out[15, 7] > 200  # the seal's ring
    assert (out[30, 27:34] < 200).sum() >= 5  # the stroke's rim is kept


# --------------------------------------------------------------------------------------------------
# cleanup and confidence


@pytest.mark.parametrize(("raw", "cls", "text", "dropped"), [
    ("松岡順子=", "name", "松岡順子", "="),
    ("|", "name", "", "|"),
    ("OO", "address", "", "OO"),
    ("千葉市花見川区こてはし台3-11-9ーー©H©H", "address", "千葉市花見川区こてはし台3-11-9", "ーー©H©H"),
    ("-千葉市中央区", "address", "千葉市中央区", "-"),
    ("61393814-716.", "text", "61393814-716", "."),
    ("ーマツオカ", "kana", "マツオカ", "ー"),
    ("コーポ野村707", "address", "コーポ野村707", ""),
    ("センター", "address", "センター", ""),
    ("090-1234-5678", "narrow", "090-1234-5678", ""),
])
def test_clean_text_drops_what_a_field_cannot_hold(raw: str, cls: str, text: str, dropped: str) -> None:
    c = clean_text(raw, [0.9] * len(raw), cls, "0123456789-" if cls == "narrow" else None)
    assert c.text == text
    assert c.dropped == dropped
    assert len(c.confidences) == len(c.text) == len(c.margins)


def test_clean_text_counts_junk_dropped_between_kept_characters() -> None:
    c = clean_text("松岡©順子", [0.9, 0.8, 0.3, 0.7, 0.6], "name")
    assert c.text == "松岡順子" and c.dropped_inside == 1
    assert c.confidences == [0.9, 0.8, 0.7, 0.6]


@pytest.mark.parametrize(("text", "cls", "fixed"), [
    ("関健ニ", "name", "関健二"),
    ("桜木ハ丁目", "address", "桜木八丁目"),
    ("中央区ー丁目", "address", "中央区一丁目"),
    ("コーポ", "address", "コーポ"),
    ("二ュータウン", "address", "ニュータウン"),
    ("1-2-3", "address", "1-2-3"),
    ("関健ニ", "kana", "関健ニ"),
])
def test_lookalikes_follow_the_script_around_them(text: str, cls: str, fixed: str) -> None:
    assert fix_lookalikes(text, cls) == fixed


def test_a_kana_reading_cannot_start_with_a_small_kana() -> None:
    c = clean_text("ッジリク", [0.99] * 4, "kana")
    assert c.text == "ツジリク" and c.implausible == 1


def test_implausible_characters() -> None:
    assert implausible_chars("千葉市稲も区", "address") == 1
    assert implausible_chars("千葉市美浜区", "address") == 0
    assert implausible_chars("つつじが丘", "address") == 0
    assert implausible_chars("3丁目ー", "address") == 1
    assert implausible_chars("ンドウ", "kana") == 1


def test_length_fit_catches_a_character_read_twice() -> None:
    # six katakana written 52 px high take about (1.41 × 6 − 0.93) × 52 px
    width = round((1.41 * 6 - 0.93) * 52)
    assert 0.95 < length_fit("ニシダヒデキ", "kana", width, 52) < 1.05
    assert length_fit("ニシタダヒデキ", "kana", width, 52) < 0.9
    assert length_fit("ニシダヒデ", "kana", width, 52) > 1.15
    assert length_fit("090-1234-5678", "narrow", 400, 40) == 1.0


def test_confidence_follows_the_weakest_character_and_every_doubt() -> None:
    sure = TextEvidence(chars=[0.99] * 6)
    base = text_confidence(sure)
    assert base >= 0.98
    one_weak = text_confidence(TextEvidence(chars=[0.99] * 5 + [0.6]))
    assert one_weak < 0.6
    for doubt in ({"agrees": False}, {"dropped": "©"}, {"dropped": "©", "dropped_inside": 1},
                  {"touches_edge": True}, {"retried": True}, {"fit": 0.8}, {"fit": 1.6}, {"implausible": 1}):
        assert text_confidence(TextEvidence(chars=[0.99] * 6, **doubt)) < ACCEPT, doubt
    assert text_confidence(TextEvidence(chars=[])) == 0.0


def test_charset_classes() -> None:
    inkan = get_form("inkan_toroku")
    assert charset_class(inkan.leaf("kana")) == "kana"
    assert charset_class(inkan.leaf("name")) == "name"
    assert charset_class(inkan.leaf("agent_address")) == "address"
    assert charset_class(inkan.leaf("phone")) == "narrow"
    assert charset_class(get_form("kaigo_nintei").leaf("clinic_name")) == "text"


# --------------------------------------------------------------------------------------------------
# marks


def test_mark_thresholds() -> None:
    assert classify_score(0.0, "tick").state == "unmarked"
    assert classify_score(0.04, "tick").state == "marked"
    assert classify_score(0.015, "tick").state == "unsure"
    assert classify_score(0.06, "circle").state == "marked"
    assert classify_score(0.04, "era").state == "unmarked"  # a big circle reaching the next era
    assert classify_score(0.1, "era").state == "marked"
    assert classify_score(0.1, "era").certainty > 0.99


def test_a_seal_over_an_option_is_not_a_mark() -> None:
    s = scanned("inkan_toroku", "poor-seal-on-options")
    leaf = get_form("inkan_toroku").leaf("sex")
    from jimu.forms_schema.layout import option_boxes

    scores = {o.id: mark_score(s.ctx.image, s.ctx.mask, b, "circle") for o, b in option_boxes(leaf.entry, leaf.options, "circle")}
    assert scores["female"] < 0.015 < 0.03 < scores["male"]


def test_paper_level_is_the_local_paper() -> None:
    s = scanned("inkan_toroku", "poor-seal-on-empty")
    level = paper_level(s.ctx.image, s.ctx.mask, get_form("inkan_toroku").leaf("address").entry)
    assert 150 < level < 255


@dataclass
class _Pred:
    digit: str | None
    probability: float


class _SaysOne:
    """A digit classifier that reads '1' in every box, sure of it (to test the ink check around it)."""

    def predict(self, crops: list[np.ndarray]) -> list[_Pred]:
        return [_Pred("1", 0.999) for _ in crops]


def test_a_count_in_an_empty_looking_box_needs_ink_evidence() -> None:
    form = get_form("juminhyo_kofu")
    leaf = form.leaf("copies")
    blank = render_png(form, {}, dpi=300)
    img = to_gray(np.asarray(blank))
    ctx = ReadContext(image=img, mask=dropout_mask(form.form_id), engine=None, digits=_SaysOne())  # type: ignore[arg-type]
    empty = read_field(ctx, leaf)
    assert empty.raw == "11" and empty.confidence <= 0.3, "a digit with no ink behind it is not trusted"
    inked = img.copy()
    e = leaf.entry
    y0, y1 = int((e.y + 2) * PX_PER_MM), int((e.bottom - 2) * PX_PER_MM)
    x = int((e.x + 3) * PX_PER_MM)
    inked[y0:y1, x:x + 8] = 0  # a pen stroke in the first box only
    one = read_field(ctx.__class__(image=inked, mask=ctx.mask, engine=None, digits=_SaysOne()), leaf)  # type: ignore[arg-type]
    assert one.confidence <= 0.3, "the second box is still empty of ink"
    from jimu.forms_schema.layout import digit_cells

    both = img.copy()
    for cell in digit_cells(e, 2):
        cx, cy = int((cell.x + cell.w / 2) * PX_PER_MM), int((cell.y + cell.h / 2) * PX_PER_MM)
        both[cy - 25:cy + 25, cx - 4:cx + 4] = 0
    two = read_field(ctx.__class__(image=both, mask=ctx.mask, engine=None, digits=_SaysOne()), leaf)  # type: ignore[arg-type]
    assert two.confidence > 0.99

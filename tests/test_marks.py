"""Marks that do not lie (jimu.extractors.marks, read_choice/read_checkbox/read_date in jimu.extractors.readers):
blue pen counts, red seals do not, perspective and slight misregistration give no false ticks,
empty table rows read empty, and where the alignment is not sure the marks are unsure."""

from __future__ import annotations

import datetime
import random
from functools import cache
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from jimu.extractors.engines import get_engine
from jimu.extractors.ingest import ink_gray
from jimu.extractors.marks import local_fit, read_mark, registration_sure
from jimu.extractors.readers import ReadContext, read_field
from jimu.extractors.register import register_page
from jimu.extractors.templates import dropout_mask, template_image
from jimu.extractors.types import PX_PER_MM, Page
from jimu.fixtures.render import render_png
from jimu.fixtures.values import sample_values
from jimu.forms_schema import get_form
from jimu.forms_schema.layout import checkbox_square, option_boxes, tick_square
from jimu.forms_schema.model import Box, LeafField
from tests.test_register_perspective import phone_photo

U8 = NDArray[np.uint8]
BLUE = (25, 45, 150)
RED_SEAL = (205, 45, 40)


def _ctx(image: U8, form_id: str, fit_points: Any = None) -> ReadContext:
    return ReadContext(image=image, mask=dropout_mask(form_id), engine=get_engine(), digits=None,
                       fit_points=fit_points)


def _px(b: Box) -> tuple[int, int, int, int]:
    return (round(b.x * PX_PER_MM), round(b.y * PX_PER_MM), round(b.right * PX_PER_MM), round(b.bottom * PX_PER_MM))


def _mark_regions(leaf: LeafField) -> dict[str, Box]:
    if leaf.kind == "checkbox":
        return {"checked": checkbox_square(leaf.entry)}
    return {o.id: (tick_square(b) if leaf.mark == "tick" else b) for o, b in option_boxes(leaf.entry, leaf.options,
                                                                                          leaf.mark)}


def _draw(rgb: U8, b: Box, style: str, colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = _px(b)
    if style == "tick":
        pts = np.array([[x0 + 3, (y0 + y1) // 2], [(x0 + x1) // 2, y1 - 4], [x1 + 6, y0 - 6]], np.int32)
        cv2.polylines(rgb, [pts], False, colour, 5, cv2.LINE_AA)
    else:
        cv2.ellipse(rgb, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2 - 2, (y1 - y0) // 2 - 2), 0, 0, 360, colour, 4,
                    cv2.LINE_AA)


def _seal(rgb: U8, b: Box) -> None:
    x0, y0, x1, y1 = _px(b)
    r = round(6 * PX_PER_MM)
    cv2.circle(rgb, ((x0 + x1) // 2, (y0 + y1) // 2), r, RED_SEAL, -1)
    cv2.circle(rgb, ((x0 + x1) // 2, (y0 + y1) // 2), r - 12, (235, 150, 140), 6)


@pytest.mark.parametrize(("form_id", "field_id", "which"), [
    ("juminhyo_kofu", "relation", 0), ("juminhyo_kofu", "purpose", 1), ("inkan_toroku", "sex", 1),
    ("jumin_idou", "notice_kind", 0), ("inkan_toroku", "method", 0),
])
def test_blue_pen_counts_and_red_seal_does_not(form_id: str, field_id: str, which: int) -> None:
    leaf = get_form(form_id).leaf(field_id)
    regions = _mark_regions(leaf)
    ids = list(regions)
    marked, sealed = ids[which], ids[(which + 1) % len(ids)]
    rgb = np.dstack([template_image(form_id)] * 3).copy()
    _draw(rgb, regions[marked], leaf.mark or "tick", BLUE)
    _seal(rgb, regions[sealed])
    r = read_field(_ctx(ink_gray(rgb), form_id), leaf)
    assert r.marks[marked] == "marked"
    assert r.marks[sealed] == "unmarked", r.marks
    assert r.raw in (marked, [marked])


@cache
def _photo_registered(form_id: str, seed: int, empty_rows: bool) -> tuple[ReadContext, dict[str, Any]]:
    form = get_form(form_id)
    values = sample_values(form, random.Random(seed), datetime.date(2026, 11, 20))
    if empty_rows:
        values = {k: (None if k.startswith("members[") and not k.startswith("members[0]") else v)
                  for k, v in values.items()}
    img = np.asarray(render_png(form, values, dpi=300), dtype=np.uint8)
    photo, _ = phone_photo(img, 0.03, seed)
    reg = register_page(Page(image=photo, dpi=72, page_no=0, dpi_known=False))
    assert reg.form_id == form_id and reg.perspective
    return _ctx(reg.image, form_id, reg.fit_points), values


def _mark_fields(form_id: str) -> list[str]:
    return [lf.id for lf in get_form(form_id).leaf_fields() if lf.kind in ("single_choice", "multi_choice", "checkbox")]


@pytest.mark.parametrize(("form_id", "field_id"), [(f, x) for f in ("juminhyo_kofu", "inkan_toroku")
                                                   for x in _mark_fields(f)])
def test_marks_on_a_phone_photo_read_right(form_id: str, field_id: str) -> None:
    ctx, values = _photo_registered(form_id, 3, False)
    leaf = get_form(form_id).leaf(field_id)
    r = read_field(ctx, leaf)
    truth = values.get(field_id)
    if leaf.kind == "checkbox":
        assert r.raw == bool(truth)
    elif leaf.kind == "multi_choice":
        assert sorted(r.raw) == sorted(truth or [])
    else:
        assert r.raw == truth
    assert "unsure" not in r.marks.values()


@pytest.mark.parametrize("row", [1, 2, 3])
def test_empty_table_row_reads_empty(row: int) -> None:
    ctx, _ = _photo_registered("jumin_idou", 5, True)
    leaf = get_form("jumin_idou").leaf(f"members[{row}].sex")
    r = read_field(ctx, leaf)
    assert r.raw is None and set(r.marks.values()) == {"unmarked"}, r.marks


def test_filled_table_row_still_reads() -> None:
    ctx, values = _photo_registered("jumin_idou", 5, True)
    r = read_field(ctx, get_form("jumin_idou").leaf("members[0].sex"))
    assert r.raw == values["members[0].sex"]


@pytest.mark.parametrize("shift_px", [3, -3])
def test_printed_box_edge_is_no_tick_under_slight_misregistration(shift_px: int) -> None:
    form_id = "inkan_toroku"
    img = np.full_like(template_image(form_id), 255)
    t = template_image(form_id)
    if shift_px > 0:
        img[shift_px:, shift_px:] = t[:-shift_px, :-shift_px]
    else:
        img[:shift_px, :shift_px] = t[-shift_px:, -shift_px:]
    leaf = get_form(form_id).leaf("method")
    r = read_field(_ctx(img, form_id), leaf)
    assert set(r.marks.values()) == {"unmarked"}, r.marks


def test_marks_are_unsure_where_the_alignment_is_not() -> None:
    form_id = "inkan_toroku"
    leaf = get_form(form_id).leaf("method")
    t = template_image(form_id)
    img = np.full_like(t, 255)
    s = 20  # 1.7 mm off
    img[s:, s:] = t[:-s, :-s]
    fit = local_fit(img, dropout_mask(form_id), leaf.entry)
    assert not fit.sure
    r = read_field(_ctx(img, form_id), leaf)
    assert set(r.marks.values()) == {"unsure"} and r.confidence <= 0.5
    # the registration's own windows: none near the field, or disagreeing with the fit
    e = leaf.entry
    cx, cy = (e.x + e.w / 2) * PX_PER_MM, (e.y + e.h / 2) * PX_PER_MM
    bad = np.array([[cx + 30, cy, 25.0, 1.0], [cx - 30, cy, 20.0, 1.0], [cx, cy + 40, 30.0, 0.0], [cx, cy - 40, 18, 1]])
    assert not registration_sure(bad, e)
    assert not registration_sure(np.zeros((0, 4)), e)
    assert registration_sure(None, e)
    r2 = read_field(_ctx(t.copy(), form_id, bad), leaf)
    assert set(r2.marks.values()) == {"unsure"}
    assert read_mark(t, dropout_mask(form_id), e, "tick").state == "unmarked"

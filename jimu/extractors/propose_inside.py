"""``jimu forms propose``, layout 3: a label inside its value (at the cell's top or left, beside a 1文字枠 run,
option words to circle, or printed eras with 年 月 日)."""

from __future__ import annotations

import re
from typing import Any

from jimu.extractors.propose_cells import DIGIT_CELL_MM, TICK_MM, Cell, Word, words_in
from jimu.extractors.propose_fields import (
    ERA_BY_CHAR,
    LINE_HALF_MM,
    Proposal,
    _box,
    _cell_box,
    _clean_label,
    _digit_geometry,
    _field_id,
    _kind_of_label,
    _Page,
    _text_extras,
)
from jimu.forms_schema.layout import DIGIT_CELL_PAD

LABEL_NEAR_MM = 5.0  # a label inside its cell starts this close to the cell's left edge
MAX_OPTION_CHARS = 12  # a longer printed line is guidance, not an option word
LABEL_GAP_MM = 4.0  # printed words closer than this on one line are one label
OPTION_GAP_MM = 4.5  # ... one option ("1. 転入")


def _merge(words: list[Word], gap: float) -> list[Word]:
    """Words on one line closer than ``gap`` mm joined into one (read again as a whole)."""
    out: list[Word] = []
    for w in sorted(words, key=lambda w: w.x):
        for m in out:
            overlap = min(m.bottom, w.bottom) - max(m.y, w.y)
            if overlap > 0.5 * min(m.h, w.h) and w.x - m.right < gap:
                y, bottom = min(m.y, w.y), max(m.bottom, w.bottom)
                m.w, m.y, m.h, m.text = max(m.right, w.right) - m.x, y, bottom - y, ""
                break
        else:
            out.append(Word(w.x, w.y, w.w, w.h, w.text))
    return sorted(out, key=lambda w: (round(w.y / 2), w.x))


def _within(w: Word, m: Word) -> bool:
    return w.x >= m.x - 0.1 and w.right <= m.right + 0.1 and w.y >= m.y - 0.1 and w.bottom <= m.bottom + 0.1


def _label_word(c: Cell, words: list[Word]) -> Word | None:
    near = [w for w in words if w.x - c.x < LABEL_NEAR_MM and w.y - c.y < max(6.0, c.h / 2)]
    return min(near, key=lambda w: (w.y, w.x)) if near else None


def _digits_inside(p: _Page, c: Cell, label: str, run: list[Cell], others: list[Word]) -> list[Proposal]:
    run = sorted(run, key=lambda s: s.x)
    edge = LINE_HALF_MM + DIGIT_CELL_PAD  # the cells sit this far inside the field's box
    rx, ry = run[0].x - edge, min(s.y for s in run) - edge
    rr, rb = run[-1].right + edge, max(s.bottom for s in run) + edge
    geo = _digit_geometry(run)
    why = [f"a run of {len(run)} 1文字枠 inside the cell"]
    if c.bottom - rb < 6.0:  # the run fills the cell: the field is the cell, its label on the left
        f = {"id": _field_id(label, p.ids), "label": label, "kind": "digits", "box": _cell_box(c),
             "label_w": round(max(0.0, rx - c.x + LINE_HALF_MM), 1)} | geo
        return [Proposal(f, 0.8, why)]
    # a run at the top of a bigger cell (〒 and its cells over the address): two fields
    zip_like = len(run) == 7 or any(p.word(w) in ("〒", "〒:") for w in others)
    dlabel = "郵便番号" if zip_like else label
    d = {"id": _field_id(dlabel, p.ids), "label": dlabel, "kind": "digits",
         "box": _box(rx, ry, rr - rx, rb - ry), "label_w": 0} | geo
    if zip_like:
        d["validators"] = ["postal_code"]
        why.append("〒 or seven cells: a postal code")
    kind, twhy = _kind_of_label(label)
    t: dict[str, Any] = {"id": _field_id(label, p.ids), "label": label, "kind": kind,
                         "box": _box(c.x - LINE_HALF_MM, rb, c.w + 2 * LINE_HALF_MM, c.bottom - rb + LINE_HALF_MM),
                         "label_w": 0}
    _text_extras(t, label, twhy)
    return [Proposal(d, 0.7, why), Proposal(t, 0.6, ["the free area under the 1文字枠 run", *twhy])]


def _date_inside(p: _Page, c: Cell, label: str, eras: list[Word], units: dict[str, Word]) -> Proposal:
    boxes: dict[str, Any] = {"eras": {}}
    pad = 1.5
    for w in eras:
        boxes["eras"][ERA_BY_CHAR[p.word(w)[0]]] = _box(w.x - pad, w.y - pad, w.w + 2 * pad, w.h + 2 * pad)
    printed = sorted([*eras, *units.values()], key=lambda w: w.x)
    top, bottom = c.y + 2.5, c.bottom - 2.5
    for part, unit in (("year", "年"), ("month", "月"), ("day", "日")):
        u = units[unit]
        left = max([w.right for w in printed if w.right < u.x] + [u.x - 17.0]) + 0.5
        left = max(left, u.x - 17.0)
        boxes[part] = _box(left, top, u.x - 0.5 - left, bottom - top)
    f = {"id": _field_id(label, p.ids), "label": label, "kind": "date", "eras": list(boxes["eras"]),
         "date_boxes": boxes, "box": _cell_box(c), "label_w": 0}
    return Proposal(f, 0.6, [f"printed eras {''.join(p.word(w)[0] for w in eras)} and 年 月 日 to write beside"])


def _options_inside(p: _Page, c: Cell, label: str, others: list[Word]) -> Proposal:
    pad = 1.5
    options = []
    option_ids: set[str] = set()
    for w in sorted(others, key=lambda w: (round(w.y / 3), w.x)):
        text = p.word(w)
        options.append({"id": _field_id(text, option_ids), "label": text,
                        "box": _box(w.x - pad, w.y - pad, w.w + 2 * pad, w.h + 2 * pad)})
    f = {"id": _field_id(label, p.ids), "label": label, "kind": "single_choice", "mark": "circle",
         "options": options, "box": _cell_box(c), "label_w": 0}
    return Proposal(f, 0.6, [f"{len(options)} printed option words to circle"])


def _inside(p: _Page) -> list[Proposal]:
    out: list[Proposal] = []
    for c in sorted(p.big, key=lambda c: (round(c.y), c.x)):
        if id(c) in p.claimed or c.w < 15 or c.h < 6:
            continue
        words = words_in(p.ink, c, p.px)
        lw = _label_word(c, _merge(words, LABEL_GAP_MM))
        if lw is None:
            continue  # no label at its top or left: a stamp box, office use, a frame
        label = _clean_label(p.word(lw))
        rest = [w for w in words if not _within(w, lw)]
        others = [w for w in _merge(rest, OPTION_GAP_MM) if re.search(r"\w", p.word(w))]  # not stray punctuation
        if not label or any(len(p.word(w)) > MAX_OPTION_CHARS for w in others):
            continue  # printed guidance, not a field
        run = [s for s in p.inside(c) if DIGIT_CELL_MM[0] <= s.w <= DIGIT_CELL_MM[1]
               and not (abs(s.w - s.h) < 1.0 and s.w <= TICK_MM[1])]  # not a tick square
        units = {p.word(w): w for w in rest if p.word(w) in ("年", "月", "日")}
        eras = [w for w in rest if len(p.word(w)) == 1 and p.word(w) in ERA_BY_CHAR]
        if len(run) >= 2:
            out += _digits_inside(p, c, label, run, others)
        elif len(units) == 3:
            out.append(_date_inside(p, c, label, eras, units))
        elif len(others) >= 2:
            out.append(_options_inside(p, c, label, others))
        elif not others:
            kind, why = _kind_of_label(label)
            f: dict[str, Any] = {"id": _field_id(label, p.ids), "label": label, "kind": kind,
                                 "box": _cell_box(c), "label_w": 0}
            _text_extras(f, label, why)
            out.append(Proposal(f, 0.7, ["the label is printed inside the value's cell", *why]))
        else:
            continue
        p.claimed.add(id(c))
    return out

"""``jimu forms propose``, layout 2: a label beside its entry (a printed label cell, an empty cell to its right)."""

from __future__ import annotations

from typing import Any

from jimu.extractors.propose_cells import DIGIT_CELL_MM, TEXT_INK_SHARE, TICK_MM, Cell
from jimu.extractors.propose_fields import Proposal, _cell_box, _digit_geometry, _field_id, _kind_of, _Page, _text_extras


def _beside(p: _Page) -> list[Proposal]:
    out: list[Proposal] = []
    for c in sorted(p.big, key=lambda c: (round(c.y), c.x)):
        if id(c) in p.claimed:
            continue
        if c.ink > TEXT_INK_SHARE and not p.inside(c):
            continue  # a label cell (or printed text); it is used by the entry to its right
        label_cell = next((lc for lc in p.big if lc.ink > TEXT_INK_SHARE and lc.text and abs(lc.right - c.x) < 1.0
                           and abs(lc.y - c.y) < 1.5 and abs(lc.h - c.h) < 2.0 and id(lc) not in p.claimed), None)
        if label_cell is None:
            continue  # an empty cell nobody labelled beside it: perhaps a label inside (3.), or office use
        inside = p.inside(c)
        ticks = [s for s in inside if TICK_MM[0] <= s.w <= TICK_MM[1] and abs(s.w - s.h) < 1.0 and s.h < c.h * 0.7]
        digit_run = [s for s in inside if s not in ticks and DIGIT_CELL_MM[0] <= s.w <= DIGIT_CELL_MM[1]]
        label = label_cell.text
        kind, why = _kind_of(label, ticks, digit_run)
        f: dict[str, Any] = {"id": _field_id(label, p.ids), "label": label, "kind": kind,
                             "box": _cell_box(c, x=label_cell.x), "label_w": round(label_cell.w, 1)}
        conf = 0.8
        if kind == "digits":
            f |= _digit_geometry(digit_run)
        _text_extras(f, label, why)
        if kind == "single_choice":
            words = []
            option_ids: set[str] = set()
            for i, t in enumerate(sorted(ticks, key=lambda s: s.x)):
                word = p.read(Cell(t.right + 0.3, t.y - 1, 12, t.h + 2))
                oid = _field_id(word, option_ids) if word else f"option_{i + 1}"
                words.append({"id": oid, "label": word or f"選択肢{i + 1}"})
            f["options"] = words
            f["mark"] = "tick"
            conf = 0.7 if all(w["label"] for w in words) else 0.5
        if not label:
            conf -= 0.3
            why.append("label unreadable")
        p.claimed |= {id(c), id(label_cell)}
        out.append(Proposal(f, round(conf, 2), why))
    return out

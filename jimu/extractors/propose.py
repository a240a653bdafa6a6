"""``jimu forms propose BLANK``: a draft form definition from a blank scan.

The blank's cells, small boxes and printed words come from :mod:`jimu.extractors.propose_cells`.
Three layouts of real forms are recognised, in this order, each claiming the cells it uses:

1. **a table**: a row of labelled header cells over two or more rows of cells with the same
   columns (a header such as フリガナ／氏名 gives a furigana sub-row over the name);
2. **a label beside its entry**: a cell of printed text with an empty cell to its right (the
   field's box is both, ``label_w`` the label's width);
3. **a label inside its value**: a cell whose printed label sits at its top or left, the rest
   empty (``label_w: 0``; the printed ink is dropped out of the crop), or holding a run of
   1文字枠, option words to circle (男/女 stacked, a 1./2./3. list) or a date's printed eras and
   年 月 日.

Inside an entry, small squares are tick boxes (with the option word printed beside each), and a
run of narrow equal cells is a 1文字枠 digit run. Labels and option words are read with the
recogniser. Every proposal says how sure it is (0..1) and why, as a comment above the field in
the YAML (:func:`draft_yaml`); ``jimu forms preview`` shows the boxes. Nothing here is trusted:
the draft is reviewed and edited before it is used.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from jimu.extractors.propose_cells import (
    DIGIT_CELL_MM,
    TEXT_INK_SHARE,
    TICK_MM,
    U8,
    Cell,
    Word,
    find_cells,
    printed_ink,
    read_text,
    read_word,
    words_in,
)
from jimu.forms_schema.layout import DIGIT_CELL_PAD

ERA_BY_CHAR = {"明": "meiji", "大": "taisho", "昭": "showa", "平": "heisei", "令": "reiwa"}
TOL_MM = 1.0  # cells of one table column line up within this
LABEL_NEAR_MM = 5.0  # a label inside its cell starts this close to the cell's left edge
MAX_OPTION_CHARS = 12  # a longer printed line is guidance, not an option word
LINE_HALF_MM = 0.3  # a cell found between ruled lines starts this far inside the line's middle
LABEL_GAP_MM = 4.0  # printed words closer than this on one line are one label
OPTION_GAP_MM = 4.5  # ... one option ("1. 転入")


@dataclass
class Proposal:
    field: dict[str, Any]
    confidence: float
    why: list[str] = dc_field(default_factory=list)


@dataclass
class _Page:
    gray: U8
    ink: U8
    px: float
    engine: Any
    big: list[Cell]
    small: list[Cell]
    ids: set[str]
    claimed: set[int]  # ids (id()) of the big cells a proposal uses

    def read(self, c: Cell) -> str:
        return read_text(self.engine, self.gray, c, self.px)

    def word(self, w: Word) -> str:
        if not w.text:
            w.text = read_word(self.engine, self.gray, w, self.px)
        return w.text

    def inside(self, c: Cell) -> list[Cell]:
        return [s for s in self.small if c.contains(s)]


def _field_id(label: str, used: set[str]) -> str:
    import pykakasi

    words = [w["hepburn"] for w in pykakasi.kakasi().convert(label) if w["hepburn"].strip()]
    base = re.sub(r"[^a-z0-9]+", "_", "_".join(words).lower()).strip("_") or "field"
    if not base[0].isalpha():
        base = "f_" + base
    fid, i = base, 2
    while fid in used:
        fid, i = f"{base}_{i}", i + 1
    used.add(fid)
    return fid


def _kind_of(label: str, ticks: list[Cell], digit_run: list[Cell]) -> tuple[str, list[str]]:
    if len(ticks) >= 2:
        return "single_choice", [f"{len(ticks)} tick boxes with option words"]
    if len(ticks) == 1:
        return "checkbox", ["one tick box"]
    if digit_run:
        return "digits", [f"a run of {len(digit_run)} 1文字枠"]
    return _kind_of_label(label)


def _kind_of_label(label: str) -> tuple[str, list[str]]:
    if re.search(r"フリガナ|ふりがな", label):
        return "kana", ["label says フリガナ"]
    if re.search(r"(年月日|日付|申請日|届出日|請求日)$", label):
        return "date", ["label names a date"]
    return "text", ["an empty cell with a label"]


def _text_extras(f: dict[str, Any], label: str, why: list[str]) -> None:
    """Validators a label implies (a phone number, an address, a relationship, furigana)."""
    if f["kind"] == "text" and "電話" in label:
        f |= {"charset": "0123456789-", "validators": ["phone"]}
        why.append("label names a phone number")
    elif f["kind"] == "text" and "住所" in label:
        f["validators"] = ["japan_address"]
        why.append("label names an address")
    elif f["kind"] == "text" and "続柄" in label:
        f["vocabulary"] = "relationship"
        why.append("label names a relationship")
    elif f["kind"] == "kana":
        f["validators"] = ["katakana"]


def _box(x: float, y: float, w: float, h: float) -> dict[str, float]:
    return {"x": round(float(x), 1), "y": round(float(y), 1), "w": round(float(w), 1), "h": round(float(h), 1)}


def _cell_box(c: Cell, x: float | None = None) -> dict[str, float]:
    """A field's box from the cell it fills: out to the middle of the ruled lines around it."""
    left = c.x if x is None else x
    return _box(left - LINE_HALF_MM, c.y - LINE_HALF_MM, c.right - left + 2 * LINE_HALF_MM, c.h + 2 * LINE_HALF_MM)


def _digit_geometry(run: list[Cell]) -> dict[str, Any]:
    """``cells``, and ``cell_w``/``cell_pitch`` where the run's cells are not Jimu's (side by side, ≤ 7 mm)."""
    run = sorted(run, key=lambda s: s.x)
    out: dict[str, Any] = {"cells": len(run)}
    w = statistics.median(s.w for s in run) + 2 * LINE_HALF_MM
    pitch = statistics.median(b.x - a.x for a, b in itertools.pairwise(run)) if len(run) > 1 else w
    adjacent = pitch - w < 0.6
    if not (adjacent and pitch <= 7.3):  # Jimu's own: side by side, at most 7 mm
        out |= {"cell_w": round(min(w, pitch), 1), "cell_pitch": round(pitch, 1)}
    return out


# ------------------------------------------------------------------ 1. tables


def _header_rows(p: _Page) -> list[list[Cell]]:
    """Runs of two or more side-by-side labelled cells of one height: candidate table headers."""
    labelled = sorted((c for c in p.big if c.text and c.h <= 12), key=lambda c: (round(c.y), c.x))
    runs: list[list[Cell]] = []
    for c in labelled:
        for run in runs:
            last = run[-1]
            if abs(c.y - last.y) < TOL_MM and abs(c.h - last.h) < TOL_MM and abs(c.x - last.right) < 1.5:
                run.append(c)
                break
        else:
            runs.append([c])
    return [r for r in runs if len(r) >= 2]


@dataclass
class _Row:
    cells: list[Cell]  # one per header column (the upper cell where the column has a sub-row)
    lower: list[Cell | None]  # a cell under it in the same row (a sub-row), or None
    y: float
    bottom: float


def _cell_at(p: _Page, col: Cell, y: float) -> Cell | None:
    return next((c for c in p.big if id(c) not in p.claimed and abs(c.x - col.x) < TOL_MM
                 and abs(c.w - col.w) < TOL_MM and abs(c.y - y) < 1.5), None)


def _rows_under(p: _Page, header: list[Cell]) -> list[_Row]:
    """Rows of cells with the header's columns; a column whose cell is split in two (a dotted or
    thin line under the furigana) keeps both halves."""
    rows: list[_Row] = []
    y = header[0].bottom
    while True:
        cells = [_cell_at(p, col, y) for col in header]
        if any(c is None for c in cells):
            return rows
        found = [c for c in cells if c is not None]
        bottom = max(c.bottom for c in found)
        lower: list[Cell | None] = []
        for c in found:
            under = _cell_at(p, c, c.bottom) if c.bottom < bottom - 2.0 else None
            lower.append(under if under is not None and abs(under.bottom - bottom) < 1.5 else None)
        rows.append(_Row(found, lower, min(c.y for c in found), bottom))
        y = bottom


def _clean_label(text: str) -> str:
    """A printed label without its numbering and its notes in brackets: ２　支給要件児童（…）→ 支給要件児童."""
    text = re.sub(r"[（(][^）)]*[）)]?", "", text)
    return re.sub(r"^[0-9０-９一二三四五六七八九十]+[.．、\s　]*", "", text).strip()


def _title_above(p: _Page, x: float, y: float, w: float) -> str:
    """The printed line just above a table (its title)."""
    words = words_in(p.ink, Cell(x, y - 9.0, w, 8.5), p.px)
    return _clean_label("".join(p.word(w) for w in sorted(words, key=lambda w: w.x)))


def _column(p: _Page, header: Cell, first: Cell, lower: Cell | None, row_h: float,
            used: set[str]) -> list[dict[str, Any]]:
    label = header.text
    parts = [s for s in re.split(r"[／/・|]", label) if s]
    kana_name = len(parts) == 2 and re.search(r"フリガナ|ふりがな", parts[0]) is not None
    if lower is not None or kana_name:  # furigana over the name, one cell
        top_label, sub_label = (parts[0], parts[1]) if len(parts) == 2 else (label, "氏名")
        kana_id, name_id = _field_id(top_label, used), _field_id(sub_label, used)
        share = round(min(0.8, max(0.3, (lower.h + LINE_HALF_MM) / row_h)), 2) if lower is not None else 0.6
        return [{"id": kana_id, "label": label, "kind": "kana", "width": round(header.w + 2 * LINE_HALF_MM, 1),
                 "reading_of": name_id, "validators": ["katakana"]},
                {"id": name_id, "label": sub_label, "kind": "text", "width": round(header.w + 2 * LINE_HALF_MM, 1),
                 "under": kana_id, "height_share": share}]
    kind, why = _kind_of_label(label)
    col: dict[str, Any] = {"id": _field_id(label, used), "label": label, "kind": kind,
                           "width": round(header.w + 2 * LINE_HALF_MM, 1)}
    _text_extras(col, label, why)
    if kind == "date":
        eras = [ERA_BY_CHAR[ch] for ch in p.read(first) if ch in ERA_BY_CHAR]
        if eras:
            col["eras"] = list(dict.fromkeys(eras))
    return [col]


def _tables(p: _Page) -> list[Proposal]:
    out = []
    for header in _header_rows(p):
        rows = _rows_under(p, header)
        if len(rows) < 2:
            continue
        line = rows[1].y - rows[0].bottom  # one ruled line's width, as the cells see it
        heights = [round(b.y - a.y, 1) for a, b in itertools.pairwise(rows)]
        heights.append(round(rows[-1].bottom - rows[-1].y + line, 1))
        header_h = round(rows[0].y - header[0].y, 1)
        row_h = statistics.median(heights)
        used: set[str] = set()
        columns = [c for i, h in enumerate(header)
                   for c in _column(p, h, rows[0].cells[i], rows[0].lower[i], row_h, used)]
        width = sum(c["width"] for c in columns if "under" not in c)
        x, y = header[0].x - line / 2, header[0].y - line / 2
        title = _title_above(p, header[0].x, header[0].y, header[-1].right - header[0].x)
        f = {"id": _field_id(title or "表", p.ids), "label": title or "表", "kind": "table", "rows": len(rows),
             "header_h": header_h, "row_heights": heights, "columns": columns,
             "box": _box(x, y, width, header_h + sum(heights)), "label_w": 0}
        why = [f"a header of {len(header)} labelled cells over {len(rows)} rows of the same columns"]
        if any("under" in c for c in columns):
            why.append("a cell split under its furigana: the name as a sub-row")
        for c in header + [c for r in rows for c in [*r.cells, *r.lower] if c is not None]:
            p.claimed.add(id(c))
        out.append(Proposal(f, 0.6, why))
    return out


# ------------------------------------------------------------------ 2. a label beside its entry


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


# ------------------------------------------------------------------ 3. a label inside its value


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


def propose(gray: U8, dpi: float, engine: Any, form_id: str) -> tuple[dict[str, Any], list[Proposal]]:
    """A draft definition (a dict that dumps to YAML) and its proposals, in reading order."""
    px = dpi / 25.4
    cells = find_cells(gray, px)
    big = [c for c in cells if not (c.w <= DIGIT_CELL_MM[1] + 1 and c.h <= DIGIT_CELL_MM[2])]
    small = [c for c in cells if c not in big]
    p = _Page(gray, printed_ink(gray, px), px, engine, big, small, set(), set())
    for c in big:
        if c.ink > TEXT_INK_SHARE and c.h <= 12:
            c.text = p.read(c)
    proposals = _tables(p) + _beside(p) + _inside(p)
    proposals.sort(key=lambda q: (round(q.field["box"]["y"]), q.field["box"]["x"]))
    for prev, q in itertools.pairwise(proposals):
        if q.field["kind"] == "kana" and prev.field["kind"] == "text" and "reading_of" not in q.field:
            q.field["reading_of"] = prev.field["id"]
            q.why.append(f"reads the field next to it ({prev.field['id']})")
        if prev.field["kind"] == "kana" and q.field["kind"] == "text" and "reading_of" not in prev.field:
            prev.field["reading_of"] = q.field["id"]  # furigana printed above the name
            prev.why.append(f"reads the field under it ({q.field['id']})")
    draft = {
        "form_id": form_id, "version": 1, "title": "（表題を記入）", "code": "（様式番号を記入）",
        "template_image": {"file": f"{form_id}_blank.png", "dpi": round(dpi)},
        "fields": [q.field for q in proposals],
    }
    return draft, proposals


def draft_yaml(draft: dict[str, Any], proposals: list[Proposal], source: str) -> str:
    """The draft as YAML, each field preceded by a comment saying how sure its proposal is and why."""
    import yaml

    head = {k: v for k, v in draft.items() if k != "fields"}
    out = [f"# Draft by `jimu forms propose {source}`: check every field (jimu forms preview), then fill in",
           "# title, code, required, validators and sensitivity. A field's comment says how sure its proposal is.",
           yaml.safe_dump(head, allow_unicode=True, sort_keys=False).rstrip(), "fields:"]
    for p in proposals:
        out.append(f"  # proposal {p.confidence:.2f}: {'; '.join(p.why)}")
        body = yaml.safe_dump([p.field], allow_unicode=True, sort_keys=False, default_flow_style=None, width=200)
        out += ["  " + line for line in body.rstrip().splitlines()]
    return "\n".join(out) + "\n"

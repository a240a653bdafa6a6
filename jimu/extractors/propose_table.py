"""``jimu forms propose``, layout 1: a table (a row of labelled header cells over rows of the same columns)."""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass
from typing import Any

from jimu.extractors.propose_cells import Cell, words_in
from jimu.extractors.propose_fields import (
    ERA_BY_CHAR,
    LINE_HALF_MM,
    Proposal,
    _box,
    _clean_label,
    _field_id,
    _kind_of_label,
    _Page,
    _text_extras,
)

TOL_MM = 1.0  # cells of one table column line up within this


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

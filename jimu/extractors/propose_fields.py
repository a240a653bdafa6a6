"""What ``jimu forms propose`` proposes (:class:`Proposal`), the blank it reads (:class:`_Page`), and the
field pieces its three layouts share: ids from labels, kinds, validators a label implies, boxes."""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from jimu.extractors.propose_cells import U8, Cell, Word, read_text, read_word

ERA_BY_CHAR = {"明": "meiji", "大": "taisho", "昭": "showa", "平": "heisei", "令": "reiwa"}
LINE_HALF_MM = 0.3  # a cell found between ruled lines starts this far inside the line's middle


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


def _clean_label(text: str) -> str:
    """A printed label without its numbering and its notes in brackets: ２　支給要件児童（…）→ 支給要件児童."""
    text = re.sub(r"[（(][^）)]*[）)]?", "", text)
    return re.sub(r"^[0-9０-９一二三四五六七八九十]+[.．、\s　]*", "", text).strip()

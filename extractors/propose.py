"""``jimu forms propose BLANK``: a draft form definition from a blank scan.

The blank's ruled lines are found with long morphological openings; the closed cells between
them are the candidates. A cell holding printed text is a label; the empty cell to its right is
the entry it labels (a field's box is both, ``label_w`` the label's width). Inside an entry,
small squares are tick boxes (with the option word printed beside each), and a run of narrow
equal cells is a 1文字枠 digit run. Labels and option words are read with the recogniser.

Every proposal says how sure it is (0..1) and why, as a comment above the field in the YAML
(:func:`draft_yaml`); ``jimu forms preview`` shows the boxes. Nothing here is trusted: the
draft is reviewed and edited before it is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]

LINE_MM = 6.0  # a ruled line is at least this long
MIN_CELL_MM = (3.0, 3.0)
MAX_CELL_AREA_SHARE = 0.25  # a "cell" bigger than a quarter of the page is the background or a frame
TICK_MM = (2.5, 6.5)  # a tick box's side
DIGIT_CELL_MM = (4.0, 10.0)  # a 1文字枠's width
TEXT_INK_SHARE = 0.004  # a cell with more printed ink than this (inside its lines) holds a label


@dataclass
class Cell:
    x: float  # mm
    y: float
    w: float
    h: float
    ink: float = 0.0  # share of dark pixels inside, away from the lines
    text: str = ""

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def contains(self, o: Cell, tol: float = 0.5) -> bool:
        return (o.x >= self.x - tol and o.y >= self.y - tol and o.right <= self.right + tol
                and o.bottom <= self.bottom + tol and (o.w * o.h) < (self.w * self.h) * 0.9)


@dataclass
class Proposal:
    field: dict[str, Any]
    confidence: float
    why: list[str] = dc_field(default_factory=list)


def _binary(gray: U8) -> U8:
    _, b = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return np.asarray(b, np.uint8)


def ruled_lines(gray: U8, px_per_mm: float) -> U8:
    """The page's horizontal and vertical ruled lines (255), nothing else."""
    b = _binary(gray)
    n = max(8, round(LINE_MM * px_per_mm))
    h = cv2.morphologyEx(b, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1)))
    v = cv2.morphologyEx(b, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, n)))
    lines = cv2.bitwise_or(h, v)
    return np.asarray(cv2.dilate(lines, np.ones((3, 3), np.uint8)), np.uint8)


def find_cells(gray: U8, px_per_mm: float) -> list[Cell]:
    """Closed cells of the ruled grid (and stand-alone small boxes), in mm, with the ink inside them."""
    lines = ruled_lines(gray, px_per_mm)
    # small boxes (tick squares, 1文字枠) have sides shorter than LINE_MM: close them from the raw ink
    b = _binary(gray)
    contours, _ = cv2.findContours(b, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    small = np.zeros_like(lines)
    for cnt in contours:
        x, y, w, h = cv2.boundingRect(cnt)
        wm, hm = w / px_per_mm, h / px_per_mm
        if TICK_MM[0] <= wm <= DIGIT_CELL_MM[1] + 1 and TICK_MM[0] <= hm <= 12 and cv2.contourArea(cnt) > 0.6 * w * h:
            cv2.rectangle(small, (x, y), (x + w - 1, y + h - 1), 255, 2)
    grid = cv2.bitwise_or(lines, small)
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(grid), connectivity=4)
    page_area = gray.shape[0] * gray.shape[1]
    cells = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area > MAX_CELL_AREA_SHARE * page_area or x == 0 or y == 0:
            continue  # the background, which touches the page's edge
        if w / px_per_mm < MIN_CELL_MM[0] or h / px_per_mm < MIN_CELL_MM[1] or area < 0.35 * w * h:
            continue
        inner = b[y + 2:y + h - 2, x + 2:x + w - 2]
        ink = float((inner > 0).mean()) if inner.size else 0.0
        cells.append(Cell(x / px_per_mm, y / px_per_mm, w / px_per_mm, h / px_per_mm, ink))
    return cells


def _read(engine: Any, gray: U8, c: Cell, px_per_mm: float) -> str:
    from extractors.engines.base import OcrRequest

    x0, y0 = round(c.x * px_per_mm) + 2, round(c.y * px_per_mm) + 2
    x1, y1 = round(c.right * px_per_mm) - 2, round(c.bottom * px_per_mm) - 2
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return ""
    ys, xs = np.nonzero(crop < 128)
    if len(ys) == 0:
        return ""
    pad = 4
    crop = crop[max(0, ys.min() - pad):ys.max() + pad, max(0, xs.min() - pad):xs.max() + pad]
    res = engine.recognize(OcrRequest(image=crop, psm=7))
    return re.sub(r"\s+", "", res.text)


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
    if re.search(r"フリガナ|ふりがな", label):
        return "kana", ["label says フリガナ"]
    if re.search(r"(年月日|日付|生年月日|申請日|届出日)$", label):
        return "date", ["label names a date"]
    return "text", ["an empty cell beside a label"]


def propose(gray: U8, dpi: float, engine: Any, form_id: str) -> tuple[dict[str, Any], list[Proposal]]:
    """A draft definition (a dict that dumps to YAML) and its proposals, best-supported first."""
    px = dpi / 25.4
    cells = find_cells(gray, px)
    big = [c for c in cells if not (c.w <= DIGIT_CELL_MM[1] + 1 and c.h <= 12)]
    small = [c for c in cells if c not in big]
    for c in big:
        if c.ink > TEXT_INK_SHARE:
            c.text = _read(engine, gray, c, px)
    used: set[str] = set()
    proposals: list[Proposal] = []
    for c in sorted(big, key=lambda c: (round(c.y), c.x)):
        if c.ink > TEXT_INK_SHARE and not any(c.contains(s) for s in small):
            continue  # a label cell (or printed text); it is used by the entry to its right
        label_cell = next((lc for lc in big if lc.ink > TEXT_INK_SHARE and lc.text and abs(lc.right - c.x) < 1.0
                           and abs(lc.y - c.y) < 1.5 and abs(lc.h - c.h) < 2.0), None)
        if label_cell is None:
            continue  # an empty cell nobody labelled (office use, a stamp box): not proposed
        inside = [s for s in small if c.contains(s)]
        ticks = [s for s in inside if TICK_MM[0] <= s.w <= TICK_MM[1] and abs(s.w - s.h) < 1.0 and s.h < c.h * 0.7]
        digit_run = [s for s in inside if s not in ticks and DIGIT_CELL_MM[0] <= s.w <= DIGIT_CELL_MM[1]]
        label = label_cell.text
        kind, why = _kind_of(label, ticks, digit_run)
        box = {"x": round(label_cell.x, 1), "y": round(c.y, 1), "w": round(c.right - label_cell.x, 1),
               "h": round(c.h, 1)}
        f: dict[str, Any] = {"id": _field_id(label, used), "label": label, "kind": kind, "box": box,
                             "label_w": round(label_cell.w, 1)}
        conf = 0.8
        if kind == "digits":
            f["cells"] = len(digit_run)
        if kind == "text" and "電話" in label:
            f |= {"charset": "0123456789-", "validators": ["phone"]}
            why.append("label names a phone number")
        if kind == "kana":
            f["validators"] = ["katakana"]
        if kind == "single_choice":
            words = []
            option_ids: set[str] = set()
            for i, t in enumerate(sorted(ticks, key=lambda s: s.x)):
                word = _read(engine, gray, Cell(t.right + 0.3, t.y - 1, 12, t.h + 2), px)
                oid = _field_id(word, option_ids) if word else f"option_{i + 1}"
                words.append({"id": oid, "label": word or f"選択肢{i + 1}"})
            f["options"] = words
            f["mark"] = "tick"
            conf = 0.7 if all(w["label"] for w in words) else 0.5
        if kind == "kana":
            prev = proposals[-1].field if proposals else None
            if prev is not None and prev["kind"] == "text":
                f["reading_of"] = prev["id"]
                why.append(f"reads the field above ({prev['id']})")
        if not label:
            conf -= 0.3
            why.append("label unreadable")
        proposals.append(Proposal(f, round(conf, 2), why))
    draft = {
        "form_id": form_id, "version": 1, "title": "（表題を記入）", "code": "（様式番号を記入）",
        "template_image": {"file": f"{form_id}_blank.png", "dpi": round(dpi)},
        "fields": [p.field for p in proposals],
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

"""Field readers: one small function per field kind, in a hand-written registry.

A reader takes a :class:`ReadContext` (the registered page, the form's dropout mask and the
engines) and a leaf field, and returns a :class:`FieldReading` with the raw reading, a
confidence in [0, 1] and the crop of the field (kept for the review UI). Readers never
raise for a hard-to-read field: they return a low confidence instead. Normalisation to the
canonical value happens in ``validators.normalize``; readers return what they saw.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from extractors.crops import crop, dropout, trim_to_ink
from extractors.engines.base import OcrEngine, OcrRequest
from extractors.marks import MarkReading, group_confidence, read_mark
from forms_schema.layout import checkbox_square, date_layout, digit_cells, option_boxes, tick_square
from forms_schema.model import Box, LeafField

KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7)) + "ー"
EMPTY_TEXT_CONFIDENCE = 0.97


@dataclass
class FieldReading:
    field_id: str
    kind: str
    raw: Any  # what was read: text, digit string, option ids, (era, y, m, d) …
    confidence: float
    crop: np.ndarray | None = None
    marks: dict[str, str] = field(default_factory=dict)  # option/era id → marked/unmarked/unsure
    char_confidences: list[float] = field(default_factory=list)
    problem: str | None = None  # e.g. "date_invalid", "choice_unsure"


@dataclass
class ReadContext:
    image: np.ndarray  # registered page at WORK_DPI
    mask: np.ndarray  # template ink, dilated (True = printed form)
    engine: OcrEngine
    digits: Any  # extractors.digit_classifier.DigitClassifier


Reader = Callable[[ReadContext, LeafField], FieldReading]


def _text_request(leaf: LeafField, img: np.ndarray) -> OcrRequest:
    if leaf.kind == "kana":
        return OcrRequest(image=img, lang="jpn", psm=7, whitelist=KATAKANA)
    if leaf.charset:
        return OcrRequest(image=img, lang="eng", psm=7, whitelist=leaf.charset)
    return OcrRequest(image=img, lang="Japanese", psm=7)


def read_text(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    region = crop(ctx.image, leaf.entry)
    clean = dropout(ctx.image, ctx.mask, leaf.entry, pad_mm=-0.4)
    ink = trim_to_ink(clean)
    if ink is None:
        return FieldReading(leaf.id, leaf.kind, "", EMPTY_TEXT_CONFIDENCE, region)
    res = ctx.engine.recognize(_text_request(leaf, ink))
    return FieldReading(leaf.id, leaf.kind, res.text, res.confidence, region, char_confidences=res.char_confidences)


def _read_cells(ctx: ReadContext, cells: list[Box]) -> tuple[str, float, list[float], bool]:
    """Digits of 1-character boxes. Returns (digits, confidence, per-digit probs, gap inside)."""
    crops = [crop(ctx.image, c, pad_mm=-0.15) for c in cells]
    preds = ctx.digits.predict(crops)
    chars: list[str] = []
    probs: list[float] = []
    seen_digit = gap = False
    trailing_empty = 0
    conf = 1.0
    for p in preds:
        conf *= p.probability
        if p.digit is None:
            if seen_digit:
                trailing_empty += 1
            continue
        if trailing_empty:
            gap = True
        trailing_empty = 0
        seen_digit = True
        chars.append(p.digit)
        probs.append(p.probability)
    return "".join(chars), conf, probs, gap


def read_digits(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    assert leaf.cells
    cells = digit_cells(leaf.entry, leaf.cells)
    digits, conf, probs, gap = _read_cells(ctx, cells)
    return FieldReading(leaf.id, leaf.kind, digits, conf, crop(ctx.image, leaf.entry), char_confidences=probs,
                        problem="digits_gap" if gap else None)


def read_date(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    lay = date_layout(leaf.entry, leaf.eras)
    region = crop(ctx.image, leaf.entry)
    marks: dict[str, str] = {}
    if len(lay.eras) == 1:
        era: str | None = lay.eras[0][0]
        era_conf = 1.0
    else:
        readings = [(e, read_mark(ctx.image, ctx.mask, b, "circle")) for e, b in lay.eras]
        marks = {e: r.state for e, r in readings}
        marked = [e for e, r in readings if r.state == "marked"]
        era = marked[0] if len(marked) == 1 else max(readings, key=lambda t: t[1].score)[0]
        era_conf = group_confidence([r for _, r in readings], single=True)
        if not marked:
            era_conf = min(era_conf, 0.3)
    parts = []
    conf = era_conf
    probs: list[float] = []
    for cells in (lay.year, lay.month, lay.day):
        d, c, p, _gap = _read_cells(ctx, cells)
        parts.append(d)
        probs += p
        conf *= c
    if not any(parts) and all(s != "marked" for s in marks.values()):
        return FieldReading(leaf.id, leaf.kind, None, conf, region, marks)
    problem = None
    if era is None or not all(parts):
        problem = "date_incomplete"
        conf = min(conf, 0.2)
    raw = (era, *(int(p) if p else None for p in parts))
    if problem is None:
        from validators.japanese import WarekiError, wareki_to_date

        try:
            wareki_to_date(str(era), int(parts[0]), int(parts[1]), int(parts[2]))
        except WarekiError:
            problem = "date_invalid"
            conf = min(conf, 0.2)
    return FieldReading(leaf.id, leaf.kind, raw, conf, region, marks, probs, problem)


def read_choice(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    single = leaf.kind == "single_choice"
    readings: list[tuple[str, MarkReading]] = []
    for opt, b in option_boxes(leaf.entry, leaf.options, leaf.mark):
        region = tick_square(b) if leaf.mark == "tick" else b
        readings.append((opt.id, read_mark(ctx.image, ctx.mask, region, leaf.mark)))
    marked = sorted(oid for oid, r in readings if r.state == "marked")
    conf = group_confidence([r for _, r in readings], single)
    problem = None
    if any(r.state == "unsure" for _, r in readings):
        problem = "choice_unsure"
    if single and len(marked) > 1:
        problem = "choice_several"
    raw: Any = marked if not single else (marked[0] if len(marked) == 1 else (marked or None))
    return FieldReading(leaf.id, leaf.kind, raw, conf, crop(ctx.image, leaf.entry),
                        {oid: r.state for oid, r in readings}, problem=problem)


def read_checkbox(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    r = read_mark(ctx.image, ctx.mask, checkbox_square(leaf.entry), "tick")
    problem = "choice_unsure" if r.state == "unsure" else None
    return FieldReading(leaf.id, leaf.kind, r.state == "marked", r.certainty, crop(ctx.image, leaf.entry),
                        {"checked": r.state}, problem=problem)


READERS: dict[str, Reader] = {
    "text": read_text,
    "kana": read_text,
    "digits": read_digits,
    "date": read_date,
    "single_choice": read_choice,
    "multi_choice": read_choice,
    "checkbox": read_checkbox,
}


def read_field(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    return READERS[leaf.kind](ctx, leaf)


def geometric_mean(xs: list[float]) -> float:
    return math.exp(sum(math.log(max(x, 1e-9)) for x in xs) / len(xs)) if xs else 0.0


def iso_or_none(raw: tuple[Any, ...] | None) -> str | None:
    if not raw or raw[0] is None or any(v is None for v in raw[1:]):
        return None
    from validators.japanese import WarekiError, wareki_to_date

    try:
        d: dt.date = wareki_to_date(raw[0], raw[1], raw[2], raw[3])
    except WarekiError:
        return None
    return d.isoformat()

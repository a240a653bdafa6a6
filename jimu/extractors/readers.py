"""Field readers: one small function per field kind, in a hand-written registry.

A reader takes a :class:`ReadContext` (the registered page, the form's dropout mask and the
engines) and a leaf field, and returns a :class:`FieldReading` with the raw reading, a
confidence in [0, 1] and the crop of the field (kept for the review UI). Readers never
raise for a hard-to-read field: they return a low confidence instead. Normalisation to the
canonical value happens in ``jimu.validators.normalize``; readers return what they saw.

Text, kana and phone-like fields (:func:`read_text`):

1. :func:`jimu.extractors.crops.text_ink` keeps only the writing (no specks, seal ink or ruled-line
   remnants), binarised; no writing left means an empty field.
2. Tesseract reads it scaled to the height it reads best for the class of field (``OCR_HEIGHT``):
   kana with ``jpn`` and a katakana whitelist (plus runner-up alternatives), other Japanese
   text with the ``Japanese`` script model, fields with a ``charset`` with ``eng``.
3. :func:`jimu.extractors.text_cleanup.clean_text` drops what the field cannot hold and fixes
   katakana/kanji look-alikes by context; anything dropped lowers the confidence.
4. A second reading checks the first (kana and phone numbers at another scale, other text
   with the ``jpn`` model); if they disagree the confidence drops, and the second reading is
   kept when its weakest character is clearly surer. Fields below ``VERIFY_MIN`` are flagged
   anyway and get no second reading.
5. :func:`jimu.extractors.text_cleanup.text_confidence` turns the per-character confidences and
   every doubt into one number; ``char_confidences`` are passed on for snapping and review.

Marks (choices, check boxes, eras) count dark ink only (:mod:`jimu.extractors.marks`), and seal ink
is taken out of 1-character digit boxes before the digit classifier sees them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from jimu.extractors.crops import TextInk, crop, dropout, paper_level, suppress_mid_gray, text_ink
from jimu.extractors.engines.base import OcrEngine, OcrRequest, OcrResult
from jimu.extractors.marks import MarkReading, group_confidence, local_fit, read_mark
from jimu.extractors.neural_text import KATAKANA, read_neural
from jimu.extractors.text_cleanup import (
    Cleaned,
    TextEvidence,
    char_margins,
    charset_class,
    clean_text,
    length_fit,
    text_confidence,
)
from jimu.forms_schema.layout import checkbox_square, date_layout, digit_cells, option_boxes, tick_square
from jimu.forms_schema.model import Box, LeafField

EMPTY_TEXT_CONFIDENCE = 0.97
EMPTY_WITH_INK_CONFIDENCE = 0.3  # there was writing-like ink, but nothing readable came out of it


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
    digits: Any  # jimu.extractors.digit_classifier.DigitClassifier
    fit_points: np.ndarray | None = None  # RegisteredPage.fit_points: where the alignment is sure


Reader = Callable[[ReadContext, LeafField], FieldReading]


# text fields: how each class of field is read, and read a second time to check
# text height handed to tesseract per class of field (measured on two corpora of all four tiers)
OCR_HEIGHT = {"kana": 24.0, "name": 24.0, "address": 32.0, "text": 28.0, "narrow": 32.0}
# the check reads kana and narrow fields again at another scale, other text with the other Japanese model
VERIFY_HEIGHT = {"kana": 32.0, "narrow": 26.0}
TEXT_VERIFY_LANG = "jpn"
VERIFY_MIN = 0.5  # below this the field is flagged anyway: no second reading
SWITCH_MARGIN = 0.1  # on disagreement, take the second reading when its weakest character is this much surer
NOISY_EMPTY_PX = 400  # an empty field from which this much seal ink or line remnant was removed
NOISY_EMPTY_CONFIDENCE = 0.93
GRAY_FOR_NEURAL = True  # the neural recogniser reads the writing's region in grey, not binarised


def _primary_request(leaf: LeafField, cls: str, ink: TextInk) -> OcrRequest:
    img = ink.for_ocr(OCR_HEIGHT[cls])
    if cls == "kana":
        return OcrRequest(image=img, lang="jpn", psm=7, whitelist=KATAKANA, alternatives=True)
    if cls == "narrow":
        return OcrRequest(image=img, lang="eng", psm=7, whitelist=leaf.charset)
    return OcrRequest(image=img, lang="Japanese", psm=7)


def _second_request(leaf: LeafField, cls: str, ink: TextInk) -> OcrRequest:
    if cls == "kana":
        return OcrRequest(image=ink.for_ocr(VERIFY_HEIGHT[cls]), lang="jpn", psm=7, whitelist=KATAKANA)
    if cls == "narrow":
        return OcrRequest(image=ink.for_ocr(VERIFY_HEIGHT[cls]), lang="eng", psm=7, whitelist=leaf.charset)
    return OcrRequest(image=ink.for_ocr(OCR_HEIGHT[cls]), lang=TEXT_VERIFY_LANG, psm=7)


def _comparable(text: str, cls: str) -> str:
    """What two readings must share to agree: the canonical form's characters."""
    s = "".join(unicodedata.normalize("NFKC", text).split())
    if cls == "kana":
        return s.translate(_HIRA_TO_KATA)
    if cls == "narrow":
        return "".join(ch for ch in s if ch.isalnum())
    return s


_HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)}


def _clean(res: OcrResult, leaf: LeafField, cls: str) -> Cleaned:
    margins = char_margins(res.text, res.char_confidences, res.alternatives) if cls == "kana" else None
    return clean_text(res.text, res.char_confidences, cls, leaf.charset, margins)


def read_text(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    """Text, kana and phone-like fields: the writing alone → OCR → cleanup → honest confidence.

    The confidence follows the weakest character (for kana: lowered by how close the runner-up
    character came), and drops when junk was cleaned out, the writing runs over the box, the
    number of characters does not fit the writing's width, or a second reading disagrees.
    """
    region = crop(ctx.image, leaf.entry)
    clean = dropout(ctx.image, ctx.mask, leaf.entry, pad_mm=-0.4)
    ink = text_ink(clean)
    if ink.empty:
        conf = NOISY_EMPTY_CONFIDENCE if ink.dropped_px >= NOISY_EMPTY_PX else EMPTY_TEXT_CONFIDENCE
        return FieldReading(leaf.id, leaf.kind, "", conf, region)
    cls = charset_class(leaf)
    if getattr(ctx.engine, "name", "") == "ppocr":
        text, conf, chars, fixed_from = read_neural(ctx.engine, leaf, cls, ink, ink.dropped_px >= NOISY_EMPTY_PX,
                                                 clean if GRAY_FOR_NEURAL else None)
        if not text:
            return FieldReading(leaf.id, leaf.kind, "", EMPTY_WITH_INK_CONFIDENCE, region)
        return FieldReading(leaf.id, leaf.kind, text, conf, region, char_confidences=chars,
                            problem="recogniser_form_fixed" if fixed_from else None)
    res = ctx.engine.recognize(_primary_request(leaf, cls, ink))
    cleaned = _clean(res, leaf, cls)
    second = _second_request(leaf, cls, ink)
    retried = False
    if not cleaned.text:
        # ink, but nothing a field like this can hold: read it once more, the other way
        res = ctx.engine.recognize(second)
        cleaned = _clean(res, leaf, cls)
        retried = True
    ev = TextEvidence(
        chars=cleaned.margins if cls == "kana" else cleaned.confidences,
        dropped=cleaned.dropped,
        dropped_inside=cleaned.dropped_inside,
        fit=length_fit(cleaned.text, cls, ink.width, ink.core_height),
        touches_edge=ink.touches_edge,
        retried=retried,
        noise=ink.dropped_px >= NOISY_EMPTY_PX,
        implausible=cleaned.implausible,
    )
    conf = text_confidence(ev)
    if not cleaned.text:
        return FieldReading(leaf.id, leaf.kind, "", EMPTY_WITH_INK_CONFIDENCE, region)
    if not retried and conf >= VERIFY_MIN:
        other = _clean(ctx.engine.recognize(second), leaf, cls)
        agrees = _comparable(other.text, cls) == _comparable(cleaned.text, cls)
        if not agrees:
            if cls != "kana" and other.text and min(other.confidences) > min(cleaned.confidences) + SWITCH_MARGIN:
                cleaned = other  # the other reading is clearly surer of its weakest character
                ev = replace(ev, chars=cleaned.confidences, dropped=cleaned.dropped,
                             dropped_inside=cleaned.dropped_inside, implausible=cleaned.implausible,
                             fit=length_fit(cleaned.text, cls, ink.width, ink.core_height))
            ev = replace(ev, agrees=False)
            conf = text_confidence(ev)
    return FieldReading(leaf.id, leaf.kind, cleaned.text, conf, region, char_confidences=list(ev.chars))


MIN_DIGIT_INK = 0.01  # share of a 1文字枠's inner 70% that must be dark ink for a digit read in it to count
FAINT_DIGIT_CONFIDENCE = 0.3  # (written digits measured 7.7% or more on the samples; empty boxes 0%)


def ink_share(cell: np.ndarray) -> float:
    """Share of the inner 70% of a cell (away from its printed box) dark enough to be writing."""
    h, w = cell.shape[:2]
    inner = cell[int(h * 0.15):int(h * 0.85), int(w * 0.15):int(w * 0.85)]
    return float((inner < 128).mean()) if inner.size else 0.0


def _read_cells(ctx: ReadContext, cells: list[Box], paper: float | None = None) -> tuple[str, float, list[float], bool]:
    """Digits of 1-character boxes. Returns (digits, confidence, per-digit probs, gap inside).

    A digit read in a box that holds almost no ink (a count in an empty-looking box) caps the
    field's confidence at FAINT_DIGIT_CONFIDENCE: the classifier alone is not evidence enough.

    With ``paper`` (the field's paper level), seal ink is taken out of the boxes first.
    """
    crops = [crop(ctx.image, c, pad_mm=-0.15) for c in cells]
    if paper is not None:
        crops = [suppress_mid_gray(c, paper) for c in crops]
    preds = ctx.digits.predict(crops)
    chars: list[str] = []
    probs: list[float] = []
    seen_digit = gap = False
    trailing_empty = 0
    conf = 1.0
    for p, cell in zip(preds, crops, strict=True):
        conf *= p.probability
        if p.digit is not None and ink_share(cell) < MIN_DIGIT_INK:  # no ink to back the reading
            conf = min(conf, FAINT_DIGIT_CONFIDENCE)
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
    cells = digit_cells(leaf.entry, leaf.cells, leaf.cell_w, leaf.cell_pitch)
    digits, conf, probs, gap = _read_cells(ctx, cells, paper_level(ctx.image, ctx.mask, leaf.entry))
    return FieldReading(leaf.id, leaf.kind, digits, conf, crop(ctx.image, leaf.entry), char_confidences=probs,
                        problem="digits_gap" if gap else None)


def read_date(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    lay = date_layout(leaf.entry, leaf.eras, leaf.date_boxes)
    region = crop(ctx.image, leaf.entry)
    marks: dict[str, str] = {}
    era_guessed = False
    if len(lay.eras) == 1:
        era: str | None = lay.eras[0][0]
        era_conf = 1.0
    else:
        fit = local_fit(ctx.image, ctx.mask, leaf.entry, ctx.fit_points)
        readings = [(e, read_mark(ctx.image, ctx.mask, b, "era", fit, leaf.entry)) for e, b in lay.eras]
        marks = {e: r.state for e, r in readings}
        marked = [e for e, r in readings if r.state == "marked"]
        era = marked[0] if len(marked) == 1 else max(readings, key=lambda t: t[1].score)[0]
        era_conf = group_confidence([r for _, r in readings], single=True)
        era_guessed = not marked
    parts = []
    conf = era_conf
    probs: list[float] = []
    paper = paper_level(ctx.image, ctx.mask, leaf.entry)
    for cells in (lay.year, lay.month, lay.day):
        d, c, p, _gap = _read_cells(ctx, cells, paper)
        parts.append(d)
        probs += p
        conf *= c
    if not any(parts) and all(s != "marked" for s in marks.values()):
        return FieldReading(leaf.id, leaf.kind, None, conf, region, marks)  # empty: no era circled, no digit
    if era_guessed:  # digits, but no era circled: the era is the likeliest one at best
        conf = min(conf, 0.3)
    problem = None
    if era is None or not all(parts):
        problem = "date_incomplete"
        conf = min(conf, 0.2)
    raw = (era, *(int(p) if p else None for p in parts))
    if problem is None:
        from jimu.validators.japanese import WarekiError, wareki_to_date

        try:
            wareki_to_date(str(era), int(parts[0]), int(parts[1]), int(parts[2]))
        except WarekiError:
            problem = "date_invalid"
            conf = min(conf, 0.2)
    return FieldReading(leaf.id, leaf.kind, raw, conf, region, marks, probs, problem)


def read_choice(ctx: ReadContext, leaf: LeafField) -> FieldReading:
    single = leaf.kind == "single_choice"
    readings: list[tuple[str, MarkReading]] = []
    fit = local_fit(ctx.image, ctx.mask, leaf.entry, ctx.fit_points)
    for opt, b in option_boxes(leaf.entry, leaf.options, leaf.mark):
        region = tick_square(b) if leaf.mark == "tick" else b
        readings.append((opt.id, read_mark(ctx.image, ctx.mask, region, leaf.mark, fit, leaf.entry)))
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
    fit = local_fit(ctx.image, ctx.mask, leaf.entry, ctx.fit_points)
    r = read_mark(ctx.image, ctx.mask, checkbox_square(leaf.entry), "tick", fit, leaf.entry)
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

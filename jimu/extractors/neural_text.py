"""Text, kana and phone-like fields read with the neural recogniser (the ``ppocr`` engine).

One recogniser call per field, on the writing-only crop of :func:`jimu.extractors.crops.text_ink`:

* kana fields are decoded under a katakana (and hiragana) whitelist, phone-like fields under
  their ``charset``; other text freely, then :func:`jimu.extractors.text_cleanup.clean_text` drops
  what the field cannot hold;
* the recogniser's known errors are handled where they are, not hidden (:mod:`jimu.extractors.known_errors`):
  Chinese character forms become the Japanese ones (稻 → 稲) and 干葉 becomes 千葉, each recorded
  as a change; a character of a confusable pair (千/干, ュ/ユ, 高/髙 …) counts only as sure as
  the margin over its twin;
* the confidence comes from the per-character probabilities (lowered by the runner-up's) and
  the same doubts as for tesseract: junk dropped, writing over the box's line, a character count
  that does not fit the writing's width, implausible characters.
"""

from __future__ import annotations

import cv2
import numpy as np

from jimu.extractors.crops import TextInk
from jimu.extractors.engines.base import OcrEngine, OcrRequest
from jimu.extractors.known_errors import fix_known_errors
from jimu.extractors.text_cleanup import (
    CharsetClass,
    TextEvidence,
    char_margins,
    clean_text,
    length_fit,
    text_confidence,
)
from jimu.forms_schema.model import LeafField

KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7)) + "ー"
HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))
NEURAL_HEIGHT = 28.0  # writing height handed to the recogniser (framed, that fills its 48-px input)
MARGIN_WEIGHT = 1.0  # how much the runner-up character's probability takes off a character's confidence


def gray_for_ocr(clean: np.ndarray, ink: TextInk, target: float = NEURAL_HEIGHT) -> np.ndarray:
    """The writing's region of the dropped-out crop in grey, contrast stretched, scaled to ``target``.

    Not the binarised writing: on phone photos and faint pens the binarisation loses thin strokes
    (保 without its right half), which the recogniser reads fine in grey. The region is the kept
    writing's box, widened by a character height each side (a faint first or last character the
    binarisation dropped is still seen) and a quarter height above and below.
    """
    x0, y0, x1, y1 = ink.bbox
    h, w = clean.shape[:2]
    th = max(ink.text_height, 1)
    mx, my = th, max(2, th // 4)
    region = clean[max(0, y0 - my): min(h, y1 + my), max(0, x0 - mx): min(w, x1 + mx)].astype(np.float32)
    paper = float(np.percentile(region, 60))
    dark = float(np.percentile(region, 1))
    span = max(paper - dark, 1.0)
    out = np.clip((region - dark) / span * 255.0, 0, 255).astype(np.uint8)
    scale = min(2.0, max(0.35, target / th))
    if abs(scale - 1.0) > 0.05:
        size = (max(1, round(out.shape[1] * scale)), max(1, round(out.shape[0] * scale)))
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    b = max(4, round(0.35 * target))
    return np.asarray(cv2.copyMakeBorder(out, b, b, b, b, cv2.BORDER_CONSTANT, value=255), dtype=np.uint8)


def neural_request(leaf: LeafField, cls: CharsetClass, ink: TextInk, clean: np.ndarray | None = None) -> OcrRequest:
    img = ink.for_ocr(NEURAL_HEIGHT) if clean is None else gray_for_ocr(clean, ink)
    if cls == "kana":
        return OcrRequest(image=img, whitelist=KATAKANA + HIRAGANA, alternatives=True)
    if cls == "narrow":
        return OcrRequest(image=img, whitelist=leaf.charset, alternatives=True)
    return OcrRequest(image=img, alternatives=True)


def read_neural(engine: OcrEngine, leaf: LeafField, cls: CharsetClass, ink: TextInk,
                noise: bool, clean: np.ndarray | None = None) -> tuple[str, float, list[float], str | None]:
    """(text, confidence, per-character confidences, what a known-error fix changed or None).

    With ``clean`` (the dropped-out crop) the recogniser reads the writing's region in grey
    (:func:`gray_for_ocr`); without, the binarised writing.
    """
    res = engine.recognize(neural_request(leaf, cls, ink, clean))
    fixed = fix_known_errors(res.text, res.char_confidences, res.alternatives, cls)
    margins = char_margins(fixed.text, fixed.confidences, fixed.alternatives, MARGIN_WEIGHT)
    cleaned = clean_text(fixed.text, fixed.confidences, cls, leaf.charset, margins)
    if not cleaned.text:
        return "", 0.0, [], None
    ev = TextEvidence(
        chars=cleaned.margins,
        dropped=cleaned.dropped,
        dropped_inside=cleaned.dropped_inside,
        fit=length_fit(cleaned.text, cls, ink.width, ink.core_height),
        touches_edge=ink.touches_edge,
        noise=noise,
        implausible=cleaned.implausible,
    )
    changed = fixed.original if fixed.changed else None
    return cleaned.text, text_confidence(ev), list(cleaned.margins), changed

"""Text, kana and phone-like fields read with the neural recogniser (the ``ppocr`` engine).

One recogniser call per field, on the writing-only crop of :func:`extractors.crops.text_ink`:

* kana fields are decoded under a katakana (and hiragana) whitelist, phone-like fields under
  their ``charset``; other text freely, then :func:`extractors.text_cleanup.clean_text` drops
  what the field cannot hold;
* the recogniser's known errors are handled where they are, not hidden (:mod:`extractors.known_errors`):
  Chinese character forms become the Japanese ones (稻 → 稲) and 干葉 becomes 千葉, each recorded
  as a change; a character of a confusable pair (千/干, ュ/ユ, 高/髙 …) counts only as sure as
  the margin over its twin;
* the confidence comes from the per-character probabilities (lowered by the runner-up's) and
  the same doubts as for tesseract: junk dropped, writing over the box's line, a character count
  that does not fit the writing's width, implausible characters.
"""

from __future__ import annotations

from extractors.crops import TextInk
from extractors.engines.base import OcrEngine, OcrRequest
from extractors.known_errors import fix_known_errors
from extractors.text_cleanup import (
    CharsetClass,
    TextEvidence,
    char_margins,
    clean_text,
    length_fit,
    text_confidence,
)
from forms_schema.model import LeafField

KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7)) + "ー"
HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))
NEURAL_HEIGHT = 28.0  # writing height handed to the recogniser (framed, that fills its 48-px input)
MARGIN_WEIGHT = 1.0  # how much the runner-up character's probability takes off a character's confidence


def neural_request(leaf: LeafField, cls: CharsetClass, ink: TextInk) -> OcrRequest:
    img = ink.for_ocr(NEURAL_HEIGHT)
    if cls == "kana":
        return OcrRequest(image=img, whitelist=KATAKANA + HIRAGANA, alternatives=True)
    if cls == "narrow":
        return OcrRequest(image=img, whitelist=leaf.charset, alternatives=True)
    return OcrRequest(image=img, alternatives=True)


def read_neural(engine: OcrEngine, leaf: LeafField, cls: CharsetClass, ink: TextInk,
                noise: bool) -> tuple[str, float, list[float], str | None]:
    """(text, confidence, per-character confidences, what a known-error fix changed or None)."""
    res = engine.recognize(neural_request(leaf, cls, ink))
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

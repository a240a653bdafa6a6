"""Forms filled on a PC: take text fields' values from the PDF's text layer instead of OCR."""

from __future__ import annotations

from jimu.extractors.readers import FieldReading
from jimu.extractors.text_cleanup import allowed, charset_class
from jimu.extractors.types import TextWord
from jimu.forms_schema.model import FormDefinition

TEXT_LAYER_CONFIDENCE = 0.995
BAD_CHARS_CONFIDENCE = 0.0  # typed text holding characters the field cannot hold: a person decides


def read_text_layer(form: FormDefinition, words: list[TextWord]) -> dict[str, FieldReading]:
    """Text, kana and digit fields whose entry box holds words of the text layer (by word centre).

    Printed labels sit in label cells, outside entry boxes, so they are not picked up. A text
    holding characters its field may not hold is kept as read, with ``problem="bad_characters"``.
    Choices and dates are drawn marks, not text: they are read from the raster as usual.
    """
    out: dict[str, FieldReading] = {}
    for leaf in form.leaf_fields():
        if leaf.kind not in ("text", "kana", "digits"):
            continue
        e = leaf.entry
        inside = [w for w in words if e.x <= (w.x0 + w.x1) / 2 <= e.right and e.y <= (w.y0 + w.y1) / 2 <= e.bottom]
        if not inside:
            continue
        inside.sort(key=lambda w: (round(w.y0), w.x0))
        text = "".join(w.text for w in inside)
        # typed text is evidence like any reading: it must pass the same character rules
        # (a name holding markup or Latin letters is flagged, not accepted)
        cls = charset_class(leaf)
        if leaf.kind == "digits" or all(allowed(ch, cls, leaf.charset) for ch in text if not ch.isspace()):
            out[leaf.id] = FieldReading(leaf.id, leaf.kind, text, TEXT_LAYER_CONFIDENCE)
        else:
            out[leaf.id] = FieldReading(leaf.id, leaf.kind, text, BAD_CHARS_CONFIDENCE, problem="bad_characters")
    return out

"""Forms filled on a PC: take text fields' values from the PDF's text layer instead of OCR."""

from __future__ import annotations

from extractors.readers import FieldReading
from extractors.types import TextWord
from forms_schema.model import FormDefinition

TEXT_LAYER_CONFIDENCE = 0.995


def read_text_layer(form: FormDefinition, words: list[TextWord]) -> dict[str, FieldReading]:
    """Text, kana and digit fields whose entry box holds words of the text layer (by word centre).

    Printed labels sit in label cells, outside entry boxes, so they are not picked up.
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
        out[leaf.id] = FieldReading(leaf.id, leaf.kind, text, TEXT_LAYER_CONFIDENCE)
    return out

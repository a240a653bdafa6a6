"""One document in, every field's canonical value, confidence and crop out.

The chain is paperless-style: ordered small steps, each able to stop with a typed error
(which the batch turns into a quarantine reason): register+classify → read fields → normalise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jimu.extractors.readers import FieldReading, ReadContext, read_field
from jimu.extractors.text_layer import read_text_layer
from jimu.extractors.types import Document, RegisteredPage
from jimu.forms_schema import get_form
from jimu.validators.normalize import normalize


@dataclass
class ExtractedField:
    field_id: str
    kind: str
    value: Any  # canonical
    confidence: float
    raw: Any
    crop: np.ndarray | None
    problem: str | None = None
    snapped_from: str | None = None
    marks: dict[str, str] = field(default_factory=dict)
    source: str = "ocr"  # "ocr" | "text_layer"


@dataclass
class Extraction:
    form_id: str
    form_version: int
    fields: dict[str, ExtractedField]
    rotation: int
    skew_deg: float
    match_score: float
    timings: dict[str, float]
    page_image: np.ndarray | None = None


class Extractor:
    """Holds the engines and models for a process; call :meth:`extract` per document."""

    def __init__(self, engine_name: str | None = None) -> None:
        from jimu.extractors.digit_classifier import DigitClassifier
        from jimu.extractors.engines import get_engine

        self.engine = get_engine(engine_name)
        self.digits = DigitClassifier.load()

    def close(self) -> None:
        self.engine.close()

    def extract(self, doc: Document, keep_page: bool = False) -> Extraction:
        from jimu.extractors.register import register_page
        from jimu.extractors.templates import dropout_mask

        t0 = time.perf_counter()
        page = doc.pages[0]
        reg: RegisteredPage = register_page(page)
        t1 = time.perf_counter()
        form = get_form(reg.form_id)
        ctx = ReadContext(image=reg.image, mask=dropout_mask(reg.form_id), engine=self.engine, digits=self.digits,
                          fit_points=reg.fit_points)
        layer = read_text_layer(form, page.words) if page.words else {}
        fields: dict[str, ExtractedField] = {}
        for leaf in form.leaf_fields():
            source = "ocr"
            if leaf.id in layer:
                reading: FieldReading = layer[leaf.id]
                source = "text_layer"
            else:
                reading = read_field(ctx, leaf)
            n = normalize(leaf, reading.raw, reading.confidence)
            fields[leaf.id] = ExtractedField(
                field_id=leaf.id, kind=leaf.kind, value=n.value, confidence=round(n.confidence, 4), raw=reading.raw,
                crop=reading.crop, problem=reading.problem, snapped_from=n.snapped_from, marks=reading.marks,
                source=source,
            )
        t2 = time.perf_counter()
        return Extraction(
            form_id=form.form_id, form_version=form.version, fields=fields, rotation=reg.rotation,
            skew_deg=reg.skew_deg, match_score=reg.match_score,
            timings={"register_s": t1 - t0, "read_s": t2 - t1},
            page_image=reg.image if keep_page else None,
        )

"""Ticks in check boxes, circles around options and eras: marked / not marked / unsure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from extractors.crops import dropout, ink_fraction
from forms_schema.model import Box

MarkState = Literal["marked", "unmarked", "unsure"]

# ink fraction (after dropout) of the region where a mark is expected: (marked at or above, empty at or below)
THRESHOLDS = {"tick": (0.06, 0.015), "circle": (0.045, 0.012)}
PAD_MM = {"tick": 0.8, "circle": 0.3}


@dataclass(frozen=True)
class MarkReading:
    score: float  # ink fraction
    state: MarkState
    certainty: float  # 0.5 = coin toss, 1 = clear


def classify_score(score: float, style: str) -> MarkReading:
    hi, lo = THRESHOLDS[style]
    mid, scale = (hi + lo) / 2, (hi - lo) / 10
    p = 1 / (1 + math.exp(-(score - mid) / scale))
    state: MarkState = "marked" if score >= hi else "unmarked" if score <= lo else "unsure"
    return MarkReading(score, state, max(p, 1 - p))


def read_mark(img: np.ndarray, mask: np.ndarray, region: Box, style: str) -> MarkReading:
    return classify_score(ink_fraction(dropout(img, mask, region, pad_mm=PAD_MM[style])), style)


def group_confidence(readings: list[MarkReading], single: bool) -> float:
    """Confidence of a group's reading: every mark clear, and at most one marked for a single choice."""
    if not readings:
        return 0.0
    conf = math.prod(r.certainty for r in readings)
    if any(r.state == "unsure" for r in readings):
        conf = min(conf, 0.5)
    if single and sum(r.state == "marked" for r in readings) > 1:
        conf = min(conf, 0.2)
    return conf

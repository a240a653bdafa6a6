"""Ticks in check boxes, circles around options and eras: marked / not marked / unsure.

A mark's score is the share of the region (padded a little, printed form dropped out) covered
by *dark* ink: darker than half the local paper level. Pen strokes are far darker than that
on every scan tier, while a red seal stamped over the options turns mid-grey in a grayscale
scan and is not counted (with the fixed ``INK`` level a seal over an empty option scored like
a faint circle). Measured on 30 forms per tier (clean, office, poor with seals, handwritten):

=======  =======================  =========================
style    marked, lowest score     not marked, highest score
=======  =======================  =========================
tick     0.037 (handwritten)      0.004 (poor)
circle   0.055 (poor)             0.009 (handwritten)
era      0.094 (poor)             0.037 (handwritten: a big circle reaches the next era)
=======  =======================  =========================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from extractors.crops import INK, crop
from forms_schema.model import Box

MarkState = Literal["marked", "unmarked", "unsure"]

# dark-ink share of the region where a mark is expected: (marked at or above, empty at or below)
THRESHOLDS = {"tick": (0.02, 0.01), "circle": (0.03, 0.015), "era": (0.065, 0.045)}
PAD_MM = {"tick": 0.8, "circle": 0.3, "era": 0.3}
DARK_RATIO = 0.5  # ink must be darker than this share of the paper level to count as a pen mark


@dataclass(frozen=True)
class MarkReading:
    score: float  # dark-ink fraction
    state: MarkState
    certainty: float  # 0.5 = coin toss, 1 = clear


def classify_score(score: float, style: str) -> MarkReading:
    hi, lo = THRESHOLDS[style]
    mid, scale = (hi + lo) / 2, (hi - lo) / 10
    p = 1 / (1 + math.exp(-(score - mid) / scale))
    state: MarkState = "marked" if score >= hi else "unmarked" if score <= lo else "unsure"
    return MarkReading(score, state, max(p, 1 - p))


def mark_score(img: np.ndarray, mask: np.ndarray, region: Box, style: str) -> float:
    """Share of the padded region covered by dark ink that is not the printed form."""
    pad = PAD_MM[style]
    c = crop(img, region, pad)
    if c.size == 0:
        return 0.0
    m = crop(mask, region, pad)[: c.shape[0], : c.shape[1]]
    free = c[~m]
    paper = float(np.median(free)) if free.size else 255.0
    dark = (c < min(INK, DARK_RATIO * paper)) & ~m
    return float(dark.mean())


def read_mark(img: np.ndarray, mask: np.ndarray, region: Box, style: str) -> MarkReading:
    return classify_score(mark_score(img, mask, region, style), style)


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

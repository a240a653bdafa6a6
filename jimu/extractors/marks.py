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

Only the applicant's ink counts, wherever registration left the printed form:

* :func:`local_fit` measures how far the printed lines around a field lie from the template's
  (a phase correlation of the dropout mask against the page, a few mm around the field) and the
  marks are judged with the mask moved by that much, so a box edge that registration missed by
  a fraction of a millimetre is still taken out (and the mask is grown by one more pixel);
* a mark's region is kept inside its field's entry box (``within``): the last option of a
  table cell reaches the cell's ruled border, which otherwise scored as a circle (empty
  table rows read 女);
* where the alignment is not sure — the printed lines sit more than :data:`UNSURE_SHIFT_MM`
  off, or the registration's refinement windows near the field disagree with the fit or are
  missing (``RegisteredPage.fit_points``) — every mark of the field is ``unsure``.

Colour scans reach here as an ink-preserving gray (:func:`jimu.extractors.ingest.ink_gray`): blue
pen is dark, a red seal nearly paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from jimu.extractors.crops import INK, box_px, crop
from jimu.extractors.types import PX_PER_MM
from jimu.forms_schema.model import Box

MarkState = Literal["marked", "unmarked", "unsure"]

# dark-ink share of the region where a mark is expected: (marked at or above, empty at or below)
THRESHOLDS = {"tick": (0.02, 0.01), "circle": (0.03, 0.015), "era": (0.065, 0.045)}
PAD_MM = {"tick": 0.8, "circle": 0.3, "era": 0.3}
DARK_RATIO = 0.5  # ink must be darker than this share of the paper level to count as a pen mark
UNSURE_SHIFT_MM = 1.0  # printed lines further off than this around a field: its marks are unsure
LOCAL_PAD_MM = 3.0  # how much of the form around a field the local offset is measured on
LOCAL_MIN_RESPONSE = 0.08
FIT_NEAREST = 4  # registration windows consulted around a field
FIT_MAX_RESIDUAL_MM = 1.0
FIT_MAX_DISTANCE_MM = 90.0
WITHIN_INSET_MM = 0.5  # a mark's region stays this far inside its entry box (off the ruled border)


@dataclass(frozen=True)
class LocalFit:
    """Where the printed form lies around one field, relative to the registered template (px)."""

    dx: float = 0.0
    dy: float = 0.0
    sure: bool = True
    why: str = ""


def registration_sure(fit_points: np.ndarray | None, box: Box) -> bool:
    """True when the registration's refinement windows near ``box`` agree with the final fit.

    ``fit_points`` is ``RegisteredPage.fit_points`` (N×4: x, y, residual px, inlier); None
    means not measured (no judgement), no rows means the refinement found no support at all.
    """
    if fit_points is None:
        return True
    if len(fit_points) == 0:
        return False
    c = np.array([(box.x + box.w / 2) * PX_PER_MM, (box.y + box.h / 2) * PX_PER_MM])
    d = np.linalg.norm(fit_points[:, :2] - c, axis=1)
    near = np.argsort(d)[:FIT_NEAREST]
    inl = fit_points[near, 3] > 0.5
    if int(inl.sum()) < min(2, len(near)) or float(d[near][inl].min()) > FIT_MAX_DISTANCE_MM * PX_PER_MM:
        return False
    return float(np.median(fit_points[near, 2])) <= FIT_MAX_RESIDUAL_MM * PX_PER_MM


def local_fit(img: np.ndarray, mask: np.ndarray, box: Box, fit_points: np.ndarray | None = None) -> LocalFit:
    """The local offset of the printed form around ``box``, and whether the field's marks can be judged."""
    if not registration_sure(fit_points, box):
        return LocalFit(sure=False, why="registration")
    c = crop(img, box, LOCAL_PAD_MM)
    m = crop(mask, box, LOCAL_PAD_MM)[: c.shape[0], : c.shape[1]]
    if c.shape[0] < 16 or c.shape[1] < 16 or m.shape != c.shape or float(m.mean()) < 0.01:
        return LocalFit()  # nothing printed around it to measure against
    tm = m.astype(np.float32)
    tm -= float(tm.mean())
    pd = 255.0 - c.astype(np.float32)
    pd -= float(pd.mean())
    hann = cv2.createHanningWindow((c.shape[1], c.shape[0]), cv2.CV_32F)
    (dx, dy), resp = cv2.phaseCorrelate(tm, pd, hann)
    if resp < LOCAL_MIN_RESPONSE:
        return LocalFit()  # too little structure to tell; the registration's own measure stands
    if math.hypot(dx, dy) > UNSURE_SHIFT_MM * PX_PER_MM:
        return LocalFit(dx, dy, sure=False, why="offset")
    return LocalFit(float(dx), float(dy))


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


def _padded(region: Box, pad: float, within: Box | None) -> Box:
    x0, y0, x1, y1 = region.x - pad, region.y - pad, region.right + pad, region.bottom + pad
    if within is not None:
        i = WITHIN_INSET_MM
        x0, y0 = max(x0, within.x + i), max(y0, within.y + i)
        x1, y1 = min(x1, within.right - i), min(y1, within.bottom - i)
    return Box(x=x0, y=y0, w=max(x1 - x0, 0.1), h=max(y1 - y0, 0.1))


def mark_score(img: np.ndarray, mask: np.ndarray, region: Box, style: str, fit: LocalFit | None = None,
               within: Box | None = None) -> float:
    """Share of the padded region covered by dark ink that is not the printed form.

    With ``fit`` the page is read where the printed form actually lies (its local offset), so
    the mask covers the printed lines; ``within`` keeps the region inside the field's entry box.
    """
    b = _padded(region, PAD_MM[style], within)
    x0, y0, x1, y1 = box_px(b, 0.0)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    dx, dy = (round(fit.dx), round(fit.dy)) if fit is not None else (0, 0)
    dx = min(max(dx, -x0), w - x1)  # stay on the page
    dy = min(max(dy, -y0), h - y1)
    c = img[y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    if c.size == 0:
        return 0.0
    m = mask[y0:y1, x0:x1]
    m = cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # printed-line residue
    free = c[~m]
    paper = float(np.median(free)) if free.size else 255.0
    dark = (c < min(INK, DARK_RATIO * paper)) & ~m
    return float(dark.mean())


def read_mark(img: np.ndarray, mask: np.ndarray, region: Box, style: str, fit: LocalFit | None = None,
              within: Box | None = None) -> MarkReading:
    score = mark_score(img, mask, region, style, fit, within)
    if fit is not None and not fit.sure:
        return MarkReading(score, "unsure", 0.5)
    return classify_score(score, style)


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

"""Which of Jimu's forms is this page? Layout matching against the blank templates.

All five forms share the corner marks and a similar header, so the decision rests on the
layout: ruled boxes, label cells, headings.  A page already registered onto the template grid
is reduced to an ink map at ``COARSE_DPI`` and compared with every template:

* ``recall`` — the fraction of the template's own printed ink (lines, labels) that has ink on
  the page (the page's ink is grown by one coarse pixel, ±0.5 mm).  Filled values only add ink,
  so they never lower it;
* ``extra`` — the density of page ink where the template is white *and* nobody writes (outside
  entry areas, seal and office-use boxes, grown a little).  Another form's boxes, a letter's
  text or a photo land there.

``score = recall - EXTRA_WEIGHT * extra`` (clipped to 0..1).  The page is a form when the best
score reaches :data:`MIN_SCORE` and beats the second best by :data:`MIN_MARGIN`; otherwise it
is unknown, and a page of some other document is never forced into a form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors.templates import Template, all_templates, to_coarse_gray
from jimu.extractors.types import Page, RegisteredPage

INK_DARKNESS = 0.25  # coarse darkness (0..1, background normalised) above which a pixel is ink
EXTRA_WEIGHT = 2.0
MIN_SCORE = 0.6
MIN_MARGIN = 0.1
TOLERANT_GROW = 6  # coarse px (3 mm): "looks like this form, but could not be aligned"

B = NDArray[np.bool_]
F32 = NDArray[np.float32]


@dataclass(frozen=True)
class FormScore:
    form_id: str
    title: str
    score: float
    recall: float
    extra: float


@dataclass(frozen=True)
class Classification:
    """Scores for every candidate form, best first; ``form_id`` is None when the page is unknown."""

    form_id: str | None
    score: float
    ranked: list[FormScore] = field(default_factory=list)

    @property
    def scores(self) -> dict[str, float]:
        return {s.form_id: s.score for s in self.ranked}

    @property
    def best(self) -> FormScore | None:
        return self.ranked[0] if self.ranked else None

    @property
    def margin(self) -> float:
        if len(self.ranked) < 2:
            return self.ranked[0].score if self.ranked else 0.0
        return self.ranked[0].score - self.ranked[1].score

    def describe(self) -> str:
        """A sentence for a clerk (no personal data)."""
        b = self.best
        if b is None:
            return "No form to compare this page with."
        if self.form_id is not None:
            return f"This page is {b.title} (match {b.score:.2f})."
        if b.score < MIN_SCORE:
            return f"This page does not match any of Jimu's forms (best match {b.score:.2f} with {b.title})."
        second = self.ranked[1]
        return (
            f"This page matches several of Jimu's forms too closely to tell them apart "
            f"({b.title} {b.score:.2f}, {second.title} {second.score:.2f})."
        )


def ink_map(darkness: F32) -> tuple[B, B]:
    """(ink, ink grown by one pixel) of a background-normalised coarse darkness map."""
    ink = (darkness > INK_DARKNESS).astype(np.uint8)
    grown = cv2.dilate(ink, np.ones((3, 3), np.uint8))
    return ink.astype(bool), grown.astype(bool)


def score_template(ink: B, grown: B, t: Template, valid: B | None = None) -> FormScore:
    line = t.line if valid is None else t.line & valid
    n_line = np.count_nonzero(line)
    recall = np.count_nonzero(grown & line) / n_line if n_line else 0.0
    forbidden = t.forbidden if valid is None else t.forbidden & valid
    n_forb = np.count_nonzero(forbidden)
    extra = np.count_nonzero(ink & forbidden) / n_forb if n_forb else 1.0
    score = float(np.clip(recall - EXTRA_WEIGHT * extra, 0.0, 1.0))
    return FormScore(form_id=t.form_id, title=t.title, score=score, recall=float(recall), extra=float(extra))


def score_all(darkness: F32, templates: list[Template], valid: B | None = None) -> list[FormScore]:
    """Scores of a coarse darkness map on the template grid against every template, best first."""
    ink, grown = ink_map(darkness)
    out = [score_template(ink, grown, t, valid) for t in templates]
    return sorted(out, key=lambda s: -s.score)


def tolerant_scores(darkness: F32, templates: list[Template], valid: B | None = None,
                    grow: int = TOLERANT_GROW) -> list[FormScore]:
    """Scores with ``grow`` coarse pixels (0.5 mm each) of tolerance, best first.

    A page of a form that registration could not align (crumpled, folded, photographed too
    steeply) still scores well here; a page of another document still does not: its ink lands
    in the template's white areas, which are only shrunk by the same tolerance.
    """
    ink = (darkness > INK_DARKNESS).astype(np.uint8)
    k = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    grown = cv2.dilate(ink, k).astype(bool)
    out = []
    for t in templates:
        line = t.line if valid is None else t.line & valid
        forbidden = cv2.erode(t.forbidden.astype(np.uint8), k).astype(bool)
        if valid is not None:
            forbidden &= valid
        n_line, n_forb = np.count_nonzero(line), np.count_nonzero(forbidden)
        recall = np.count_nonzero(grown & line) / n_line if n_line else 0.0
        extra = np.count_nonzero(ink.astype(bool) & forbidden) / n_forb if n_forb else 1.0
        score = float(np.clip(recall - EXTRA_WEIGHT * extra, 0.0, 1.0))
        out.append(FormScore(form_id=t.form_id, title=t.title, score=score, recall=float(recall), extra=float(extra)))
    return sorted(out, key=lambda s: -s.score)


def decide(ranked: list[FormScore]) -> Classification:
    if not ranked:
        return Classification(form_id=None, score=0.0, ranked=[])
    best = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    ok = best.score >= MIN_SCORE and best.score - second >= MIN_MARGIN
    return Classification(form_id=best.form_id if ok else None, score=best.score, ranked=ranked)


def normalised_darkness(coarse: NDArray[np.uint8]) -> F32:
    """Darkness 0..1 of a coarse gray page relative to a smooth paper-level estimate.

    The paper level is a max-filter (10 mm) of a 4× smaller copy, blurred: it follows uneven
    lighting but not ruled lines, text or the 5 mm marks.  It never drops below 60 % of the
    page's bright level, so a large dark area (a photo) stays dark.
    """
    h, w = coarse.shape
    small = cv2.resize(coarse, (max(4, w // 4), max(4, h // 4)), interpolation=cv2.INTER_AREA)
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    bg = cv2.GaussianBlur(bg, (0, 0), 2.0)
    bgf = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    bright = float(np.percentile(small, 98))
    np.maximum(bgf, 0.6 * bright, out=bgf)
    d = 1.0 - coarse.astype(np.float32) / np.maximum(bgf, 1.0)
    return np.asarray(np.clip(d, 0.0, 1.0), dtype=np.float32)


def registered_darkness(image: NDArray[np.uint8]) -> F32:
    """Coarse, background-normalised darkness of a page already on the template grid."""
    return normalised_darkness(to_coarse_gray(image))


def classify_page(
    page: Page | RegisteredPage, form_ids: list[str] | None = None
) -> Classification:
    """Decide which form a page is (or None = unknown), with scores for every candidate form.

    A :class:`RegisteredPage` is scored as it lies on the template grid; a raw :class:`Page` is
    registered first (orientation, skew, shift), without raising for unknown pages.
    Raises BlankPageError for a blank raw page.
    """
    templates = all_templates(form_ids)
    if isinstance(page, RegisteredPage):
        return decide(score_all(registered_darkness(page.image), templates))
    from jimu.extractors.register import locate

    return locate(page, form_ids).classification

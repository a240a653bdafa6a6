"""Register a scanned or photographed page onto its form's template: orientation, skew, scale, perspective.

After :func:`register_page`, template millimetres × ``PX_PER_MM`` land on the right pixel of
``RegisteredPage.image`` (WORK_DPI, template-sized), whatever the scan's dpi, skew, shift, scale,
orientation (0/90/180/270) or — for a phone photo of a page lying flat — perspective.

How (all searches on a ~50-dpi copy; one full-resolution warp at the end):

1. **Prepare** (:mod:`jimu.extractors.page_prep`) — grayscale, the scale (metadata checked against
   the A4 size; without metadata the A4 size, or the corner-mark spacing), a coarse darkness map
   normalised for uneven lighting.  Almost no ink → :class:`BlankPageError`.
2. **Marks** (:mod:`jimu.extractors.corner_marks`) — the four corner squares give a first transform:
   a similarity or affine, or, under perspective, the homography the four marks give exactly.
3. **Search (fallback)** (:mod:`jimu.extractors.register_search`) — when fewer than two marks
   are usable (cut off, covered) or the marks give no good match: skew from projection profiles,
   translation by phase correlation against each template, then ECC (``cv2.findTransformECC``,
   ``MOTION_AFFINE``) on the coarse ink maps.
4. **Classify** — the coarse page, warped onto the template grid, is scored against every
   template (:mod:`jimu.extractors.classify`); best orientation and form win.
5. **Refine** (:mod:`jimu.extractors.register_refine`) — ~30 windows around box corners and
   crossings of the chosen template are aligned one by one (phase correlation at WORK_DPI), and a
   robust fit (RANSAC; an affine, or a homography when it explains the windows clearly better,
   :func:`jimu.extractors.homography.fit_robust`) gives the final 3×3 transform.  The windows'
   residuals are kept (``RegisteredPage.fit_points``): readers use them to tell where on the page
   the alignment is not sure.

A page that looks like one form but cannot be aligned onto it raises :class:`AlignmentError`, not
:class:`UnknownFormError`: it scores ≥ MIN_SCORE only with a tolerance of a few mm, or it is
classified but the refinement found no support on some half of the page (:func:`~jimu.extractors.register_refine.supported`:
folded, crumpled, photographed too steeply).  The evaluation harness lives in :mod:`jimu.bench.register_eval`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from jimu.errors import AlignmentError, BlankPageError, UnknownFormError
from jimu.extractors import feature_align as FA
from jimu.extractors import homography as H
from jimu.extractors import page_prep as P
from jimu.extractors.classify import Classification, FormScore, decide, normalised_darkness, tolerant_scores
from jimu.extractors.corner_marks import Hyp, Mark, dpi_from_marks, find_marks, mark_hypotheses
from jimu.extractors.page_prep import effective_dpi, to_gray
from jimu.extractors.register_refine import _centre, refine, supported, window_residuals
from jimu.extractors.register_search import search_hypotheses
from jimu.extractors.templates import Template, all_templates
from jimu.extractors.types import WORK_DPI, Page, RegisteredPage

__all__ = [
    "Location", "effective_dpi", "locate", "normalised_darkness", "register_page", "to_gray", "warp_to_template",
]

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]

DPI_GUESS_STEPS = (1.0, 1.25, 0.8)  # a page without a sure scale: where to look for the marks
DPI_AGREE = 0.04  # the marks' spacing overrides a size-based estimate that is further off than this
REFINE_MAY_COST = 0.02  # a refinement that lowers the match score by more than this is not taken
VERIFY_MAX_EXTRA = 0.01  # a form classified by its features alone: at most this much ink where it is white
VERIFY_MIN_RECALL = 0.2  # ... and at least this share of its ruling found
FEATURES_BELOW = 0.9  # a marks hypothesis scoring less than this is checked against the printed features


@dataclass
class Location:
    """Where a page lies relative to its form's template (no pixels warped yet)."""

    classification: Classification
    matrix: F64  # 3×3: template px (WORK_DPI) → page px
    rotation: int  # quarter turn (clockwise) of the content on the page
    marks: int  # corner marks used for the first estimate (0 = searched)
    method: str  # "marks" | "features" | "search"
    timings: dict[str, float] = field(default_factory=dict)
    dpi: float = 0.0  # the page's scale as registration measured it
    fit_points: F64 | None = None  # N×4 (x, y, residual px, inlier) of the last refinement, template px
    tolerant: Classification | None = None  # scores with a few mm of tolerance (set when unclassified)
    aligned: bool = True  # the refinement found support all over the page (see ``supported``)

    @property
    def form_id(self) -> str | None:
        return self.classification.form_id


# --------------------------------------------------------------------------- entry points
def _marks_and_scale(page: Page) -> tuple[P.Prep, list[Mark]]:
    """Prepared page and its corner marks; without a known scale, the marks' spacing sets it."""
    prep = P.prepare(page)
    if P.is_blank(prep.dark):
        raise BlankPageError(f"Page {page.page_no + 1} is blank.")
    marks = find_marks(prep)
    if prep.dpi_sure:
        return prep, marks
    t = next((t for t in all_templates() if len(t.mark_centres)), None)  # every A4 form of Jimu's shares one layout
    if t is None:  # only forms without marks: the printed features find the scale
        return prep, marks
    guess = prep.dpi
    for step in DPI_GUESS_STEPS:
        p = prep if step == 1.0 else P.prepare(page, prep.gray, guess * step)
        ms = marks if step == 1.0 else find_marks(dataclasses.replace(p, dpi_sure=False))
        measured = dpi_from_marks(ms, t)
        if measured is None:
            continue
        if abs(measured / guess - 1) < DPI_AGREE:
            return prep, marks  # the estimate from the size holds
        p2 = P.prepare(page, prep.gray, measured)
        # the scale is now the marks' own, but the page still lies anywhere in the photo: keep the wide reach
        return p2, find_marks(dataclasses.replace(p2, dpi_sure=False))
    return prep, marks


Best = tuple[list[FormScore], F64, int]  # (ranked scores, matrix, quarter turn)


def _refined(prep: P.Prep, best: Best, templates: list[Template]) -> tuple[Best, F64 | None, bool]:
    """Refine a hypothesis window by window; (re-scored hypothesis, fit points, aligned all over)."""
    ranked, m, rot = best
    t = next(t for t in templates if t.form_id == ranked[0].form_id)
    points: F64 | None = None
    if decide(ranked).form_id is not None or ranked[0].score > 0.3:
        m2, _, points = refine(prep.gray, m, t)
        ranked2 = P.score(prep, m2, templates)
        if ranked2[0].score >= ranked[0].score - REFINE_MAY_COST:
            ranked, m = ranked2, m2
        else:  # the window fit made it worse (few windows on a blurred photo): keep and measure the hypothesis
            points = window_residuals(prep.gray, m, t)
    return (ranked, m, rot), points, points is not None and supported(points, t)


def locate(page: Page, form_ids: list[str] | None = None) -> Location:
    """Find orientation, form and transform of a page. Raises BlankPageError; never UnknownFormError.

    Hypotheses come from the corner marks first; when they give none that classifies well (no
    marks, a form without marks, marks cut off or seen too steeply) or their fit does not hold
    after refinement, from the printed features (:mod:`jimu.extractors.feature_align`); then from a
    coarse search."""
    timings: dict[str, float] = {}  # seconds since the start, after each step
    t0 = time.perf_counter()
    templates = all_templates(form_ids)
    if not templates:
        raise ValueError("locate() needs at least one candidate form")
    prep, marks = _marks_and_scale(page)
    timings["marks"] = time.perf_counter() - t0
    hyps: list[Hyp] = []
    if len(marks) >= 2:  # one set of hypotheses per distinct mark layout (all A4 forms share one)
        layouts = {t.mark_centres.tobytes(): t for t in templates if len(t.mark_centres)}
        for t in layouts.values():
            hyps += mark_hypotheses(marks, t, prep.dpi)
        hyps.sort(key=lambda h: (-h.n_marks, h.residual))
    best: Best | None = None
    method, n_marks = "marks", 0
    for h in hyps[:4]:
        ranked = P.score(prep, h.matrix, templates)
        if best is None or ranked[0].score > best[0][0].score:
            best = (ranked, h.matrix, h.rotation)
            n_marks = h.n_marks
    timings["score"] = time.perf_counter() - t0
    points: F64 | None = None
    aligned = False
    if best is not None and best[0][0].score >= FEATURES_BELOW:
        best, points, aligned = _refined(prep, best, templates)
    fits: list[FA.FeatureFit] = []
    if not aligned or decide(best[0] if best else []).form_id is None:  # the printed features
        fits = FA.hypotheses(prep.gray, prep.dpi, templates)
        for fit in fits[:2]:
            cand, pts, ok = _refined(prep, (P.score(prep, fit.matrix, templates), fit.matrix, fit.rotation), templates)
            if not ok and supported(fit.points, fit.template):
                # the windows found too little (a fax's lost ruling), but the features hold all over
                cand, pts, ok = (P.score(prep, fit.matrix, templates), fit.matrix, fit.rotation), fit.points, True
            if best is None or (ok, cand[0][0].score) > (aligned, best[0][0].score):
                best, points, aligned, method, n_marks = cand, pts, ok, "features", 0
        timings["features"] = time.perf_counter() - t0
    if best is None or decide(best[0]).form_id is None:
        found = search_hypotheses(prep, templates)
        if found and (best is None or found[0][0][0].score > best[0][0].score):
            best, points, aligned = _refined(prep, found[0], templates)
            method, n_marks = "search", 0
        timings["search"] = time.perf_counter() - t0
    elif method == "marks" and points is None:  # a good marks hypothesis not refined yet
        best, points, aligned = _refined(prep, best, templates)
    if best is None:  # unreachable with at least one template; keeps the types honest
        raise UnknownFormError("This page does not match any of Jimu's forms.")
    ranked, m, rot = best
    timings["refine"] = time.perf_counter() - t0
    cls = decide(ranked)
    if cls.form_id is None and method == "features" and aligned:
        cls = _verified_by_features(cls, fits)
    tolerant = None
    if cls.form_id is None:
        warped, valid = P.warp_coarse(prep, m, templates[0])
        tolerant = decide(tolerant_scores(warped, templates, valid))
    return Location(
        classification=cls, matrix=m, rotation=rot, marks=n_marks, method=method, timings=timings,
        dpi=prep.dpi, fit_points=points, tolerant=tolerant, aligned=aligned,
    )


def _verified_by_features(unknown: Classification, fits: list[FA.FeatureFit]) -> Classification:
    """A city's own form whose ruling the capture lost (a standard-mode fax): its printed features
    decide, provided nothing is printed where the blank is white. ``unknown``: the scores' verdict."""
    if not fits:
        return unknown
    fid = fits[0].template.form_id
    s = next((s for s in unknown.ranked if s.form_id == fid), None)
    if s is None or s.extra > VERIFY_MAX_EXTRA or s.recall < VERIFY_MIN_RECALL or not FA.verifies(fits, fid):
        return unknown
    return Classification(form_id=fid, score=s.score, ranked=[s, *[r for r in unknown.ranked if r is not s]])



def warp_to_template(gray: U8, m: F64, size: tuple[int, int]) -> U8:
    return np.asarray(H.warp_inverse(gray, m, size), dtype=np.uint8)


def register_page(page: Page, form_ids: list[str] | None = None) -> RegisteredPage:
    """Warp a page onto its form's template at WORK_DPI.

    Raises BlankPageError for a blank page, AlignmentError when the page looks like one of the
    forms but cannot be aligned onto it, and UnknownFormError when it matches none of the forms
    in ``form_ids`` (default: all installed forms) clearly enough.
    """
    loc = locate(page, form_ids)
    cls = loc.classification
    if cls.form_id is None:
        tol = loc.tolerant
        if tol is not None and tol.form_id is not None and tol.best is not None:
            raise AlignmentError.looks_like(tol.best.title, tol.best.score)
        raise UnknownFormError(cls.describe())
    if not loc.aligned and cls.best is not None:
        raise AlignmentError.looks_like(cls.best.title, cls.score)
    t = all_templates([cls.form_id])[0]
    gray = to_gray(page.image)
    image = warp_to_template(gray, loc.matrix, t.size)
    ang, sc = H.angle_scale(loc.matrix, _centre(t))
    dpi = loc.dpi
    return RegisteredPage(
        form_id=cls.form_id, image=image, rotation=loc.rotation, skew_deg=H.wrap(ang - loc.rotation),
        scale=sc / (dpi / WORK_DPI), match_score=cls.score, source_dpi=dpi, fit_points=loc.fit_points,
        perspective=not H.is_affine(loc.matrix, t.size, tol_px=0.5 * dpi / WORK_DPI),
    )


"""Markless registration: align a page to a blank form by its printed features (ORB + RANSAC).

For forms without corner marks (a city's own paper forms) and for pages whose marks do not give
a hypothesis (a steep phone photo), keypoints of the blank (at FEATURE_DPI) are matched to the
page's, and a homography is fitted robustly. ORB descriptors are rotation-invariant, so one fit
covers all four orientations; the quarter turn is read off the result. ``register.locate`` then
refines the hypothesis window by window, as it does for the marks' hypotheses.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors import homography as H
from jimu.extractors.templates import Template
from jimu.extractors.types import WORK_DPI

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

FEATURE_DPI = 100.0  # both images are matched at this resolution
N_FEATURES_TEMPLATE = 4000
N_FEATURES_PAGE = 6000
RATIO = 0.8  # Lowe's ratio test
RANSAC_PX = 4.0  # at FEATURE_DPI
MIN_INLIERS = 40
MIN_INLIER_SHARE = 0.08
VERIFY_INLIERS = 100  # a fit this strong, and VERIFY_MARGIN × any other form's, is the form by itself
VERIFY_MARGIN = 2.5

_ORB_LOCK = threading.Lock()
_TEMPLATE_FEATURES: dict[str, tuple[F64, Any]] = {}


def _orb(n: int) -> Any:
    return cv2.ORB.create(nfeatures=n, scaleFactor=1.2, nlevels=8, edgeThreshold=15, patchSize=31, fastThreshold=10)


def _features(img: U8, n: int) -> tuple[F64, Any]:
    kps, desc = _orb(n).detectAndCompute(img, None)
    pts = np.array([k.pt for k in kps], dtype=np.float64).reshape(-1, 2)
    return pts, desc


def template_features(t: Template) -> tuple[F64, Any]:
    """Keypoints (template px at FEATURE_DPI) and descriptors of a blank, computed once per template."""
    with _ORB_LOCK:
        hit = _TEMPLATE_FEATURES.get(t.key)
        if hit is None:
            k = FEATURE_DPI / WORK_DPI
            small = cv2.resize(t.image, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            hit = _TEMPLATE_FEATURES[t.key] = _features(np.asarray(small, np.uint8), N_FEATURES_TEMPLATE)
        return hit


def page_features(gray: U8, dpi: float) -> tuple[F64, Any, float]:
    """Keypoints (page px at FEATURE_DPI), descriptors and the scale used, computed once per page."""
    k = FEATURE_DPI / max(dpi, 1.0)
    small = np.asarray(cv2.resize(gray, None, fx=k, fy=k, interpolation=cv2.INTER_AREA), np.uint8)
    pp, pd = _features(small, N_FEATURES_PAGE)
    return pp, pd, k


@dataclass(frozen=True)
class FeatureFit:
    """A blank's printed features fitted onto a page."""

    matrix: F64  # template px (WORK_DPI) → page px
    rotation: int  # the page's quarter turn, clockwise
    template: Template
    inliers: int
    points: F64  # the inliers in template px, as fit points: N×4 x, y, residual (0), inlier (1)


def align(page: tuple[F64, Any, float], t: Template) -> tuple[F64, int, float, F64] | None:
    """A homography template px (WORK_DPI) → page px, its inlier count and share, and the inliers
    (template px), or None."""
    pp, pd, k = page
    tp, td = template_features(t)
    if td is None or pd is None or len(tp) < MIN_INLIERS or len(pp) < MIN_INLIERS:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(td, pd, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    src = np.array([tp[m.queryIdx] for m in good], dtype=np.float64)
    dst = np.array([pp[m.trainIdx] for m in good], dtype=np.float64)
    hm, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, RANSAC_PX, maxIters=5000, confidence=0.999)
    if hm is None or mask is None:
        return None
    inliers = int(mask.sum())
    share = inliers / len(good)
    if inliers < MIN_INLIERS or share < MIN_INLIER_SHARE:
        return None
    # template px (WORK_DPI) → template px (FEATURE_DPI) → page px (FEATURE_DPI) → page px (full)
    to_small_t = H.scale_map(WORK_DPI / FEATURE_DPI)  # maps coarse → fine; we need its inverse
    m = H.compose(H.scale_map(1.0 / k), H.compose(H.h3(hm), np.linalg.inv(to_small_t)))
    pts = src[mask.ravel() > 0] * (WORK_DPI / FEATURE_DPI)
    points = np.column_stack([pts, np.zeros(len(pts)), np.ones(len(pts))])
    return m, inliers, share, points


def quarter_turn(m: F64, t: Template) -> int:
    """The page's orientation (0/90/180/270 clockwise) read off a template → page transform."""
    ang, _ = H.angle_scale(m, (t.size[0] / 2, t.size[1] / 2))
    return round(ang / 90.0) % 4 * 90


def plausible(m: F64, t: Template, dpi: float) -> bool:
    """The fit maps the blank onto a convex page-sized quadrilateral at about the page's scale."""
    w, h = t.size
    corners = H.apply(m, np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64))
    area = 0.5 * abs(sum(corners[i, 0] * corners[(i + 1) % 4, 1] - corners[(i + 1) % 4, 0] * corners[i, 1]
                         for i in range(4)))
    expected = w * h * (dpi / WORK_DPI) ** 2
    if not 0.4 < area / max(expected, 1.0) < 2.5:
        return False
    cross = []
    for i in range(4):
        a, b, c = corners[i], corners[(i + 1) % 4], corners[(i + 2) % 4]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    return all(x > 0 for x in cross) or all(x < 0 for x in cross)


def hypotheses(gray: U8, dpi: float, templates: list[Template]) -> list[FeatureFit]:
    """One fit per template that aligns plausibly, most inliers first."""
    out = []
    page = page_features(gray, dpi)
    for t in templates:
        got = align(page, t)
        if got is None:
            continue
        m, n, _share, points = got
        if plausible(m, t, dpi) and math.isfinite(float(m.sum())):
            out.append(FeatureFit(m, quarter_turn(m, t), t, n, points))
    return sorted(out, key=lambda o: -o.inliers)


def verifies(fits: list[FeatureFit], form_id: str) -> bool:
    """The printed features alone make the page this form: a fit with many inliers, far more than
    any other form's. Used only for forms without corner marks (a city's own paper form), whose
    thin or grey ruling a fax or a photo may lose, so that the match of its lines falls short."""
    mine = next((f for f in fits if f.template.form_id == form_id), None)
    if mine is None or len(mine.template.mark_centres) or mine.inliers < VERIFY_INLIERS:
        return False
    others = max((f.inliers for f in fits if f.template.form_id != form_id), default=0)
    return mine.inliers >= VERIFY_MARGIN * others

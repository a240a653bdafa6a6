"""Registration's last step: ~30 windows around box corners and crossings aligned one by one (phase correlation
at WORK_DPI), a robust fit over them, and whether the fit has support all over the page."""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors import homography as H
from jimu.extractors.templates import PATCH_PX, Template

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

REFINE_MIN_RESPONSE = 0.04
REFINE_MIN_INLIERS = 6


def _centre(t: Template) -> tuple[float, float]:
    return (t.size[0] - 1) / 2, (t.size[1] - 1) / 2


_HANN: F32 | None = None


def _hann() -> F32:
    global _HANN
    if _HANN is None:
        _HANN = np.asarray(cv2.createHanningWindow((PATCH_PX, PATCH_PX), cv2.CV_32F), dtype=np.float32)
    return _HANN


def _corners(t: Template) -> F64:
    return np.array([[0, 0], [t.size[0], 0], [0, t.size[1]], [t.size[0], t.size[1]]], dtype=np.float64)


def refine(gray: U8, m: F64, t: Template, passes: int = 3) -> tuple[F64, int, F64 | None]:
    """Window-by-window alignment, repeated while it still moves the page by more than 0.5 px.

    Returns (matrix, inliers, fit points of the last pass: N×4 x, y, residual px, inlier).
    """
    corners = _corners(t)
    inliers = 0
    points: F64 | None = None
    for i in range(passes):
        m2, n, pts = refine_once(gray, m, t, max_shift_px=30.0 if i == 0 else 12.0)
        if pts is not None:
            points = pts
        if n == 0:
            break
        moved = float(np.abs(H.apply(m2, corners) - H.apply(m, corners)).max())
        m, inliers = m2, n
        if moved < 0.5:
            break
    return m, inliers, points


def _window_matches(gray: U8, m: F64, t: Template, max_shift_px: float) -> tuple[F64, F64]:
    """Template windows (centres, template px) and where they were found on the page (page px)."""
    half = PATCH_PX // 2
    hann = _hann()
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    for cx, cy in t.patches:
        tp = t.patch_darkness(cx, cy)
        if float(tp.std()) < 0.02:
            continue
        mp = H.compose(m, H.translation(round(cx) - half, round(cy) - half))
        pp = H.warp_inverse(gray, mp, (PATCH_PX, PATCH_PX))
        pd = 255.0 - pp.astype(np.float32)
        pd -= float(pd.mean())
        (dx, dy), resp = cv2.phaseCorrelate(tp - float(tp.mean()), pd, hann)
        if resp < REFINE_MIN_RESPONSE or math.hypot(dx, dy) > max_shift_px:
            continue
        src.append((cx, cy))
        dst.append(tuple(H.apply(m, np.array([[cx + dx, cy + dy]]))[0]))
    return np.array(src, np.float64).reshape(-1, 2), np.array(dst, np.float64).reshape(-1, 2)


def window_residuals(gray: U8, m: F64, t: Template, inlier_px: float = 2.0) -> F64:
    """Fit points of a matrix as it stands (no new fit): N×4 x, y, residual px, inlier."""
    s, d = _window_matches(gray, m, t, 12.0)
    if not len(s):
        return np.zeros((0, 4))
    page_px_per_t = H.angle_scale(m, _centre(t))[1]
    res = np.linalg.norm(H.apply(m, s) - d, axis=1) / max(page_px_per_t, 1e-6)
    return np.column_stack([s, res, (res < inlier_px).astype(np.float64)])


def refine_once(gray: U8, m: F64, t: Template, max_shift_px: float = 30.0) -> tuple[F64, int, F64 | None]:
    """Align the template's structured windows one by one; robust fit. Returns (matrix, inliers, points)."""
    s, d = _window_matches(gray, m, t, max_shift_px)
    if len(s) < REFINE_MIN_INLIERS:
        return m, 0, np.zeros((0, 4))
    page_px_per_t = H.angle_scale(m, _centre(t))[1]
    got = H.fit_robust(s, d, 1.5 * max(page_px_per_t, 0.5), REFINE_MIN_INLIERS)
    if got is None:
        return m, 0, np.zeros((0, 4))
    fit, inl = got
    # do not let a bad fit move the page a lot: compare on the page's corners
    corners = _corners(t)
    if float(np.abs(H.apply(fit, corners) - H.apply(m, corners)).max()) > 3 * max_shift_px:
        return m, 0, np.zeros((0, 4))
    res = np.linalg.norm(H.apply(fit, s) - d, axis=1) / max(page_px_per_t, 1e-6)
    points = np.column_stack([s, res, inl.astype(np.float64)])
    return fit, int(inl.sum()), points



def supported(points: F64, t: Template) -> bool:
    """Refinement inliers on both halves of the page, across and down, and enough of them.

    A page folded across the middle, or photographed so steeply that only part of it was
    aligned, has windows that agree with the fit on one side only. The halves are those of the
    template's own windows (its printed area), not of the sheet.
    """
    inl = points[points[:, 3] > 0.5, :2] if len(points) else np.zeros((0, 2))
    if len(inl) < REFINE_MIN_INLIERS:
        return False
    # the halves of the form's printed area (a real form may print on its top half only)
    (x0, y0), (x1, y1) = t.patches.min(axis=0), t.patches.max(axis=0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    halves = (inl[:, 0] < cx, inl[:, 0] >= cx, inl[:, 1] < cy, inl[:, 1] >= cy)
    return all(int(np.count_nonzero(half)) >= 2 for half in halves)

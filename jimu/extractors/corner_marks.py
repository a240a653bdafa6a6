"""The four solid 5 mm corner squares: found, measured to sub-pixel, turned into first transforms.

Marks are found as compact dark blobs near the image corners (coarse map) and re-measured at
full resolution (sub-pixel centroids).  Every subset of ≥ 2 marks and every quarter turn gives
a transform (2: similarity, 3: affine, 4: affine or, under perspective, homography) whose
angle must be near the quarter turn and whose scale near the dpi's.  The marks are symmetric,
so a turn and the turn + 180° fit equally well; both are scored against the templates.
Their spacing also gives the page's scale when the file does not (:func:`dpi_from_marks`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors import homography as H
from jimu.extractors.page_prep import Prep
from jimu.extractors.templates import Template
from jimu.extractors.types import PX_PER_MM, WORK_DPI

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]

MARK_MM = 5.0
MARK_DARKNESS = 0.35
MAX_SKEW_DEG = 8.0
SCALE_TOLERANCE = 0.12  # relative to the dpi's nominal scale
PERSPECTIVE_MM = 0.4  # four marks that an affine misses by more than this: try their homography

# corner cells (col, row) in the order TL, TR, BL, BR
_CORNERS = [(0, 0), (1, 0), (0, 1), (1, 1)]


@dataclass
class Mark:
    corner: int  # 0 TL, 1 TR, 2 BL, 3 BR (image corners)
    xy: tuple[float, float]  # page px, sub-pixel
    partial: bool = False  # cut by the image border: the centre is an estimate (a few px)


def _refine_mark(gray: U8, cx: float, cy: float, side: float) -> tuple[float, float, bool] | None:
    """Centre of the solid square near (cx, cy) at full resolution: (x, y, partial), or None."""
    r = round(side * 1.3)
    hgt, wid = gray.shape
    x0, y0 = max(0, round(cx) - r), max(0, round(cy) - r)
    x1, y1 = min(wid, round(cx) + r + 1), min(hgt, round(cy) + r + 1)
    if x1 - x0 < side * 0.6 or y1 - y0 < side * 0.6:
        return None
    roi = gray[y0:y1, x0:x1].astype(np.float32)
    sample = roi[::3, ::3]
    paper = float(np.percentile(sample, 90))
    ink = float(np.percentile(sample, 2))
    if paper - ink < 40:
        return None
    mask = (roi < (paper + ink) / 2).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return None
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[i])
    mh, mw = mask.shape
    cut_l, cut_t = x == 0 and x0 == 0, y == 0 and y0 == 0
    cut_r, cut_b = x + w >= mw and x1 == wid, y + h >= mh and y1 == hgt
    inner = (x == 0 and not cut_l) or (y == 0 and not cut_t) or (x + w >= mw and not cut_r) or (
        y + h >= mh and not cut_b
    )
    if inner:
        return None  # not an isolated square
    partial = cut_l or cut_t or cut_r or cut_b
    lo = 0.3 if partial else 0.6
    if not (lo * side * side < area < 1.6 * side * side) or area < 0.6 * w * h:
        return None
    if max(w, h) > 1.3 * side:
        return None
    comp = cv2.dilate((labels == i).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    wgt = np.clip((paper - roi) / max(paper - ink, 1.0), 0.0, 1.0) * comp
    s = float(wgt.sum())
    if s <= 0:
        return None
    ys, xs = np.mgrid[0:mh, 0:mw]
    mx, my = float((xs * wgt).sum()) / s, float((ys * wgt).sum()) / s
    if partial:  # the bounding box of a whole (slightly turned) mark is about as wide as it is tall
        full = max(w, h) if not ((cut_l or cut_r) and (cut_t or cut_b)) else side * 1.05
        if cut_l:
            mx = x + w - full / 2
        elif cut_r:
            mx = x + full / 2
        if cut_t:
            my = y + h - full / 2
        elif cut_b:
            my = y + full / 2
    return x0 + mx, y0 + my, partial


def find_marks(prep: Prep) -> list[Mark]:
    """The corner registration marks (at most one per image corner)."""
    dark = prep.dark
    side_c = MARK_MM / 25.4 * prep.dpi / prep.f
    side_full = MARK_MM / 25.4 * prep.dpi
    mask = (dark > MARK_DARKNESS).astype(np.uint8)
    _, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    hc, wc = dark.shape
    reach = 40.0 / 25.4 * prep.dpi / prep.f  # marks lie within 40 mm of a corner, whatever the shift/skew
    if not prep.dpi_sure:  # a photo: the page may lie anywhere in a quarter of the frame
        reach = max(reach, 0.3 * min(hc, wc))
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    cx, cy = cents[:, 0], cents[:, 1]
    ok = (w <= 1.7 * side_c) & (h <= 1.7 * side_c) & (np.maximum(w, h) >= 0.55 * side_c)
    ok &= (area >= 0.25 * side_c * side_c) & (area >= 0.5 * w * h)
    ok &= (np.minimum(cx, wc - 1 - cx) <= reach) & (np.minimum(cy, hc - 1 - cy) <= reach)
    ok[0] = False
    best: dict[int, tuple[float, Mark]] = {}
    for i in np.flatnonzero(ok):
        x, y = float(cx[i]), float(cy[i])
        col = 0 if x < wc / 2 else 1
        row = 0 if y < hc / 2 else 1
        corner = _CORNERS.index((col, row))
        fx, fy = (x + 0.5) * prep.f - 0.5, (y + 0.5) * prep.f - 0.5
        got = _refine_mark(prep.gray, fx, fy, side_full)
        if got is None:
            continue
        dist = math.hypot(min(x, wc - 1 - x), min(y, hc - 1 - y)) + (1000.0 if got[2] else 0.0)
        if corner not in best or dist < best[corner][0]:
            best[corner] = (dist, Mark(corner=corner, xy=(got[0], got[1]), partial=got[2]))
    return [m for _, m in sorted(best.values(), key=lambda t: t[1].corner)]


def _rotate_corner(corner: int, rotation: int) -> int:
    """Image corner where a template corner lands when the content is turned clockwise by ``rotation``."""
    col, row = _CORNERS[corner]
    for _ in range(rotation // 90):
        col, row = 1 - row, col
    return _CORNERS.index((col, row))


@dataclass
class Hyp:
    matrix: F64
    rotation: int
    n_marks: int
    residual: float


def mark_hypotheses(marks: list[Mark], t: Template, dpi: float) -> list[Hyp]:
    """Transforms (template px → page px) that the marks allow, best-supported first.

    Four marks: the affine when it fits them within 1.5 mm (a flatbed scan), else the
    homography they give exactly (a photo: perspective), if its angle, scale and keystone are
    plausible; then the three-mark affines too, in case one of the four is not a mark.
    """
    nominal = dpi / WORK_DPI
    tol_px = 1.5 * PX_PER_MM * nominal  # 1.5 mm
    out: list[Hyp] = []
    for k in range(len(marks), 1, -1):
        perspective = False
        for subset in itertools.combinations(marks, k):
            for rot in (0, 90, 180, 270):
                inv = {_rotate_corner(c, rot): c for c in range(4)}  # image corner → template corner
                src = np.array([t.mark_centres[inv[m.corner]] for m in subset])
                dst = np.array([m.xy for m in subset])
                sim = H.similarity(src, dst)
                ang, sc = H.angle_scale(sim)
                if abs(H.wrap(ang - rot)) > MAX_SKEW_DEG or abs(sc / nominal - 1) > SCALE_TOLERANCE:
                    continue
                m = H.affine_lsq(src, dst) if k == 4 else sim
                res = H.rms(m, src, dst)
                loose = tol_px * (2.0 if any(mk.partial for mk in subset) else 1.0)
                if k == 4 and res > PERSPECTIVE_MM / 1.5 * tol_px:  # the affine misses: perspective?
                    hm = H.homography_lsq(src, dst)
                    if hm is not None and H.plausible(hm, t.size, rot, nominal, MAX_SKEW_DEG, SCALE_TOLERANCE):
                        m, perspective = hm, True
                    elif res > loose:
                        continue
                elif k == 3 and res > loose:
                    continue
                out.append(Hyp(matrix=m, rotation=rot, n_marks=k, residual=res))
        if out and not perspective:
            break
    return sorted(out, key=lambda h: (-h.n_marks, h.residual))


def dpi_from_marks(marks: list[Mark], t: Template) -> float | None:
    """The page's dpi from the spacing of three or four corner marks (the diagonal is turn-invariant)."""
    if len(marks) < 3:
        return None
    pts = np.array([m.xy for m in marks])
    d = [float(np.linalg.norm(a - b)) for a, b in itertools.combinations(pts, 2)]
    c = t.mark_centres
    diag = (float(np.linalg.norm(c[0] - c[3])) + float(np.linalg.norm(c[1] - c[2]))) / 2
    page_diag = float(np.mean(sorted(d)[-2:])) if len(marks) == 4 else max(d)
    return WORK_DPI * page_diag / diag

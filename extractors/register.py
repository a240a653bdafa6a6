"""Register a scanned page onto its form's template: orientation, deskew, shift and scale.

After :func:`register_page`, template millimetres × ``PX_PER_MM`` land on the right pixel of
``RegisteredPage.image`` (WORK_DPI, template-sized), whatever the scan's dpi, skew, shift, scale
or orientation (0/90/180/270).

How (all searches on a ~50-dpi copy; one full-resolution ``warpAffine`` at the end):

1. **Prepare** — grayscale, effective dpi (metadata, checked against the A4 size), a coarse
   darkness map normalised for uneven lighting.  Almost no ink → :class:`BlankPageError`.
2. **Marks** — the four solid 5 mm corner squares are found as compact dark blobs near the
   image corners and re-measured at full resolution (sub-pixel centroids).  Every subset of ≥ 2
   marks and every quarter turn gives a similarity (4 marks: an affine) whose angle must be near
   the quarter turn and whose scale must be near the dpi's.  The marks are symmetric, so a turn
   and the turn + 180° fit equally well; both are scored against the templates.
3. **Search (fallback)** — when fewer than two marks are usable (cut off, covered) or the marks
   give no good match: skew from projection profiles, translation by phase correlation against
   each template, then ECC (``cv2.findTransformECC``, ``MOTION_AFFINE``) on the coarse ink maps.
4. **Classify** — the coarse page, warped onto the template grid, is scored against every
   template (:mod:`extractors.classify`); best orientation and form win.
5. **Refine** — ~30 windows around box corners and crossings of the chosen template are aligned
   one by one (phase correlation at WORK_DPI), and a robust affine fit (RANSAC) of those
   correspondences gives the final transform (sub-pixel on clean lines).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from extractors.classify import Classification, FormScore, decide, normalised_darkness, score_all
from extractors.templates import (
    COARSE_DPI,
    COARSE_FACTOR,
    PATCH_PX,
    Template,
    all_templates,
)
from extractors.types import PX_PER_MM, WORK_DPI, Page, RegisteredPage
from jimu.errors import BlankPageError, UnknownFormError

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]

MARK_MM = 5.0
BLANK_INK_FRACTION = 0.0015  # coarse pixels of ink; a blank form is ~4 %, a one-line note ~0.3 %
MARK_DARKNESS = 0.35
MAX_SKEW_DEG = 8.0
SCALE_TOLERANCE = 0.12  # relative to the dpi's nominal scale
REFINE_MIN_RESPONSE = 0.04
REFINE_MIN_INLIERS = 6

# corner cells (col, row) in the order TL, TR, BL, BR
_CORNERS = [(0, 0), (1, 0), (0, 1), (1, 1)]


@dataclass
class _Prep:
    gray: U8  # full resolution
    dpi: float  # effective dpi
    f: float  # full px per coarse px
    dark: F32  # background-normalised darkness at the coarse (~COARSE_DPI) page grid


@dataclass
class Location:
    """Where a page lies relative to its form's template (no pixels warped yet)."""

    classification: Classification
    matrix: F64  # 2×3: template px (WORK_DPI) → page px
    rotation: int  # quarter turn (clockwise) of the content on the page
    marks: int  # corner marks used for the first estimate (0 = searched)
    method: str  # "marks" | "search"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def form_id(self) -> str | None:
        return self.classification.form_id


# --------------------------------------------------------------------------- affine helpers
def _h(m: F64) -> F64:
    return np.vstack([m, [0.0, 0.0, 1.0]])


def _compose(a: F64, b: F64) -> F64:
    """a ∘ b (apply b first)."""
    return (_h(a) @ _h(b))[:2]


def _scale_map(k: float) -> F64:
    """Pixel-centre map from a grid with ``k`` times larger pixels to the fine grid: x = (u + .5) k - .5."""
    return np.array([[k, 0.0, 0.5 * k - 0.5], [0.0, k, 0.5 * k - 0.5]])


def _to_coarse_matrix(m: F64, f: float) -> F64:
    """Template-coarse px → page-coarse px, from template px → page px."""
    inv_page = np.array([[1 / f, 0.0, 0.5 / f - 0.5], [0.0, 1 / f, 0.5 / f - 0.5]])
    return _compose(inv_page, _compose(m, _scale_map(COARSE_FACTOR)))


def _from_coarse_matrix(mc: F64, f: float) -> F64:
    inv_t = np.array(
        [[1 / COARSE_FACTOR, 0.0, 0.5 / COARSE_FACTOR - 0.5], [0.0, 1 / COARSE_FACTOR, 0.5 / COARSE_FACTOR - 0.5]]
    )
    return _compose(_scale_map(f), _compose(mc, inv_t))


def _apply(m: F64, pts: F64) -> F64:
    return pts @ m[:, :2].T + m[:, 2]


def _angle_scale(m: F64) -> tuple[float, float]:
    a, b = m[0, 0], m[1, 0]
    c, d = m[0, 1], m[1, 1]
    ang = math.degrees(math.atan2(b - c, a + d))
    scale = math.sqrt(abs(a * d - b * c))
    return ang, scale


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


def _similarity(src: F64, dst: F64) -> F64:
    """Least-squares similarity (Umeyama, no reflection) src → dst; 2×3."""
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    cov = d0.T @ s0 / len(src)
    u, sv, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u @ vt) < 0:
        d[1, 1] = -1
    r = u @ d @ vt
    var = (s0**2).sum() / len(src)
    scale = float(np.trace(np.diag(sv) @ d) / var) if var > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * r
    m[:, 2] = md - m[:, :2] @ ms
    return m


def _affine_lsq(src: F64, dst: F64) -> F64:
    a = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return np.asarray(sol.T, dtype=np.float64)


def nominal_matrix(rotation: int, skew_deg: float, scale: float, tsize: tuple[int, int], psize: tuple[int, int]) -> F64:
    """Template px → page px: centre on centre, turned by rotation + skew (clockwise), scaled."""
    t = math.radians(rotation + skew_deg)
    c, s = math.cos(t) * scale, math.sin(t) * scale
    m = np.array([[c, -s, 0.0], [s, c, 0.0]])
    tc = np.array([(tsize[0] - 1) / 2, (tsize[1] - 1) / 2])
    pc = np.array([(psize[0] - 1) / 2, (psize[1] - 1) / 2])
    m[:, 2] = pc - m[:, :2] @ tc
    return m


# --------------------------------------------------------------------------- preparation
def to_gray(image: NDArray[Any]) -> U8:
    """uint8 grayscale (0 = black) from gray, RGB(A), bitonal (bool) or wider-typed images."""
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        image = cv2.cvtColor(image, code)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def effective_dpi(page: Page, shape: tuple[int, int]) -> float:
    """The page's dpi, from metadata when it agrees with an A4-sized image, else from the size."""
    h, w = shape
    short, long_ = min(h, w), max(h, w)
    by_w = short / (page.width_mm / 25.4)
    by_h = long_ / (page.height_mm / 25.4)
    a4_like = abs(by_w / by_h - 1) < 0.04
    est = (by_w + by_h) / 2
    if page.dpi and page.dpi > 0 and (not a4_like or abs(page.dpi / est - 1) < 0.15):
        return float(page.dpi)
    return float(est) if a4_like else 300.0


def _prepare(page: Page) -> _Prep:
    gray = to_gray(page.image)
    dpi = effective_dpi(page, (gray.shape[0], gray.shape[1]))
    k = max(1, round(dpi / COARSE_DPI))  # integer factor: INTER_AREA's fast path (~50 dpi grid)
    cw, ch = max(8, gray.shape[1] // k), max(8, gray.shape[0] // k)
    coarse = np.asarray(cv2.resize(gray[: ch * k, : cw * k], (cw, ch), interpolation=cv2.INTER_AREA), np.uint8)
    return _Prep(gray=gray, dpi=dpi, f=float(k), dark=normalised_darkness(coarse))


def is_blank(dark: F32) -> bool:
    return float((dark > 0.3).mean()) < BLANK_INK_FRACTION


# --------------------------------------------------------------------------- marks
@dataclass
class _Mark:
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


def find_marks(prep: _Prep) -> list[_Mark]:
    """The corner registration marks (at most one per image corner)."""
    dark = prep.dark
    side_c = MARK_MM / 25.4 * prep.dpi / prep.f
    side_full = MARK_MM / 25.4 * prep.dpi
    mask = (dark > MARK_DARKNESS).astype(np.uint8)
    _, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    hc, wc = dark.shape
    reach = 40.0 / 25.4 * prep.dpi / prep.f  # marks lie within 40 mm of a corner, whatever the shift/skew
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    cx, cy = cents[:, 0], cents[:, 1]
    ok = (w <= 1.7 * side_c) & (h <= 1.7 * side_c) & (np.maximum(w, h) >= 0.55 * side_c)
    ok &= (area >= 0.25 * side_c * side_c) & (area >= 0.5 * w * h)
    ok &= (np.minimum(cx, wc - 1 - cx) <= reach) & (np.minimum(cy, hc - 1 - cy) <= reach)
    ok[0] = False
    best: dict[int, tuple[float, _Mark]] = {}
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
            best[corner] = (dist, _Mark(corner=corner, xy=(got[0], got[1]), partial=got[2]))
    return [m for _, m in sorted(best.values(), key=lambda t: t[1].corner)]


def _rotate_corner(corner: int, rotation: int) -> int:
    """Image corner where a template corner lands when the content is turned clockwise by ``rotation``."""
    col, row = _CORNERS[corner]
    for _ in range(rotation // 90):
        col, row = 1 - row, col
    return _CORNERS.index((col, row))


@dataclass
class _Hyp:
    matrix: F64
    rotation: int
    n_marks: int
    residual: float


def mark_hypotheses(marks: list[_Mark], t: Template, dpi: float) -> list[_Hyp]:
    """Transforms (template px → page px) that the marks allow, best-supported first."""
    nominal = dpi / WORK_DPI
    tol_px = 1.5 * PX_PER_MM * nominal  # 1.5 mm
    out: list[_Hyp] = []
    for k in range(len(marks), 1, -1):
        for subset in itertools.combinations(marks, k):
            for rot in (0, 90, 180, 270):
                inv = {_rotate_corner(c, rot): c for c in range(4)}  # image corner → template corner
                src = np.array([t.mark_centres[inv[m.corner]] for m in subset])
                dst = np.array([m.xy for m in subset])
                sim = _similarity(src, dst)
                ang, sc = _angle_scale(sim)
                if abs(_wrap(ang - rot)) > MAX_SKEW_DEG or abs(sc / nominal - 1) > SCALE_TOLERANCE:
                    continue
                m = _affine_lsq(src, dst) if k == 4 else sim
                res = float(np.sqrt(((_apply(m, src) - dst) ** 2).sum(1).mean()))
                if k >= 3 and res > tol_px * (2.0 if any(m.partial for m in subset) else 1.0):
                    continue
                out.append(_Hyp(matrix=m, rotation=rot, n_marks=k, residual=res))
        if out:
            break
    return sorted(out, key=lambda h: h.residual)


# --------------------------------------------------------------------------- scoring
def _warp_coarse(prep: _Prep, m: F64, t: Template) -> tuple[F32, B]:
    mc = _to_coarse_matrix(m, prep.f)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    size = t.coarse_size
    warped = cv2.warpAffine(prep.dark, mc, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    ones = np.ones(prep.dark.shape, np.uint8)
    valid = cv2.warpAffine(ones, mc, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderValue=0)
    return np.asarray(warped, dtype=np.float32), valid.astype(bool)


def _score(prep: _Prep, m: F64, templates: list[Template]) -> list[FormScore]:
    """Scores of the page under transform ``m`` against every template, best first."""
    by_size: dict[tuple[int, int], list[Template]] = {}
    for t in templates:
        by_size.setdefault(t.coarse_size, []).append(t)
    out: list[FormScore] = []
    for group in by_size.values():
        warped, valid = _warp_coarse(prep, m, group[0])
        out += score_all(warped, group, valid)
    return sorted(out, key=lambda s: -s.score)


# --------------------------------------------------------------------------- search (no marks)
def estimate_skew(dark: F32) -> float:
    """Clockwise skew (deg) of the page's ruled lines / text lines, from projection profiles."""
    h, w = dark.shape
    centre = ((w - 1) / 2, (h - 1) / 2)

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        r = cv2.warpAffine(dark, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
        rows = r.sum(1)
        cols = r.sum(0)
        return float((np.diff(rows) ** 2).sum() + (np.diff(cols) ** 2).sum())

    best = max(np.arange(-6.0, 6.01, 1.0), key=sharpness)
    best = max(np.arange(best - 0.75, best + 0.76, 0.25), key=sharpness)
    # getRotationMatrix2D turns counter-clockwise by +angle, which undoes a clockwise skew of +angle
    return float(best)


def _ecc(prep: _Prep, m: F64, t: Template, iters: int = 40) -> F64 | None:
    """ECC (MOTION_AFFINE) of the page's ink against the template's, at half the coarse resolution."""
    mc = _to_coarse_matrix(m, prep.f)
    half = np.array([[0.5, 0.0, -0.25], [0.0, 0.5, -0.25]])  # coarse px → half-coarse px
    mh = _compose(half, _compose(mc, _scale_map(2.0))).astype(np.float32)
    tc, pc = t.coarse_ink, prep.dark
    tmpl = cv2.resize(tc, (tc.shape[1] // 2, tc.shape[0] // 2), interpolation=cv2.INTER_AREA)
    img = cv2.resize(pc, (pc.shape[1] // 2, pc.shape[0] // 2), interpolation=cv2.INTER_AREA)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iters, 1e-4)
    try:
        _, out = cv2.findTransformECC(tmpl, img, mh, cv2.MOTION_AFFINE, crit, None)
    except cv2.error:
        return None
    back = _compose(_scale_map(2.0), _compose(np.asarray(out, dtype=np.float64), half))
    return _from_coarse_matrix(back, prep.f)


def search_hypotheses(prep: _Prep, templates: list[Template]) -> list[tuple[list[FormScore], F64, int]]:
    """Coarse search without marks: skew, quarter turn, translation, then ECC. Best first."""
    hc, wc = prep.dark.shape
    ratio = hc / wc
    if ratio > 1.15:
        rotations = [0, 180]
    elif ratio < 1 / 1.15:
        rotations = [90, 270]
    else:
        rotations = [0, 90, 180, 270]
    skew = estimate_skew(prep.dark)
    t0 = templates[0]
    psize = (prep.gray.shape[1], prep.gray.shape[0])
    hann = cv2.createHanningWindow((t0.coarse_size[0], t0.coarse_size[1]), cv2.CV_32F)
    nominal = prep.dpi / WORK_DPI
    cands: list[tuple[float, float, F64, int, Template]] = []  # (score, response, matrix, turn, template)
    for rot in rotations:
        m0 = nominal_matrix(rot, skew, nominal, t0.size, psize)
        warped, _ = _warp_coarse(prep, m0, t0)
        for t in templates:
            (dx, dy), resp = cv2.phaseCorrelate(t.coarse_ink, warped, hann)
            shift = np.array([[1.0, 0.0, dx * COARSE_FACTOR], [0.0, 1.0, dy * COARSE_FACTOR]])
            m = _compose(m0, shift)
            cands.append((_score(prep, m, [t])[0].score, float(resp), m, rot, t))
    # the scale is still unknown (±3 %), so neither the score nor the correlation peak alone is
    # reliable: align the two best of each with ECC and keep the best final score
    picks = sorted(cands, key=lambda c: -c[0])[:2] + sorted(cands, key=lambda c: -c[1])[:2]
    out: list[tuple[list[FormScore], F64, int]] = []
    seen: set[int] = set()
    for sc, resp, m, rot, t in picks:
        if id(m) in seen:
            continue
        seen.add(id(m))
        if sc >= 0.2 or resp >= 0.1:  # worth aligning: ECC for scale and the last of the skew
            m2 = _ecc(prep, m, t)
            if m2 is not None:
                ang, scale = _angle_scale(m2)
                if abs(_wrap(ang - rot)) < MAX_SKEW_DEG and abs(scale / nominal - 1) < SCALE_TOLERANCE:
                    m = m2
        out.append((_score(prep, m, templates), m, rot))
    return sorted(out, key=lambda o: -o[0][0].score)


# --------------------------------------------------------------------------- refinement
_HANN: F32 | None = None


def _hann() -> F32:
    global _HANN
    if _HANN is None:
        _HANN = np.asarray(cv2.createHanningWindow((PATCH_PX, PATCH_PX), cv2.CV_32F), dtype=np.float32)
    return _HANN


def refine(gray: U8, m: F64, t: Template, passes: int = 3) -> tuple[F64, int]:
    """Window-by-window alignment, repeated while it still moves the page by more than 0.5 px."""
    corners = np.array([[0, 0], [t.size[0], 0], [0, t.size[1]], [t.size[0], t.size[1]]], dtype=np.float64)
    inliers = 0
    for i in range(passes):
        m2, n = refine_once(gray, m, t, max_shift_px=30.0 if i == 0 else 12.0)
        if n == 0:
            break
        moved = float(np.abs(_apply(m2, corners) - _apply(m, corners)).max())
        m, inliers = m2, n
        if moved < 0.5:
            break
    return m, inliers


def refine_once(gray: U8, m: F64, t: Template, max_shift_px: float = 30.0) -> tuple[F64, int]:
    """Align the template's structured windows one by one; robust affine fit. Returns (matrix, inliers)."""
    half = PATCH_PX // 2
    hann = _hann()
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for cx, cy in t.patches:
        tp = t.patch_darkness(cx, cy)
        if float(tp.std()) < 0.02:
            continue
        shift = np.array([[1.0, 0.0, round(cx) - half], [0.0, 1.0, round(cy) - half]])
        mp = _compose(m, shift)
        pp = cv2.warpAffine(gray, mp, (PATCH_PX, PATCH_PX), flags=flags, borderValue=255)
        pd = 255.0 - pp.astype(np.float32)
        pd -= float(pd.mean())
        (dx, dy), resp = cv2.phaseCorrelate(tp - float(tp.mean()), pd, hann)
        if resp < REFINE_MIN_RESPONSE or math.hypot(dx, dy) > max_shift_px:
            continue
        src.append((cx, cy))
        dst.append(tuple(_apply(m, np.array([[cx + dx, cy + dy]]))[0]))
    if len(src) < REFINE_MIN_INLIERS:
        return m, 0
    s, d = np.array(src, np.float64), np.array(dst, np.float64)
    page_px_per_t = _angle_scale(m)[1]
    a, inl = cv2.estimateAffine2D(
        s, d, method=cv2.RANSAC, ransacReprojThreshold=1.5 * max(page_px_per_t, 0.5), maxIters=400,
        confidence=0.995, refineIters=20,
    )
    if a is None or inl is None or int(inl.sum()) < REFINE_MIN_INLIERS:
        return m, 0
    fit = np.asarray(a, dtype=np.float64)
    # do not let a bad fit move the page a lot: compare on the page's corners
    corners = np.array([[0, 0], [t.size[0], 0], [0, t.size[1]], [t.size[0], t.size[1]]], dtype=np.float64)
    if float(np.abs(_apply(fit, corners) - _apply(m, corners)).max()) > 3 * max_shift_px:
        return m, 0
    return fit, int(inl.sum())


# --------------------------------------------------------------------------- entry points
def locate(page: Page, form_ids: list[str] | None = None) -> Location:
    """Find orientation, form and transform of a page. Raises BlankPageError; never UnknownFormError."""
    timings: dict[str, float] = {}  # seconds since the start, after each step
    t0 = time.perf_counter()
    templates = all_templates(form_ids)
    if not templates:
        raise ValueError("locate() needs at least one candidate form")
    prep = _prepare(page)
    timings["prepare"] = time.perf_counter() - t0
    if is_blank(prep.dark):
        raise BlankPageError(f"Page {page.page_no + 1} is blank.")
    marks = find_marks(prep)
    timings["marks"] = time.perf_counter() - t0
    hyps: list[_Hyp] = []
    if len(marks) >= 2:  # one set of hypotheses per distinct mark layout (all A4 forms share one)
        layouts = {t.mark_centres.tobytes(): t for t in templates}
        for t in layouts.values():
            hyps += mark_hypotheses(marks, t, prep.dpi)
        hyps.sort(key=lambda h: (-h.n_marks, h.residual))
    best: tuple[list[FormScore], F64, int] | None = None
    method, n_marks = "marks", 0
    for h in hyps[:4]:
        ranked = _score(prep, h.matrix, templates)
        if best is None or ranked[0].score > best[0][0].score:
            best = (ranked, h.matrix, h.rotation)
            n_marks = h.n_marks
    timings["score"] = time.perf_counter() - t0
    if best is None or decide(best[0]).form_id is None:
        found = search_hypotheses(prep, templates)
        if found and (best is None or found[0][0][0].score > best[0][0].score):
            best = found[0]
            method, n_marks = "search", 0
        timings["search"] = time.perf_counter() - t0
    if best is None:  # unreachable with at least one template; keeps the types honest
        raise UnknownFormError("This page does not match any of Jimu's forms.")
    ranked, m, rot = best
    t = next(t for t in templates if t.form_id == ranked[0].form_id)
    if decide(ranked).form_id is not None or ranked[0].score > 0.3:
        m, _ = refine(prep.gray, m, t)
        ranked = _score(prep, m, templates)
    timings["refine"] = time.perf_counter() - t0
    return Location(
        classification=decide(ranked), matrix=m, rotation=rot, marks=n_marks, method=method, timings=timings
    )


def warp_to_template(gray: U8, m: F64, size: tuple[int, int]) -> U8:
    out = cv2.warpAffine(
        gray, m, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=255
    )
    return np.asarray(out, dtype=np.uint8)


def register_page(page: Page, form_ids: list[str] | None = None) -> RegisteredPage:
    """Warp a page onto its form's template at WORK_DPI.

    Raises BlankPageError for a blank page and UnknownFormError when the page matches none of
    the forms in ``form_ids`` (default: all installed forms) clearly enough.
    """
    loc = locate(page, form_ids)
    cls = loc.classification
    if cls.form_id is None:
        raise UnknownFormError(cls.describe())
    t = next(t for t in all_templates([cls.form_id]))
    gray = to_gray(page.image)
    image = warp_to_template(gray, loc.matrix, t.size)
    ang, sc = _angle_scale(loc.matrix)
    dpi = effective_dpi(page, (gray.shape[0], gray.shape[1]))
    return RegisteredPage(
        form_id=cls.form_id, image=image, rotation=loc.rotation, skew_deg=_wrap(ang - loc.rotation),
        scale=sc / (dpi / WORK_DPI), match_score=cls.score, source_dpi=dpi,
    )


# --------------------------------------------------------------------------- measuring alignment
@dataclass(frozen=True)
class LineSegment:
    horizontal: bool
    pos: float  # centre row (horizontal) or column (vertical), template px
    lo: int  # extent along the line
    hi: int


_SEGMENTS: dict[str, list[LineSegment]] = {}


def ruled_segments(t: Template, seg_px: int = 160) -> list[LineSegment]:
    """The template's long ruled lines, cut into ``seg_px`` pieces (cached)."""
    got = _SEGMENTS.get(t.key)
    if got is not None:
        return got
    ink = (t.image < 128).astype(np.uint8)
    out: list[LineSegment] = []
    for horizontal in (True, False):
        kernel = np.ones((1, 151) if horizontal else (151, 1), np.uint8)
        lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
        n, _, stats, cents = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for i in range(1, n):
            x, y, w, h, _ = (int(v) for v in stats[i])
            thick, length, start = (h, w, x) if horizontal else (w, h, y)
            if thick > 10:
                continue  # a mark or a filled block, not a rule
            pos = float(cents[i][1] if horizontal else cents[i][0])
            for a in range(start + 20, start + length - 20 - seg_px // 2, seg_px):
                out.append(LineSegment(horizontal, pos, a, min(a + seg_px, start + length - 20)))
    _SEGMENTS[t.key] = out
    return out


def line_offsets(image: U8, t: Template, band: int = 12) -> F64:
    """Signed offsets (px) of the page's ruled lines from the template's, one per line segment.

    For each segment the page's darkness profile across the line (averaged along it) is
    cross-correlated with the template's; segments where the page shows no line are skipped.
    """
    core = 4
    lags = band - core
    offs: list[float] = []
    img = image.astype(np.float32)
    tim = t.image.astype(np.float32)
    hgt, wid = image.shape
    for s in ruled_segments(t):
        c = round(s.pos)
        if c - band < 0 or c + band + 1 > (hgt if s.horizontal else wid):
            continue
        if s.horizontal:
            pp = 255.0 - img[c - band : c + band + 1, s.lo : s.hi].mean(1)
            tp = 255.0 - tim[c - band : c + band + 1, s.lo : s.hi].mean(1)
        else:
            pp = 255.0 - img[s.lo : s.hi, c - band : c + band + 1].mean(0)
            tp = 255.0 - tim[s.lo : s.hi, c - band : c + band + 1].mean(0)
        pp = pp - float(np.median(pp))
        if float(pp.max()) < 25.0:
            continue
        tcore = tp[band - core : band + core + 1] - float(tp.mean())
        corr = np.array(
            [float((tcore * pp[band - core + k : band + core + 1 + k]).sum()) for k in range(-lags, lags + 1)]
        )
        i = int(np.argmax(corr))
        sub = 0.0
        if 0 < i < len(corr) - 1:
            den = corr[i - 1] - 2 * corr[i] + corr[i + 1]
            sub = 0.5 * (corr[i - 1] - corr[i + 1]) / den if den < 0 else 0.0
        offs.append(i - lags + sub)
    return np.array(offs, dtype=np.float64)


@dataclass(frozen=True)
class Alignment:
    """How far the registered page's ruled lines are from the template's (px at WORK_DPI)."""

    n: int
    mean_abs: float
    p95_abs: float
    max_abs: float


def measure_alignment(reg: RegisteredPage) -> Alignment:
    from extractors.templates import get_template

    offs = np.abs(line_offsets(reg.image, get_template(reg.form_id)))
    if offs.size == 0:
        return Alignment(0, float("nan"), float("nan"), float("nan"))
    return Alignment(
        n=int(offs.size), mean_abs=float(offs.mean()), p95_abs=float(np.percentile(offs, 95)), max_abs=float(offs.max())
    )


# --------------------------------------------------------------------------- evaluation
@dataclass
class TierReport:
    tier: str
    pages: int
    orientation_ok: int
    form_ok: int
    errors: dict[str, int]  # exception name → count
    line_mean_px: float  # mean |offset| of ruled lines after registration (measured on the image)
    line_p95_px: float  # 95th percentile of those offsets over all pages
    geom_mean_px: float  # mean true misplacement over the page grid (from the simulator's matrix)
    geom_max_px: float  # worst true misplacement over the page grid of any page
    ms_per_page: float  # CPU time of register + classify + final warp, one OpenCV thread

    def row(self) -> str:
        return (
            f"{self.tier:12s} n={self.pages:3d} orientation {self.orientation_ok / self.pages:6.1%} "
            f"form {self.form_ok / self.pages:6.1%} lines mean {self.line_mean_px:.2f} px "
            f"p95 {self.line_p95_px:.2f} px "
            f"true mean {self.geom_mean_px:.2f} worst {self.geom_max_px:.2f} px  {self.ms_per_page:.0f} ms/page"
            + (f"  errors {self.errors}" if self.errors else "")
        )


def _turn_clockwise(img: U8, matrix: F64, quarter_turns: int) -> tuple[U8, F64]:
    for _ in range(quarter_turns % 4):
        h = img.shape[0]
        img = np.ascontiguousarray(np.rot90(img, k=-1))
        matrix = _compose(np.array([[0.0, -1.0, h - 1.0], [1.0, 0.0, 0.0]]), matrix)
    return img, matrix


def evaluate(
    n_per_tier: int = 40, tiers: tuple[str, ...] = ("clean", "office", "poor", "handwritten"), seed: int = 7,
    progress: bool = False, threads: int = 1,
) -> list[TierReport]:
    """Register generated scans (every form, filled, turned 90/270 on every other page) and report per tier.

    Uses the corpus generator (``fixtures.corpus.make_one``: sampled values, hands, seals) and
    the scan simulator's exact geometry as ground truth.  Time is CPU time with ``threads``
    OpenCV threads (1 = the cost on one core, whatever else the machine is doing).
    """
    saved_threads = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        return _evaluate(n_per_tier, tiers, seed, progress)
    finally:
        cv2.setNumThreads(saved_threads)


def _evaluate(n_per_tier: int, tiers: tuple[str, ...], seed: int, progress: bool) -> list[TierReport]:
    from fixtures.corpus import make_one
    from forms_schema import load_all_forms

    forms = load_all_forms()
    ids = list(forms)
    all_templates(ids)  # build / load the templates before timing
    grid = np.array([[x, y] for x in np.linspace(60, 2420, 9) for y in np.linspace(60, 3450, 12)], dtype=np.float64)
    reports = []
    for tier in tiers:
        ok_rot = ok_form = 0
        errors: dict[str, int] = {}
        offsets: list[F64] = []
        geom: list[float] = []
        geom_mean: list[float] = []
        spent = 0.0
        for i in range(n_per_tier):
            fid = ids[i % len(ids)]
            scan, _truth, _ = make_one(forms[fid], seed, i, tier)  # type: ignore[arg-type]
            img = to_gray(np.asarray(scan.image))
            g = np.array(scan.matrix, dtype=np.float64).reshape(2, 3)
            extra = (0, 1, 0, 3)[i % 4]  # every other page also comes in landscape (90° or 270°)
            img, g = _turn_clockwise(img, g, extra)
            true_rot = (scan.rotation + 90 * extra) % 360
            page = Page(image=img, dpi=scan.dpi, page_no=0)
            t0 = time.process_time()
            try:
                loc = locate(page)
                cls = loc.classification
                if cls.form_id is None:
                    raise UnknownFormError(cls.describe())
                reg_img = warp_to_template(img, loc.matrix, all_templates([cls.form_id])[0].size)
            except (UnknownFormError, BlankPageError) as e:
                spent += time.process_time() - t0
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                continue
            spent += time.process_time() - t0
            ok_rot += loc.rotation == true_rot
            ok_form += cls.form_id == fid
            if cls.form_id == fid:
                offsets.append(np.abs(line_offsets(reg_img, all_templates([fid])[0])))
                scale = scan.dpi / WORK_DPI
                d = np.linalg.norm(_apply(loc.matrix, grid) - _apply(g, grid), axis=1) / scale
                geom.append(float(d.max()))
                geom_mean.append(float(d.mean()))
            if progress:
                print(f"{tier} {i} {fid} rot {true_rot}/{loc.rotation} {cls.form_id} {cls.score:.2f}", flush=True)
        allo = np.concatenate(offsets) if offsets else np.array([np.nan])
        reports.append(
            TierReport(
                tier=tier, pages=n_per_tier, orientation_ok=ok_rot, form_ok=ok_form, errors=errors,
                line_mean_px=float(np.mean([o.mean() for o in offsets])) if offsets else float("nan"),
                line_p95_px=float(np.percentile(allo, 95)),
                geom_mean_px=float(np.mean(geom_mean)) if geom_mean else float("nan"),
                geom_max_px=max(geom) if geom else float("nan"),
                ms_per_page=1000 * spent / n_per_tier,
            )
        )
    return reports


if __name__ == "__main__":  # python -m extractors.register [n_per_tier]
    import sys

    for r in evaluate(int(sys.argv[1]) if len(sys.argv) > 1 else 40):
        print(r.row())

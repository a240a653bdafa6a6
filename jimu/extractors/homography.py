"""Plane-to-plane transforms for registration: 3×3 homographies (an affine is one with [0, 0, 1] last).

Every matrix here maps template px (WORK_DPI) → page px and is 3×3.  A flatbed scan gives an
affine (skew, scale, shift); a phone photo of a page lying flat gives a perspective
(homography).  :func:`fit_robust` fits both to point correspondences and keeps the homography
only when it explains the points clearly better, so flatbed scans keep the affine's accuracy.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]


def h3(m: NDArray[Any]) -> F64:
    """3×3 from a 2×3 affine or a 3×3 homography (normalised so that m[2, 2] = 1)."""
    a = np.asarray(m, dtype=np.float64)
    if a.shape == (2, 3):
        return np.vstack([a, [0.0, 0.0, 1.0]])
    return a / a[2, 2]


def compose(a: NDArray[Any], b: NDArray[Any]) -> F64:
    """a ∘ b (apply b first)."""
    return h3(h3(a) @ h3(b))


def apply(m: NDArray[Any], pts: NDArray[Any]) -> F64:
    """Map N×2 points (perspective division included)."""
    h = h3(m)
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    q = p @ h[:2, :2].T + h[:2, 2]
    w = p @ h[2, :2] + h[2, 2]
    return np.asarray(q / w[:, None], dtype=np.float64)


def scale_map(k: float) -> F64:
    """Pixel-centre map from a grid with ``k`` times larger pixels to the fine grid: x = (u + .5) k - .5."""
    return np.array([[k, 0.0, 0.5 * k - 0.5], [0.0, k, 0.5 * k - 0.5], [0.0, 0.0, 1.0]])


def translation(dx: float, dy: float) -> F64:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def jacobian(m: NDArray[Any], x: float, y: float) -> F64:
    """The 2×2 local linear part of ``m`` at template point (x, y)."""
    h = h3(m)
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w
    v = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w
    return np.array(
        [[(h[0, 0] - u * h[2, 0]) / w, (h[0, 1] - u * h[2, 1]) / w],
         [(h[1, 0] - v * h[2, 0]) / w, (h[1, 1] - v * h[2, 1]) / w]]
    )


def angle_scale(m: NDArray[Any], at: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """Clockwise rotation (deg) and linear scale of ``m`` around template point ``at``."""
    j = jacobian(m, at[0], at[1])
    a, b, c, d = j[0, 0], j[1, 0], j[0, 1], j[1, 1]
    ang = math.degrees(math.atan2(b - c, a + d))
    return ang, math.sqrt(abs(a * d - b * c))


def wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


def is_affine(m: NDArray[Any], size: tuple[int, int], tol_px: float = 0.05) -> bool:
    """True when the projective part moves no point of a ``size`` page by more than ``tol_px``."""
    h = h3(m)
    w, hh = size
    return bool(abs(h[2, 0]) * w + abs(h[2, 1]) * hh < tol_px / max(w, hh))


def plausible(m: NDArray[Any], size: tuple[int, int], rotation: int, nominal: float, max_skew: float,
              scale_tol: float, max_keystone: float = 0.25) -> bool:
    """Angle and scale near the expected ones at the page's corners and centre, not folded.

    ``max_keystone`` bounds how much the local scale may differ between corners (a phone photo
    taken at an angle; 0.25 = one side 25 % longer than the other).
    """
    w, h = size
    scales = []
    for x, y in ((0.0, 0.0), (w, 0.0), (0.0, h), (w, h), (w / 2, h / 2)):
        j = jacobian(m, x, y)
        if np.linalg.det(j) <= 0:
            return False
        ang, sc = angle_scale(m, (x, y))
        if abs(wrap(ang - rotation)) > max_skew:
            return False
        scales.append(sc)
    centre = scales[-1]
    if abs(centre / nominal - 1) > scale_tol:
        return False
    return max(scales) / min(scales) - 1 <= max_keystone


def similarity(src: F64, dst: F64) -> F64:
    """Least-squares similarity (Umeyama, no reflection) src → dst; 3×3."""
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
    m = np.eye(3)
    m[:2, :2] = scale * r
    m[:2, 2] = md - m[:2, :2] @ ms
    return m


def affine_lsq(src: F64, dst: F64) -> F64:
    a = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return h3(np.asarray(sol.T, dtype=np.float64))


def homography_lsq(src: F64, dst: F64) -> F64 | None:
    """Exact for 4 points, least squares (DLT, normalised) for more; None when degenerate."""
    hm, _ = cv2.findHomography(src.astype(np.float64), dst.astype(np.float64), 0)
    if hm is None or not np.isfinite(hm).all() or abs(float(hm[2, 2])) < 1e-12:
        return None
    return h3(np.asarray(hm, dtype=np.float64))


def rms(m: NDArray[Any], src: F64, dst: F64) -> float:
    return float(np.sqrt(((apply(m, src) - dst) ** 2).sum(1).mean())) if len(src) else 0.0


def fit_robust(src: F64, dst: F64, thr: float, min_inliers: int) -> tuple[F64, NDArray[np.bool_]] | None:
    """RANSAC affine and RANSAC homography of src → dst; the homography wins only when it is clearly better.

    Returns (matrix, inlier mask) or None when neither model has ``min_inliers`` inliers.
    """
    a, inl = cv2.estimateAffine2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=thr, maxIters=400, confidence=0.995, refineIters=20
    )
    best: tuple[F64, NDArray[np.bool_]] | None = None
    if a is not None and inl is not None and int(inl.sum()) >= min_inliers:
        best = (h3(np.asarray(a, dtype=np.float64)), inl.ravel().astype(bool))
    if len(src) >= max(min_inliers, 8):
        hm, hin = cv2.findHomography(src, dst, cv2.RANSAC, thr, maxIters=600, confidence=0.995)
        if hm is not None and hin is not None and int(hin.sum()) >= min_inliers:
            hin_b = hin.ravel().astype(bool)
            refit = homography_lsq(src[hin_b], dst[hin_b])
            hmat = refit if refit is not None else h3(np.asarray(hm, dtype=np.float64))
            if best is None:
                best = (hmat, hin_b)
            else:
                am, ain = best
                both = ain & hin_b
                if int(both.sum()) >= min_inliers:
                    ra, rh = rms(am, src[both], dst[both]), rms(hmat, src[both], dst[both])
                    more = int(hin_b.sum()) > int(ain.sum()) + 1
                    # perspective shows as a clearly larger affine residual, or as points only it explains
                    if (ra > 0.35 and rh < 0.7 * ra) or (more and rh <= ra):
                        best = (hmat, hin_b)
    return best


def nominal_matrix(rotation: int, skew_deg: float, scale: float, tsize: tuple[int, int], psize: tuple[int, int]) -> F64:
    """Template px → page px: centre on centre, turned by rotation + skew (clockwise), scaled."""
    t = math.radians(rotation + skew_deg)
    c, s = math.cos(t) * scale, math.sin(t) * scale
    m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    tc = np.array([(tsize[0] - 1) / 2, (tsize[1] - 1) / 2])
    pc = np.array([(psize[0] - 1) / 2, (psize[1] - 1) / 2])
    m[:2, 2] = pc - m[:2, :2] @ tc
    return m


def warp_inverse(img: NDArray[Any], m: NDArray[Any], size: tuple[int, int], *, border: float = 255.0,
                 nearest: bool = False) -> NDArray[Any]:
    """Sample ``img`` (page) on the template grid of ``size`` (w, h) through ``m`` (template → page)."""
    flags = (cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
    h = h3(m)
    if is_affine(h, size, tol_px=1e-3):
        return np.asarray(cv2.warpAffine(img, h[:2], size, flags=flags, borderMode=cv2.BORDER_CONSTANT,
                                         borderValue=border))
    return np.asarray(cv2.warpPerspective(img, h, size, flags=flags, borderMode=cv2.BORDER_CONSTANT,
                                          borderValue=border))

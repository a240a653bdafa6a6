"""Registration without corner marks (the fallback search): skew from projection profiles, a quarter turn and
the translation by phase correlation against each template, then ECC for the scale and the last of the skew."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors import homography as H
from jimu.extractors import page_prep as P
from jimu.extractors.classify import FormScore
from jimu.extractors.corner_marks import MAX_SKEW_DEG, SCALE_TOLERANCE
from jimu.extractors.register_refine import _centre
from jimu.extractors.templates import COARSE_FACTOR, Template
from jimu.extractors.types import WORK_DPI

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


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


def _ecc(prep: P.Prep, m: F64, t: Template, iters: int = 40) -> F64 | None:
    """ECC (MOTION_AFFINE) of the page's ink against the template's, at half the coarse resolution."""
    mc = P.to_coarse_matrix(m, prep.f)
    half = np.linalg.inv(H.scale_map(2.0))  # coarse px → half-coarse px
    mh = H.compose(half, H.compose(mc, H.scale_map(2.0)))[:2].astype(np.float32)
    tc, pc = t.coarse_ink, prep.dark
    tmpl = cv2.resize(tc, (tc.shape[1] // 2, tc.shape[0] // 2), interpolation=cv2.INTER_AREA)
    img = cv2.resize(pc, (pc.shape[1] // 2, pc.shape[0] // 2), interpolation=cv2.INTER_AREA)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iters, 1e-4)
    try:
        _, out = cv2.findTransformECC(tmpl, img, mh, cv2.MOTION_AFFINE, crit, None)
    except cv2.error:
        return None
    back = H.compose(H.scale_map(2.0), H.compose(np.asarray(out, dtype=np.float64), half))
    return P.from_coarse_matrix(back, prep.f)


def search_hypotheses(prep: P.Prep, templates: list[Template]) -> list[tuple[list[FormScore], F64, int]]:
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
        m0 = H.nominal_matrix(rot, skew, nominal, t0.size, psize)
        warped, _ = P.warp_coarse(prep, m0, t0)
        for t in templates:
            (dx, dy), resp = cv2.phaseCorrelate(t.coarse_ink, warped, hann)
            m = H.compose(m0, H.translation(dx * COARSE_FACTOR, dy * COARSE_FACTOR))
            cands.append((P.score(prep, m, [t])[0].score, float(resp), m, rot, t))
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
                ang, scale = H.angle_scale(m2, _centre(t))
                if abs(H.wrap(ang - rot)) < MAX_SKEW_DEG and abs(scale / nominal - 1) < SCALE_TOLERANCE:
                    m = m2
        out.append((P.score(prep, m, templates), m, rot))
    return sorted(out, key=lambda o: -o[0][0].score)

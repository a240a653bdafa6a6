"""How well registration works: ruled-line offsets of registered pages, and a per-tier evaluation.

Not production code: tests and benchmarks use it to measure registration (``measure_alignment``)
and ``python -m jimu.bench.register_eval [n_per_tier]`` reports per scan tier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.errors import AlignmentError, BlankPageError, UnknownFormError
from jimu.extractors import homography as H
from jimu.extractors.register import locate, to_gray, warp_to_template
from jimu.extractors.templates import Template, all_templates, get_template
from jimu.extractors.types import WORK_DPI, Page, RegisteredPage

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]


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


def turn_clockwise(img: U8, matrix: F64, quarter_turns: int) -> tuple[U8, F64]:
    """Turn a scan clockwise by quarter turns, and its template → scan matrix with it (3×3)."""
    for _ in range(quarter_turns % 4):
        h = img.shape[0]
        img = np.ascontiguousarray(np.rot90(img, k=-1))
        matrix = H.compose(np.array([[0.0, -1.0, h - 1.0], [1.0, 0.0, 0.0]]), matrix)
    return img, matrix


def evaluate(
    n_per_tier: int = 40, tiers: tuple[str, ...] = ("clean", "office", "poor", "handwritten"), seed: int = 7,
    progress: bool = False, threads: int = 1,
) -> list[TierReport]:
    """Register generated scans (every form, filled, turned 90/270 on every other page) and report per tier.

    Uses the corpus generator (``jimu.fixtures.corpus.make_one``: sampled values, hands, seals) and
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
    from jimu.fixtures.corpus import make_one
    from jimu.forms_schema import load_all_forms

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
            g = H.h3(np.array(scan.matrix, dtype=np.float64).reshape(2, 3))
            extra = (0, 1, 0, 3)[i % 4]  # every other page also comes in landscape (90° or 270°)
            img, g = turn_clockwise(img, g, extra)
            true_rot = (scan.rotation + 90 * extra) % 360
            page = Page(image=img, dpi=scan.dpi, page_no=0)
            t0 = time.process_time()
            try:
                loc = locate(page)
                cls = loc.classification
                if cls.form_id is None:
                    raise UnknownFormError(cls.describe())
                reg_img = warp_to_template(img, loc.matrix, all_templates([cls.form_id])[0].size)
            except (UnknownFormError, AlignmentError, BlankPageError) as e:
                spent += time.process_time() - t0
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                continue
            spent += time.process_time() - t0
            ok_rot += loc.rotation == true_rot
            ok_form += cls.form_id == fid
            if cls.form_id == fid:
                offsets.append(np.abs(line_offsets(reg_img, all_templates([fid])[0])))
                scale = scan.dpi / WORK_DPI
                d = np.linalg.norm(H.apply(loc.matrix, grid) - H.apply(g, grid), axis=1) / scale
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


if __name__ == "__main__":  # python -m jimu.bench.register_eval [n_per_tier]
    import sys

    for r in evaluate(int(sys.argv[1]) if len(sys.argv) > 1 else 40):
        print(r.row())

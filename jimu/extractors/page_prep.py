"""Registration's view of a raw page: grayscale, scale (dpi), a coarse darkness map, coarse scoring.

The scale is never assumed: metadata is used when it is there and agrees with the image;
otherwise the A4 paper size (when the page fills the image) or a guess from the image's short
side is checked against the spacing of the corner marks (:func:`jimu.extractors.corner_marks.dpi_from_marks`,
used by ``register.locate``), which wins when they disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors import homography as H
from jimu.extractors.classify import FormScore, normalised_darkness, score_all
from jimu.extractors.templates import COARSE_DPI, COARSE_FACTOR, Template
from jimu.extractors.types import Page

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]

A4_MM = (210.0, 297.0)
BLANK_INK_FRACTION = 0.0015  # coarse pixels of ink; a blank form is ~4 %, a one-line note ~0.3 %
A4_ASPECT_TOLERANCE = 0.04
METADATA_TOLERANCE = 0.15


@dataclass
class Prep:
    gray: U8  # full resolution
    dpi: float  # effective dpi (possibly a first guess, see ``dpi_sure``)
    f: float  # full px per coarse px
    dark: F32  # background-normalised darkness at the coarse (~COARSE_DPI) page grid
    dpi_sure: bool = True  # False: an estimate from the image size, to be checked against the marks


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


def a4_dpi(shape: tuple[int, int]) -> float | None:
    """The dpi of an image that is exactly an A4 page (the paper fills it), else None."""
    h, w = shape
    short, long_ = min(h, w), max(h, w)
    by_w = short / (A4_MM[0] / 25.4)
    by_h = long_ / (A4_MM[1] / 25.4)
    return (by_w + by_h) / 2 if abs(by_w / by_h - 1) < A4_ASPECT_TOLERANCE else None


def effective_dpi(page: Page, shape: tuple[int, int]) -> tuple[float, bool]:
    """(dpi, sure): ``sure`` only for metadata that agrees with the image.

    Metadata is used when it agrees with an A4-sized image (or the image is not A4-sized).
    Without usable metadata (``Page.dpi_known`` False: none, or the 72 dpi that cameras and
    editors write), or when it contradicts an A4-sized image, the A4 size gives a first
    estimate, and a page that does not fill the image (a phone photo) gets a guess from its
    short side: neither is sure, and registration checks them against the corner marks.
    """
    by_size = a4_dpi(shape)
    if page.dpi_known and page.dpi and page.dpi > 0:
        if by_size is None or abs(page.dpi / by_size - 1) < METADATA_TOLERANCE:
            return float(page.dpi), True
    if by_size is not None:
        return float(by_size), False
    short = min(shape)
    return float(short / (A4_MM[0] / 25.4) * 0.9), False  # the page fills most of a photo's short side


def prepare(page: Page, gray: U8 | None = None, dpi: float | None = None) -> Prep:
    gray = to_gray(page.image) if gray is None else gray
    sure = True
    if dpi is None:
        dpi, sure = effective_dpi(page, (gray.shape[0], gray.shape[1]))
    k = max(1, round(dpi / COARSE_DPI))  # integer factor: INTER_AREA's fast path (~50 dpi grid)
    cw, ch = max(8, gray.shape[1] // k), max(8, gray.shape[0] // k)
    coarse = np.asarray(cv2.resize(gray[: ch * k, : cw * k], (cw, ch), interpolation=cv2.INTER_AREA), np.uint8)
    return Prep(gray=gray, dpi=dpi, f=float(k), dark=normalised_darkness(coarse), dpi_sure=sure)


def is_blank(dark: F32) -> bool:
    return float((dark > 0.3).mean()) < BLANK_INK_FRACTION


# --------------------------------------------------------------------------- coarse grids
def to_coarse_matrix(m: F64, f: float) -> F64:
    """Template-coarse px → page-coarse px, from template px → page px."""
    return H.compose(np.linalg.inv(H.scale_map(f)), H.compose(m, H.scale_map(COARSE_FACTOR)))


def from_coarse_matrix(mc: F64, f: float) -> F64:
    return H.compose(H.scale_map(f), H.compose(mc, np.linalg.inv(H.scale_map(COARSE_FACTOR))))


def warp_coarse(prep: Prep, m: F64, t: Template) -> tuple[F32, B]:
    mc = to_coarse_matrix(m, prep.f)
    size = t.coarse_size
    warped = H.warp_inverse(prep.dark, mc, size, border=0.0)
    ones = np.ones(prep.dark.shape, np.uint8)
    valid = H.warp_inverse(ones, mc, size, border=0, nearest=True)
    return np.asarray(warped, dtype=np.float32), valid.astype(bool)


def score(prep: Prep, m: F64, templates: list[Template]) -> list[FormScore]:
    """Scores of the page under transform ``m`` against every template, best first."""
    by_size: dict[tuple[int, int], list[Template]] = {}
    for t in templates:
        by_size.setdefault(t.coarse_size, []).append(t)
    out: list[FormScore] = []
    for group in by_size.values():
        warped, valid = warp_coarse(prep, m, group[0])
        out += score_all(warped, group, valid)
    return sorted(out, key=lambda s: -s.score)

"""Blank separator sheets: how much of a page is ink (see "Splitting" in :mod:`jimu.extractors.ingest`)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors.ingest.common import MM_PER_INCH
from jimu.extractors.types import Page

BLANK_WORK_DPI = 100.0
BLANK_MARGIN = 0.02
BLANK_INK_DELTA = 50
BLANK_MIN_SPECK_MM2 = 0.4
BLANK_INK_RATIO = 0.003
DARK_PAGE_MEAN = 96.0


def is_blank_page(page: Page) -> bool:
    """True for a separator sheet: no PDF words and almost no ink (see the module doc)."""
    if page.words:
        return False
    return ink_ratio(page.image, page.dpi) < BLANK_INK_RATIO


def ink_ratio(image: NDArray[np.uint8], dpi: float) -> float:
    """Share of the page (border excluded, at 100 dpi) covered by ink; 1.0 for a dark page."""
    img = image
    scale = BLANK_WORK_DPI / dpi if dpi > 0 else 1.0
    work_dpi = dpi
    if scale < 1.0:
        img = np.asarray(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        work_dpi = BLANK_WORK_DPI
    h, w = img.shape[:2]
    m = round(min(h, w) * BLANK_MARGIN)
    core = img[m : h - m, m : w - m]
    if core.size == 0:
        return 0.0
    if float(cv2.mean(core)[0]) < DARK_PAGE_MEAN:
        return 1.0
    k = max(3, round(3.8 / MM_PER_INCH * work_dpi) | 1)  # ~3.8 mm: wider than any pen stroke
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    background = cv2.blur(cv2.dilate(core, kernel), (k, k))
    darker = cv2.subtract(background, core)
    _, mask = cv2.threshold(darker, BLANK_INK_DELTA, 1, cv2.THRESH_BINARY)
    if not cv2.countNonZero(mask):
        return 0.0
    min_area = max(2, round(BLANK_MIN_SPECK_MM2 * (work_dpi / MM_PER_INCH) ** 2))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[1:n, cv2.CC_STAT_AREA]
    return float(areas[areas >= min_area].sum()) / float(core.size)

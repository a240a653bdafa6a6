"""Cut field regions out of a registered page, and drop the printed form out of them.

:func:`text_ink` turns the crop of a text field into what the OCR engine reads best: the
writing alone, binarised, trimmed, at a normal height. What it removes on the way (specks,
remnants of the box's ruled lines, a red seal's mid-grey ink) is reported, so a reader can
say that the field was empty or lower its confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from extractors.types import PX_PER_MM
from forms_schema.model import Box

INK = 150  # a pixel darker than this counts as ink after dropout


def box_px(b: Box, pad_mm: float = 0.0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in work pixels; a negative pad shrinks the box."""
    return (
        round((b.x - pad_mm) * PX_PER_MM),
        round((b.y - pad_mm) * PX_PER_MM),
        round((b.right + pad_mm) * PX_PER_MM),
        round((b.bottom + pad_mm) * PX_PER_MM),
    )


def crop(img: np.ndarray, b: Box, pad_mm: float = 0.0) -> np.ndarray:
    x0, y0, x1, y1 = box_px(b, pad_mm)
    h, w = img.shape[:2]
    return img[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]


def dropout(img: np.ndarray, mask: np.ndarray, b: Box, pad_mm: float = 0.0) -> np.ndarray:
    """The crop of ``b`` with the printed form (``mask`` True where the template has ink) whitened."""
    c = crop(img, b, pad_mm).copy()
    m = crop(mask, b, pad_mm)
    c[m[: c.shape[0], : c.shape[1]]] = 255
    return c


def ink_fraction(gray: np.ndarray) -> float:
    if gray.size == 0:
        return 0.0
    return float((gray < INK).mean())


def ink_bbox(gray: np.ndarray, min_pixels: int = 12) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of the ink, ignoring isolated specks; None when empty."""
    import cv2

    binary = (gray < INK).astype(np.uint8)
    if binary.sum() < min_pixels:
        return None
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 6]
    if not keep or sum(int(stats[i, cv2.CC_STAT_AREA]) for i in keep) < min_pixels:
        return None
    xs0 = min(int(stats[i, cv2.CC_STAT_LEFT]) for i in keep)
    ys0 = min(int(stats[i, cv2.CC_STAT_TOP]) for i in keep)
    xs1 = max(int(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH]) for i in keep)
    ys1 = max(int(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT]) for i in keep)
    return xs0, ys0, xs1, ys1


def trim_to_ink(gray: np.ndarray, pad: int = 8) -> np.ndarray | None:
    bb = ink_bbox(gray)
    if bb is None:
        return None
    x0, y0, x1, y1 = bb
    out = np.full((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad), 255, dtype=np.uint8)
    out[pad : pad + y1 - y0, pad : pad + x1 - x0] = gray[y0:y1, x0:x1]
    return out


# --------------------------------------------------------------------------------------------------
# text fields: the writing alone, binarised, at the height the OCR engine reads best


@dataclass
class TextInkParams:
    min_contrast: float = 60.0  # ink must be this much darker than the paper
    binarize_at: float = 0.5  # threshold between ink level (0) and paper level (1)
    core_at: float = 0.3  # a component needs pixels this dark (same scale) to count as writing …
    core_share: float = 0.08  # … at least this share of its pixels (drops seals' mid-grey ink)
    speck_px: int = 10  # components smaller than this both ways are specks unless they touch writing
    near_px: int = 6  # a small component this close to writing belongs to it (dakuten, dots)
    edge_band_px: int = 14  # ruled-line remnants are looked for this close to the crop's edges
    line_len_px: int = 30  # a straight run this long in the edge band is a line remnant
    line_thick_px: int = 7
    target_height: float = 36.0  # text height handed to the OCR engine (px)
    min_scale: float = 0.35
    max_scale: float = 2.0
    border: float = 0.35  # white border around the text, as a share of the target height
    min_text_px: int = 40  # less writing than this (pixels at WORK_DPI) is an empty field
    gray_out: bool = False  # hand the engine contrast-stretched grey levels instead of the binary image


DEFAULT_TEXT_INK = TextInkParams()


@dataclass(frozen=True)
class TextInk:
    image: np.ndarray  # uint8, 0 = ink, binarised (then anti-aliased by the scaling), ready for OCR
    bbox: tuple[int, int, int, int]  # of the kept writing in the input crop (x0, y0, x1, y1)
    text_height: int  # px at WORK_DPI
    touches_edge: bool  # the writing reaches the crop's border: it runs over the box's ruled line
    dropped: int  # components dropped as noise (specks, seal ink, line remnants)
    dropped_px: int  # their pixels (specks not counted)
    ink_px: int  # pixels of the kept writing


def paper_and_ink(gray: np.ndarray, min_contrast: float = 60.0) -> tuple[float, float] | None:
    """(paper level, ink level) of a crop; None when nothing is markedly darker than the paper."""
    paper = float(np.median(gray))
    dark = gray[gray < paper - min_contrast]
    if dark.size < 8:
        return None
    return paper, float(np.percentile(dark, 5))


def _remove_edge_lines(binary: np.ndarray, p: TextInkParams) -> int:
    """Clear straight horizontal/vertical runs near the crop's edges (in place); return pixels cleared."""
    import cv2

    h, w = binary.shape
    band = p.edge_band_px
    lines = np.zeros_like(binary)
    if h > 2 * band and w > p.line_len_px:
        hk = cv2.getStructuringElement(cv2.MORPH_RECT, (p.line_len_px, 1))
        for sl in (np.s_[:band, :], np.s_[h - band :, :]):
            lines[sl] |= cv2.morphologyEx(binary[sl], cv2.MORPH_OPEN, hk)
    vlen = max(p.line_len_px, int(0.6 * h))
    if w > 2 * band and h > vlen:
        vk = cv2.getStructuringElement(cv2.MORPH_RECT, (1, vlen))
        for sl in (np.s_[:, :band], np.s_[:, w - band :]):
            lines[sl] |= cv2.morphologyEx(binary[sl], cv2.MORPH_OPEN, vk)
    n = int(np.count_nonzero(lines))
    if n:
        # a line is thicker than one open pixel row: clear its neighbourhood that is ink too
        grown = cv2.dilate(lines, np.ones((3, 3), np.uint8))
        binary[grown.astype(bool)] = 0
    return n


def text_ink(gray: np.ndarray, params: TextInkParams = DEFAULT_TEXT_INK) -> TextInk | None:
    """The writing in a dropped-out text crop, ready for OCR; None when the field is empty."""
    import cv2

    p = params
    if gray.size == 0 or min(gray.shape) < 4:
        return None
    levels = paper_and_ink(gray, p.min_contrast)
    if levels is None:
        return None
    paper, ink = levels
    t_bin = ink + p.binarize_at * (paper - ink)
    t_core = ink + p.core_at * (paper - ink)
    binary = (gray < t_bin).astype(np.uint8)
    line_px = _remove_edge_lines(binary, p)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return None
    area = stats[:, cv2.CC_STAT_AREA]
    core = np.bincount(labels[gray < t_core], minlength=n)
    wd, ht = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    dark_enough = core >= np.maximum(2, p.core_share * area)
    small = (wd < p.speck_px) & (ht < p.speck_px)
    big = dark_enough & ~small
    big[0] = False
    if not big.any():
        return None
    keep = big.copy()
    cand = np.flatnonzero(dark_enough & small)
    cand = cand[cand > 0]
    if cand.size:
        near = cv2.dilate(big[labels].astype(np.uint8), np.ones((2 * p.near_px + 1,) * 2, np.uint8))
        touched = np.bincount(labels[near.astype(bool)], minlength=n) > 0
        keep[cand] = touched[cand]
    keep[0] = False
    kept = keep[labels]
    ink_px = int(np.count_nonzero(kept))
    if ink_px < p.min_text_px:
        return None
    dropped_ids = np.flatnonzero(~keep)[1:]
    dropped_px = int(area[dropped_ids][~small[dropped_ids]].sum()) + line_px
    dropped = int(np.count_nonzero(~small[dropped_ids])) + (1 if line_px else 0)
    ys, xs = np.nonzero(kept)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    h, w = gray.shape
    touches = x0 <= 0 or y0 <= 0 or x1 >= w or y1 >= h
    height = y1 - y0
    if p.gray_out:
        g = gray[y0:y1, x0:x1].astype(np.float32)
        st = np.clip((g - ink) / max(1.0, paper - ink) * 255.0, 0, 255)
        near = cv2.dilate(kept[y0:y1, x0:x1].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        out = np.where(near, st, 255).astype(np.uint8)
    else:
        out = np.where(kept[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    scale = min(p.max_scale, max(p.min_scale, p.target_height / max(height, 1)))
    if abs(scale - 1.0) > 0.05:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        out = cv2.resize(out, (max(1, round(out.shape[1] * scale)), max(1, round(out.shape[0] * scale))),
                         interpolation=interp)
    b = max(4, round(p.border * p.target_height))
    out = cv2.copyMakeBorder(out, b, b, b, b, cv2.BORDER_CONSTANT, value=255)
    return TextInk(out, (x0, y0, x1, y1), height, touches, dropped, dropped_px, ink_px)

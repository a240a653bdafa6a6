"""Cut field regions out of a registered page, and drop the printed form out of them.

:func:`text_ink` turns the crop of a text field into what the OCR engine reads best: the
writing alone, binarised, trimmed, at a normal height. What it removes on the way (specks,
remnants of the box's ruled lines, a red seal's mid-grey ink) is reported, so a reader can
say that the field was empty or lower its confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jimu.extractors.types import PX_PER_MM
from jimu.forms_schema.model import Box

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


def paper_level(img: np.ndarray, mask: np.ndarray, b: Box) -> float:
    """Median grey of the box's pixels that are not printed form (the local paper, under any lighting)."""
    c = crop(img, b)
    if c.size == 0:
        return 255.0
    m = crop(mask, b)[: c.shape[0], : c.shape[1]]
    free = c[~m]
    return float(np.median(free)) if free.size else 255.0


def suppress_mid_gray(gray: np.ndarray, paper: float, ratio: float = 0.5, rim_px: int = 2) -> np.ndarray:
    """``gray`` with mid-grey ink that is not the rim of dark ink turned to paper.

    A red seal stamped over a field is mid-grey in a grayscale scan; pen and print are dark.
    Pixels lighter than ``ratio × paper`` and further than ``rim_px`` from a darker pixel are
    set to the paper level, so the anti-aliased edges of strokes stay and the seal goes.
    """
    import cv2

    dark = gray < ratio * paper
    mid = (gray < paper - 25) & ~dark
    if not mid.any():
        return gray
    near = cv2.dilate(dark.astype(np.uint8), np.ones((2 * rim_px + 1,) * 2, np.uint8)).astype(bool)
    out = gray.copy()
    out[mid & ~near] = np.uint8(min(255.0, paper))
    return out


# --------------------------------------------------------------------------------------------------
# text fields: the writing alone, binarised, at the height the OCR engine reads best


@dataclass(frozen=True)
class TextInkParams:
    min_contrast: float = 60.0  # ink must be this much darker than the paper
    binarize_at: float = 0.5  # threshold between ink level (0) and paper level (1)
    core_at: float = 0.3  # a component needs pixels this dark (same scale) to count as writing …
    core_share: float = 0.08  # … at least this share of its pixels (drops seals' mid-grey ink) …
    core_ratio: float = 0.5  # … and darker than this share of the paper level, whatever the crop's ink level
    speck_px: int = 7  # components smaller than this both ways are specks unless they are near writing
    near_px: int = 10  # a small component this close to writing belongs to it (dakuten, dots)
    attach_px: int = 20  # … and so does a faint one smaller than this both ways (a handakuten's ring) …
    attach_min_area: int = 12  # … but not faint noise
    edge_band_px: int = 14  # ruled-line remnants are looked for this close to the crop's edges
    line_len_px: int = 30  # a straight run this long in the edge band is a line remnant
    target_height: float = 32.0  # text height handed to the OCR engine (px); measured best for tesseract
    min_scale: float = 0.35
    max_scale: float = 2.0
    border: float = 0.35  # white border around the text, as a share of the target height
    min_text_px: int = 40  # less writing than this (pixels at WORK_DPI) is an empty field


DEFAULT_TEXT_INK = TextInkParams()


@dataclass(frozen=True)
class TextInk:
    """The writing found in a text field's crop (``writing`` is None when the field is empty)."""

    writing: np.ndarray | None  # bool, True = ink, cut to ``bbox``
    bbox: tuple[int, int, int, int]  # of the kept writing in the input crop (x0, y0, x1, y1)
    text_height: int  # px at WORK_DPI, what :meth:`for_ocr` scales to the target height
    core_height: int  # px at WORK_DPI, of the bulk of the writing (2–98 % of its rows)
    touches_edge: bool  # the writing reaches the crop's border: it runs over the box's ruled line
    dropped: int  # components dropped as noise (seal ink, line remnants, faint blobs; specks not counted)
    dropped_px: int  # their pixels
    ink_px: int  # pixels of the kept writing
    params: TextInkParams = DEFAULT_TEXT_INK

    @property
    def empty(self) -> bool:
        return self.writing is None

    @property
    def width(self) -> int:
        return self.bbox[2] - self.bbox[0]

    def for_ocr(self, target_height: float | None = None) -> np.ndarray:
        """uint8 image (0 = ink) of the writing, scaled to ``target_height`` px and framed in white."""
        import cv2

        if self.writing is None:
            raise ValueError("an empty field has no writing to read")
        p = self.params
        target = target_height or p.target_height
        out: np.ndarray = np.where(self.writing, 0, 255).astype(np.uint8)
        scale = min(p.max_scale, max(p.min_scale, target / max(self.text_height, 1)))
        if abs(scale - 1.0) > 0.05:
            size = (max(1, round(out.shape[1] * scale)), max(1, round(out.shape[0] * scale)))
            out = cv2.resize(out, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        b = max(4, round(p.border * target))
        return np.asarray(cv2.copyMakeBorder(out, b, b, b, b, cv2.BORDER_CONSTANT, value=255), dtype=np.uint8)


def paper_and_ink(gray: np.ndarray, min_contrast: float = 60.0) -> tuple[float, float] | None:
    """(paper level, ink level) of a crop; None when nothing is markedly darker than the paper."""
    paper = float(np.median(gray))
    dark = gray[gray < paper - min_contrast]
    if dark.size < 8:
        return None
    return paper, float(np.percentile(dark, 5))


def _remove_edge_lines(binary: np.ndarray, p: TextInkParams) -> int:
    """Clear straight horizontal/vertical runs near the crop's edges (in place); return pixels cleared.

    What is left of a box's ruled line after dropout (blur and registration error make it wider
    than the template's) is a long thin run along an edge. Strokes of ー or 一 sit mid-height,
    outside the edge bands, and vertical runs must be longer than any character is tall.
    """
    import cv2

    h, w = binary.shape
    band = p.edge_band_px
    lines = np.zeros_like(binary)
    if h > 2 * band and w > p.line_len_px:
        hk = cv2.getStructuringElement(cv2.MORPH_RECT, (p.line_len_px, 1))
        for r0, r1 in ((0, band), (h - band, h)):
            lines[r0:r1] |= cv2.morphologyEx(binary[r0:r1], cv2.MORPH_OPEN, hk)
    vlen = max(p.line_len_px, int(0.6 * h))
    if w > 2 * band and h > vlen:
        vk = cv2.getStructuringElement(cv2.MORPH_RECT, (1, vlen))
        for c0, c1 in ((0, band), (w - band, w)):
            lines[:, c0:c1] |= cv2.morphologyEx(binary[:, c0:c1], cv2.MORPH_OPEN, vk)
    n = int(np.count_nonzero(lines))
    if n:
        grown = cv2.dilate(lines, np.ones((3, 3), np.uint8))  # the run's blurred edges too
        binary[grown.astype(bool)] = 0
    return n


def _empty(dropped: int = 0, dropped_px: int = 0, params: TextInkParams = DEFAULT_TEXT_INK) -> TextInk:
    return TextInk(None, (0, 0, 0, 0), 0, 0, False, dropped, dropped_px, 0, params)


def text_ink(gray: np.ndarray, params: TextInkParams = DEFAULT_TEXT_INK) -> TextInk:
    """The writing in a dropped-out text crop, without specks, seal ink and ruled-line remnants.

    Paper and ink levels are measured in the crop; pixels darker than halfway between them are
    ink. A connected component counts as writing when enough of its pixels are really dark (a
    red seal turns mid-grey in a grayscale scan, and so do shadows), and it is not a speck (a
    speck next to writing is kept: dakuten and the dots of ツ are that small). No writing left
    means the field is empty.
    """
    import cv2

    p = params
    if gray.size == 0 or min(gray.shape) < 4:
        return _empty(params=p)
    levels = paper_and_ink(gray, p.min_contrast)
    if levels is None:
        return _empty(params=p)
    paper, ink = levels
    t_bin = ink + p.binarize_at * (paper - ink)
    t_core = min(ink + p.core_at * (paper - ink), p.core_ratio * paper)
    binary = (gray < t_bin).astype(np.uint8)
    line_px = _remove_edge_lines(binary, p)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    wd, ht = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    core = np.bincount(labels[gray < t_core], minlength=n)
    dark_enough = core >= np.maximum(2, p.core_share * area)
    small = (wd < p.speck_px) & (ht < p.speck_px)
    big = dark_enough & ~small
    big[0] = False
    keep = big.copy()
    if big.any():
        # specks, and small faint marks (a blurred handakuten ring has no really dark pixel), count
        # when they sit next to writing
        faint_mark = (wd < p.attach_px) & (ht < p.attach_px) & (area >= p.attach_min_area) & ~small & ~big
        cand = np.flatnonzero((dark_enough & small) | faint_mark)
        cand = cand[cand > 0]
        if cand.size:
            near = cv2.dilate(big[labels].astype(np.uint8), np.ones((2 * p.near_px + 1,) * 2, np.uint8))
            touched = np.bincount(labels[near.astype(bool)], minlength=n) > 0
            keep[cand] = touched[cand]
    keep[0] = False
    dropped_ids = np.flatnonzero(~keep)[1:]
    noise = dropped_ids[~small[dropped_ids]]
    dropped_px = int(area[noise].sum()) + line_px
    dropped = len(noise) + (1 if line_px else 0)
    kept = keep[labels]
    ink_px = int(np.count_nonzero(kept))
    if ink_px < p.min_text_px:
        return _empty(dropped, dropped_px, p)
    ys, xs = np.nonzero(kept)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    h, w = gray.shape
    touches = x0 <= 0 or y0 <= 0 or x1 >= w or y1 >= h
    # a speck or a seal's fragment kept next to the writing must not count in its height
    lo, hi = np.percentile(ys, [2.0, 98.0])
    core_height = max(1, min(y1 - y0, round(float(hi - lo) * 1.04)))
    height = y1 - y0 if y1 - y0 <= 1.25 * core_height else core_height
    return TextInk(kept[y0:y1, x0:x1], (x0, y0, x1, y1), height, core_height, touches, dropped, dropped_px,
                   ink_px, p)

"""The ruled geometry of a blank form, for ``jimu forms propose``: lines, closed cells, small boxes
and the printed words inside a cell (all in mm).

The blank's ruled lines are found with long morphological openings; the closed regions between
them are the cells. Small boxes (tick squares, 1文字枠) have sides shorter than a ruled line and
are closed from the raw ink. Printed words are the ink left once lines and boxes are taken out,
joined along a line of text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]

LINE_MM = 6.0  # a ruled line is at least this long
MIN_CELL_MM = (3.0, 3.0)
MAX_CELL_AREA_SHARE = 0.25  # a "cell" bigger than a quarter of the page is the background or a frame
TICK_MM = (2.5, 6.5)  # a tick box's side
DIGIT_CELL_MM = (4.0, 10.0, 15.0)  # a 1文字枠's width (min, max) and its height at most
TEXT_INK_SHARE = 0.004  # a cell with more printed ink than this (inside its lines) holds a label


@dataclass
class Cell:
    x: float  # mm
    y: float
    w: float
    h: float
    ink: float = 0.0  # share of dark pixels inside, away from the lines
    text: str = ""

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def contains(self, o: Cell, tol: float = 0.5) -> bool:
        return (o.x >= self.x - tol and o.y >= self.y - tol and o.right <= self.right + tol
                and o.bottom <= self.bottom + tol and (o.w * o.h) < (self.w * self.h) * 0.9)


def binary(gray: U8) -> U8:
    _, b = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return np.asarray(b, np.uint8)


def ruled_lines(gray: U8, px_per_mm: float) -> U8:
    """The page's horizontal and vertical ruled lines (255), nothing else."""
    b = binary(gray)
    n = max(8, round(LINE_MM * px_per_mm))
    h = cv2.morphologyEx(b, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1)))
    v = cv2.morphologyEx(b, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, n)))
    lines = cv2.bitwise_or(h, v)
    return np.asarray(cv2.dilate(lines, np.ones((3, 3), np.uint8)), np.uint8)


def small_boxes(b: U8, px_per_mm: float) -> list[tuple[int, int, int, int]]:
    """Closed, hollow boxes too small for a ruled line (tick squares, 1文字枠), in pixels. A printed
    character such as 日 closes a contour too, but its strokes cross its middle."""
    contours, _ = cv2.findContours(b, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for cnt in contours:
        x, y, w, h = cv2.boundingRect(cnt)
        wm, hm = w / px_per_mm, h / px_per_mm
        if not (TICK_MM[0] <= wm <= DIGIT_CELL_MM[1] + 1 and TICK_MM[0] <= hm <= DIGIT_CELL_MM[2]):
            continue
        if cv2.contourArea(cnt) <= 0.85 * w * h:
            continue  # not square-cornered: a printed 〇 or a character
        mx, my = max(2, w // 4), max(2, h // 4)
        middle = b[y + my:y + h - my, x + mx:x + w - mx]
        if middle.size and (middle > 0).mean() < 0.05:
            out.append((x, y, w, h))
    return out


def find_cells(gray: U8, px_per_mm: float) -> list[Cell]:
    """Closed cells of the ruled grid (and stand-alone small boxes), in mm, with the ink inside them."""
    lines = ruled_lines(gray, px_per_mm)
    # small boxes (tick squares, 1文字枠) have sides shorter than LINE_MM: close them from the raw ink
    b = binary(gray)
    small = np.zeros_like(lines)
    for x, y, w, h in small_boxes(b, px_per_mm):
        cv2.rectangle(small, (x, y), (x + w - 1, y + h - 1), 255, 2)
    grid = cv2.bitwise_or(lines, small)
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(grid), connectivity=4)
    page_area = gray.shape[0] * gray.shape[1]
    cells = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area > MAX_CELL_AREA_SHARE * page_area or x == 0 or y == 0:
            continue  # the background, which touches the page's edge
        if w / px_per_mm < MIN_CELL_MM[0] or h / px_per_mm < MIN_CELL_MM[1] or area < 0.35 * w * h:
            continue
        inner = b[y + 2:y + h - 2, x + 2:x + w - 2]
        ink = float((inner > 0).mean()) if inner.size else 0.0
        cells.append(Cell(x / px_per_mm, y / px_per_mm, w / px_per_mm, h / px_per_mm, ink))
    return cells


def read_text(engine: Any, gray: U8, c: Cell, px_per_mm: float) -> str:
    from jimu.extractors.engines.base import OcrRequest

    x0, y0 = round(c.x * px_per_mm) + 2, round(c.y * px_per_mm) + 2
    x1, y1 = round(c.right * px_per_mm) - 2, round(c.bottom * px_per_mm) - 2
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return ""
    ys, xs = np.nonzero(crop < 128)
    if len(ys) == 0:
        return ""
    pad = 4
    crop = crop[max(0, ys.min() - pad):ys.max() + pad, max(0, xs.min() - pad):xs.max() + pad]
    res = engine.recognize(OcrRequest(image=crop, psm=7))
    return re.sub(r"\s+", "", res.text)


@dataclass
class Word:
    """A run of printed characters inside a cell (mm), read with the recogniser on demand."""

    x: float
    y: float
    w: float
    h: float
    text: str = ""

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


def printed_ink(gray: U8, px_per_mm: float) -> U8:
    """The page's ink without its ruled lines and small boxes: labels, option words, units."""
    lines = ruled_lines(gray, px_per_mm)
    b = binary(gray)
    for x, y, w, h in small_boxes(b, px_per_mm):
        cv2.rectangle(lines, (x, y), (x + w - 1, y + h - 1), 255, 3)
    return np.asarray(cv2.bitwise_and(b, cv2.bitwise_not(lines)), np.uint8)


def words_in(ink: U8, c: Cell, px_per_mm: float, gap_mm: float = 1.2) -> list[Word]:
    """Printed words inside cell ``c``: ink joined across gaps narrower than ``gap_mm`` on a line."""
    x0, y0 = round(c.x * px_per_mm) + 3, round(c.y * px_per_mm) + 3
    x1, y1 = round(c.right * px_per_mm) - 3, round(c.bottom * px_per_mm) - 3
    crop = ink[y0:y1, x0:x1]
    if crop.size == 0 or not crop.any():
        return []
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, round(gap_mm * px_per_mm)), max(1, round(0.4 * px_per_mm))))
    joined = cv2.dilate(crop, k)
    n, _l, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, _a = (int(v) for v in stats[i])
        part = crop[y:y + h, x:x + w]
        ys, xs = np.nonzero(part)
        if len(ys) == 0:
            continue
        bx, by = x + xs.min(), y + ys.min()
        bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        if bw / px_per_mm < 0.8 and bh / px_per_mm < 0.8:
            continue  # a speck
        out.append(Word((x0 + bx) / px_per_mm, (y0 + by) / px_per_mm, bw / px_per_mm, bh / px_per_mm))
    return sorted(out, key=lambda w: (round(w.y / 2), w.x))


def read_word(engine: Any, gray: U8, w: Word, px_per_mm: float) -> str:
    pad = 0.6
    return read_text(engine, gray, Cell(w.x - pad, w.y - pad, w.w + 2 * pad, w.h + 2 * pad), px_per_mm)

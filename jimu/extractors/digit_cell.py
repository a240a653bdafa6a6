"""Cleaning one 1文字枠 box crop for the digit classifier: threshold it, remove the box's border remnants and
specks, and normalise the digit into a 28×28 image (:func:`normalize_cell`, :func:`preprocess_cell`)."""


from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

NORM_SIZE = 28  # side of the normalised image
NORM_BOX = 20  # the digit's longer side is scaled to this

MIN_CONTRAST = 45  # grey levels between paper and ink for a pixel to count as ink
_EDGE_BAND = 0.09  # border remnants are looked for in this fraction of the side (3..8 px) …
_LINE_FILL = 0.55  # … where a row / column this full of ink is a ruled line,
_WIDE_BAND = 0.16  # and in this fraction of the side (up to 14 px) …
_WIDE_LINE_FILL = 0.85  # … a row / column this full of ink (no digit stroke is that long)
_MIN_SPAN = 0.2  # the kept ink must span this much of the box's height or width


@dataclass(frozen=True)
class NormalizedCell:
    """A box crop after cleaning: the digit's image and where its ink sat in the box."""

    image: np.ndarray  # float32 NORM_SIZE×NORM_SIZE, 0 = paper, 1 = ink
    rel_height: float  # ink bounding box height / box height
    rel_width: float  # ink bounding box width / box width
    offset_x: float  # ink bounding box centre − box centre, in box widths
    offset_y: float  # … in box heights


def _as_gray_u8(crop: np.ndarray) -> np.ndarray:
    g = np.asarray(crop)
    if g.ndim == 3:
        g = cv2.cvtColor(g, cv2.COLOR_RGBA2GRAY if g.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    if g.dtype != np.uint8:
        if np.issubdtype(g.dtype, np.floating) and g.size and float(np.nanmax(g)) <= 1.0:
            g = g * 255.0
        g = np.clip(np.nan_to_num(g), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(g)


def _quantile_u8(img: np.ndarray, q: float, mask: np.ndarray | None = None) -> int:
    """The q-quantile (0..1) of a uint8 image's grey levels (where ``mask`` is non-zero)."""
    cum = np.cumsum(cv2.calcHist([img], [0], mask, [256], [0, 256]).ravel())
    return int(np.searchsorted(cum, q * cum[-1]))


def _clear_ruled_lines(ink: np.ndarray, band_y: int, band_x: int) -> None:
    """Clear rows / columns near the edges that are mostly ink: remnants of the box's border.

    Fill is measured after closing gaps of up to 6 px along the row / column, so that dashed and dotted
    rules (common between the boxes of one number) count as lines too.
    """
    h, w = ink.shape
    wide_y = min(14, max(band_y, round(_WIDE_BAND * h)), h // 2)
    wide_x = min(14, max(band_x, round(_WIDE_BAND * w)), w // 2)
    along_rows = np.ones((1, 7), np.uint8)
    along_cols = np.ones((7, 1), np.uint8)
    for rows in (np.arange(wide_y), np.arange(h - wide_y, h)):
        strip = cv2.morphologyEx(ink[rows], cv2.MORPH_CLOSE, along_rows, borderType=cv2.BORDER_REPLICATE)
        fill = cv2.reduce(strip, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() / w
        dist = np.minimum(rows, h - 1 - rows)
        hit = rows[((dist < band_y) & (fill > _LINE_FILL)) | (fill > _WIDE_LINE_FILL)]
        if hit.size:
            ink[hit] = 0
    for cols in (np.arange(wide_x), np.arange(w - wide_x, w)):
        strip = cv2.morphologyEx(np.ascontiguousarray(ink[:, cols]), cv2.MORPH_CLOSE, along_cols, borderType=cv2.BORDER_REPLICATE)
        fill = cv2.reduce(strip, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() / h
        dist = np.minimum(cols, w - 1 - cols)
        hit = cols[((dist < band_x) & (fill > _LINE_FILL)) | (fill > _WIDE_LINE_FILL)]
        if hit.size:
            ink[:, hit] = 0


def normalize_cell(crop: np.ndarray) -> NormalizedCell | None:
    """Clean a box crop and normalise its digit; None when the box is empty. See :func:`preprocess_cell`."""
    g = _as_gray_u8(crop)
    h, w = g.shape[:2]
    if h < 10 or w < 10:
        return None
    # paper: a high quantile, as a bold digit can cover half of a small box
    paper = _quantile_u8(g, 0.85)
    band_y = min(8, max(3, round(_EDGE_BAND * h)))
    band_x = min(8, max(3, round(_EDGE_BAND * w)))
    inner = g[band_y : h - band_y, band_x : w - band_x]
    darkest = _quantile_u8(np.ascontiguousarray(inner), 0.004)
    contrast = paper - darkest
    if contrast < MIN_CONTRAST:  # nothing in the box's inside is darker than the paper: empty
        return None
    # hysteresis: ink is what is darker than the paper by 30% of the contrast and connected to
    # something darker by 50%, so faint, blurred strokes stay whole and faint noise stays out
    weak_t = paper - max(0.6 * MIN_CONTRAST, 0.3 * contrast)
    strong_t = paper - max(MIN_CONTRAST, 0.5 * contrast)
    weak = cv2.threshold(g, weak_t, 1, cv2.THRESH_BINARY_INV)[1]
    _clear_ruled_lines(weak, band_y, band_x)

    n, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    if n <= 1:
        return None
    xs, ys, ws, hs, areas = (stats[1:, i] for i in range(5))
    min_area = max(4.0, 0.0012 * h * w)
    # pieces of border: within an edge band and either touching the edge or thin and long along it
    in_lr = (xs + ws <= band_x + 1) | (xs >= w - band_x - 1)
    in_tb = (ys + hs <= band_y + 1) | (ys >= h - band_y - 1)
    touch_lr = (xs == 0) | (xs + ws == w)
    touch_tb = (ys == 0) | (ys + hs == h)
    border = (in_lr & (touch_lr | ((ws <= 5) & (hs >= 3 * ws)))) | (in_tb & (touch_tb | ((hs <= 5) & (ws >= 3 * hs))))
    # touching an edge, thin and long along it: a border line that reaches further in
    border |= (touch_lr & (ws <= band_x + 2) & (hs >= 3 * ws)) | (touch_tb & (hs <= band_y + 2) & (ws >= 3 * hs))
    keep = (areas >= min_area) & ~border
    for i in np.nonzero(keep)[0]:  # a weak component with no strong pixel is noise
        x, y = int(xs[i]), int(ys[i])
        comp = (labels[y : y + hs[i], x : x + ws[i]] == i + 1).astype(np.uint8)
        if cv2.minMaxLoc(g[y : y + hs[i], x : x + ws[i]], comp)[0] > strong_t:
            keep[i] = False
    if not keep.any():
        return None
    keep &= areas >= 0.1 * areas[keep].max()  # specks beside the digit
    ids = np.nonzero(keep)[0] + 1
    x0 = int(xs[keep].min())
    y0 = int(ys[keep].min())
    x1 = int((xs + ws)[keep].max())
    y1 = int((ys + hs)[keep].max())
    bw, bh = x1 - x0, y1 - y0
    if bh < _MIN_SPAN * h and bw < _MIN_SPAN * w:
        return None

    lab = labels[y0:y1, x0:x1]
    if ids.size == 1:
        mask = (lab == ids[0]).astype(np.uint8)
    else:
        lut = np.zeros(n, np.uint8)
        lut[ids] = 1
        mask = lut[lab]
    sub_u8 = np.ascontiguousarray(g[y0:y1, x0:x1])
    ink_level = _quantile_u8(sub_u8, 0.5, mask)
    dark = np.clip((paper - sub_u8.astype(np.float32)) * (1.0 / max(paper - ink_level, 1)), 0.0, 1.0)
    # keep the anti-aliased rim of the kept strokes, nothing of what was removed
    soft = dark * cv2.dilate(mask, np.ones((3, 3), np.uint8)).astype(np.float32)

    scale = NORM_BOX / max(bw, bh)
    nw, nh = max(1, round(bw * scale)), max(1, round(bh * scale))
    small = cv2.resize(soft, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    np.clip(small, 0.0, 1.0, out=small)
    total = float(small.sum())
    if total <= 0:
        return None
    cy = float((small.sum(axis=1) * np.arange(nh)).sum()) / total
    cx = float((small.sum(axis=0) * np.arange(nw)).sum()) / total
    ox = int(np.clip(round(NORM_SIZE / 2 - 0.5 - cx), 0, NORM_SIZE - nw))
    oy = int(np.clip(round(NORM_SIZE / 2 - 0.5 - cy), 0, NORM_SIZE - nh))
    out = np.zeros((NORM_SIZE, NORM_SIZE), np.float32)
    out[oy : oy + nh, ox : ox + nw] = small
    return NormalizedCell(
        image=out,
        rel_height=bh / h,
        rel_width=bw / w,
        offset_x=(x0 + bw / 2) / w - 0.5,
        offset_y=(y0 + bh / 2) / h - 0.5,
    )


def preprocess_cell(crop: np.ndarray) -> np.ndarray | None:
    """Clean one box crop and normalise its digit.

    ``crop`` is a grayscale uint8 crop (0 = black ink) of one 1-character box, possibly with remnants of
    the box's ruled border at its edges.  The ink is thresholded with hysteresis relative to the contrast
    between the paper and the darkest ink inside the box (at least MIN_CONTRAST grey levels), ruled lines
    and pieces of border in the edge bands and specks are removed, and the rest is scaled so its longer
    side is 20 px and placed in a 28×28 float32 image (0 = paper, 1 = ink) centred by mass.
    Returns None when the box is empty (no significant ink).
    """
    cell = normalize_cell(crop)
    return None if cell is None else cell.image

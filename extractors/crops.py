"""Cut field regions out of a registered page, and drop the printed form out of them."""

from __future__ import annotations

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

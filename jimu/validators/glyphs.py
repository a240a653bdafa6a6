"""How alike two characters look, from glyphs rendered with a Japanese font (OCR confuses look-alikes).

Used only to break ties when snapping to a vocabulary.  Needs a CJK font (Debian
``fonts-noto-cjk`` or ``fonts-ipafont-gothic``); without one :func:`glyph_similarity`
returns None and callers fall back to plain edit distance.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf",
)
_SIZE = 64


@lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | None:
    from jimu.settings import get_settings

    paths = [str(get_settings().glyph_font or ""), *FONT_CANDIDATES]
    for p in paths:
        if p and Path(p).is_file():
            try:
                return ImageFont.truetype(p, 48)
            except OSError:
                continue
    return None


def font_available() -> bool:
    return _font() is not None


@lru_cache(maxsize=4096)
def _glyph(ch: str) -> np.ndarray | None:
    font = _font()
    if font is None:
        return None
    im = Image.new("L", (_SIZE, _SIZE), 0)
    ImageDraw.Draw(im).text((_SIZE / 2, _SIZE / 2), ch, font=font, fill=255, anchor="mm")
    im = im.filter(ImageFilter.GaussianBlur(3)).resize((16, 16), Image.Resampling.BILINEAR)
    v = np.asarray(im, dtype=np.float64).ravel()
    v = v - v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n else None


@lru_cache(maxsize=16384)
def glyph_similarity(a: str, b: str) -> float | None:
    """Cosine similarity (≤ 1) of two blurred glyph images; 1.0 for equal characters; None without a font."""
    if a == b:
        return 1.0
    ga, gb = _glyph(a), _glyph(b)
    if ga is None or gb is None:
        return None
    return float(ga @ gb)


def visual_edit_distance(a: str, b: str) -> float | None:
    """Levenshtein distance where substituting look-alike characters costs less than 1."""
    if not font_available():
        return None
    prev = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [float(i)]
        for j, cb in enumerate(b, 1):
            sim = glyph_similarity(ca, cb)
            sub = 1.0 - max(0.0, sim if sim is not None else 0.0)
            cur.append(min(prev[j] + 1.0, cur[j - 1] + 1.0, prev[j - 1] + sub))
        prev = cur
    return prev[-1]

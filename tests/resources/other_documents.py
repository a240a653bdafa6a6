"""Pages of other documents (a letter, a ruled table of someone else's, a photo), drawn at test time:
no form of Jimu's or of a city's may take them (tests/test_classify.py, tests/test_foreign_forms.py)."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jimu.fixtures.fonts import font_path

TEMPLATE_SIZE = (2480, 3508)  # A4 at 300 dpi
KANJI = (
    "市区町村役所住民届出申請書氏名住所生年月日電話番号印鑑登録証明交付介護保険子供医療費助成"
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよ"
)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path("gothic")), size)


def letter_page(rng: random.Random) -> Image.Image:
    im = Image.new("L", TEMPLATE_SIZE, 255)
    d = ImageDraw.Draw(im)
    d.text((TEMPLATE_SIZE[0] // 2, 300), "".join(rng.choice(KANJI) for _ in range(10)), font=_font(80), fill=0,
           anchor="mm")
    y = 500
    body = _font(48)
    while y < TEMPLATE_SIZE[1] - 300:
        d.text((250, y), "".join(rng.choice(KANJI) for _ in range(rng.randint(20, 38))), font=body, fill=0)
        y += rng.choice([75, 75, 75, 150])
    return im


def table_page(rng: random.Random, corner_marks: bool = False) -> Image.Image:
    w, h = TEMPLATE_SIZE
    im = Image.new("L", TEMPLATE_SIZE, 255)
    d = ImageDraw.Draw(im)
    cols, rows = [rng.randint(150, 300)], [rng.randint(200, 500)]
    while cols[-1] < w - 400:
        cols.append(cols[-1] + rng.randint(250, 500))
    while rows[-1] < h - 400:
        rows.append(rows[-1] + rng.randint(90, 140))
    for x in cols:
        d.line((x, rows[0], x, rows[-1]), fill=0, width=4)
    for y in rows:
        d.line((cols[0], y, cols[-1], y), fill=0, width=4)
    f = _font(40)
    for r in range(len(rows) - 1):
        for c in range(len(cols) - 1):
            if rng.random() < 0.7:
                text = "".join(rng.choice(KANJI) for _ in range(rng.randint(2, 6)))
                d.text((cols[c] + 15, rows[r] + 20), text, font=f, fill=0)
    if corner_marks:  # somebody else's form with the same kind of corner squares
        for x, y in ((59, 59), (w - 119, 59), (59, h - 119), (w - 119, h - 119)):
            d.rectangle((x, y, x + 59, y + 59), fill=0)
    return im


def photo_page(rng: random.Random) -> Image.Image:
    g = np.random.default_rng(rng.getrandbits(32))
    w, h = TEMPLATE_SIZE
    small = Image.fromarray((g.random((12, 9)) * 255).astype(np.uint8))
    base = np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
    img = base * 0.8 + 30 + g.normal(0, 15, (h, w)).astype(np.float32)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(30):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(30, 300)
        d.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(0, 255))
    return im



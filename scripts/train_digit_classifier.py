#!/usr/bin/env python
"""Train the 1文字枠 digit classifier (jimu/extractors/digit_classifier.py) on synthetic box crops.

Box crops are rendered from the digits 0–9 (half- and full-width) of many fonts, and from scikit-learn's
bundled handwritten digits (8×8, upsampled; its own train / validation / test split), with the
production look: a 54–86 × 64–110 px box at ~300 dpi, remnants of its ruled border at the edges (1–4 px,
partly outside the crop, sometimes partial or dashed), the digit 35–95% of the box height in training
(45–88% in evaluation), off-centre up to 20%, rotated ±5° and sheared, strokes thinned or thickened,
elastic wobble, blur, a 200-dpi round trip, noise and JPEG; plus empty boxes.  The cells go through
the module's own preprocess_cell and features; an ensemble of scikit-learn MLPs is trained on them and
saved as plain numpy arrays, with a softmax temperature fitted on a validation set.

Fonts fall in three roles (see FONT_GROUPS):
  train        rendered for training;
  calibration  never trained on, used with the validation split to fit the softmax temperature, so the
               probabilities are calibrated for fonts the model has not seen;
  unseen       never trained on, only evaluated: setofont.ttf (handwriting-style) always, plus Breip,
               Liberation, Roboto and Motoya Maruberi when installed.
Missing fonts are skipped and listed.  setofont-ex.ttf has no digit glyphs (only extra kanji), so
adding it changes nothing; the script reports that.  ``--fonts base`` trains on the fonts the
project's set-up installs or the base image has (IPA, Noto CJK, DejaVu, Droid, URW base35, Noto Mono)
plus scikit-learn's digits; ``--fonts extended`` (the default, and the shipped model) adds whichever
are installed of Debian's fonts-konatu, fonts-aoyagi-soseki, fonts-yozvox-yozfont, fonts-comic-neue, fonts-nanum-extra,
fonts-mplus, fonts-vlgothic, fonts-freefont-ttf, fonts-ipaexfont (training; NanumBrush and
fonts-humor-sans for calibration); fonts-breip, fonts-liberation, fonts-roboto-unhinted and
fonts-motoya-l-maruberi are only ever evaluated on.  To reproduce the shipped model:

    apt-get install fonts-konatu fonts-aoyagi-soseki fonts-yozvox-yozfont fonts-comic-neue fonts-nanum-extra fonts-mplus \
        fonts-vlgothic fonts-freefont-ttf fonts-ipaexfont fonts-humor-sans \
        fonts-breip fonts-liberation fonts-roboto-unhinted fonts-motoya-l-maruberi

Everything is seeded: the same fonts and seed give the same model.  Prints an evaluation table (per
source: accuracy; accuracy and share of the readings with p >= 0.99; errors at p >= 0.99; expected
calibration error; digits lost by the cleaning) and writes jimu/extractors/models/digits.npz.

    .venv/bin/python scripts/train_digit_classifier.py            # ~3.5 min on one core
    .venv/bin/python scripts/train_digit_classifier.py --fonts base --out data/digits-base.npz
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jimu.extractors.digit_classifier import (  # noqa: E402
    EMPTY_INDEX,
    MLP,
    RULE_EMPTY_PROBABILITY,
    DigitClassifier,
    NormalizedCell,
    cell_features,
    normalize_cell,
)

F = "/usr/share/fonts"
HALF = "0123456789"
FULL = "０１２３４５６７８９"

# (group, role, kind, font-set, glob patterns); kind is "print" or "hand"; font-set "base" or "extended"
FONT_GROUPS: list[tuple[str, str, str, str, list[str]]] = [
    ("ipa-gothic", "train", "print", "base", [f"{F}/opentype/ipafont-gothic/ipag*.ttf"]),
    ("ipa-mincho", "train", "print", "base", [f"{F}/opentype/ipafont-mincho/ipam*.ttf"]),
    ("noto-sans-cjk", "train", "print", "base", [f"{F}/opentype/noto/NotoSansCJK-*.ttc"]),
    ("noto-serif-cjk", "train", "print", "base", [f"{F}/opentype/noto/NotoSerifCJK-*.ttc"]),
    (
        "dejavu-sans",
        "train",
        "print",
        "base",
        [
            f"{F}/truetype/dejavu/DejaVuSans-*.ttf",
            f"{F}/truetype/dejavu/DejaVuSans.ttf",
            f"{F}/truetype/dejavu/DejaVuSansCondensed*.ttf",
        ],
    ),
    (
        "dejavu-serif",
        "train",
        "print",
        "base",
        [f"{F}/truetype/dejavu/DejaVuSerif*.ttf", f"{F}/truetype/dejavu/DejaVuMathTeXGyre.ttf"],
    ),
    ("dejavu-mono", "train", "print", "base", [f"{F}/truetype/dejavu/DejaVuSansMono*.ttf"]),
    ("droid", "train", "print", "base", [f"{F}/truetype/droid/DroidSansFallbackFull.ttf"]),
    ("noto-mono", "train", "print", "base", [f"{F}/truetype/noto/*.ttf"]),
    ("urw-c059", "train", "print", "base", [f"{F}/opentype/urw-base35/C059-*.otf"]),
    ("urw-p052", "train", "print", "base", [f"{F}/opentype/urw-base35/P052-*.otf"]),
    ("urw-nimbus-roman", "train", "print", "base", [f"{F}/opentype/urw-base35/NimbusRoman-*.otf"]),
    ("urw-nimbus-sans", "train", "print", "base", [f"{F}/opentype/urw-base35/NimbusSans-*.otf"]),
    ("urw-nimbus-narrow", "train", "print", "base", [f"{F}/opentype/urw-base35/NimbusSansNarrow-*.otf"]),
    ("urw-nimbus-mono", "train", "print", "base", [f"{F}/opentype/urw-base35/NimbusMonoPS-*.otf"]),
    ("urw-gothic", "train", "print", "base", [f"{F}/opentype/urw-base35/URWGothic-*.otf"]),
    ("urw-z003", "train", "print", "base", [f"{F}/opentype/urw-base35/Z003-*.otf"]),
    ("urw-bookman", "calibration", "print", "base", [f"{F}/opentype/urw-base35/URWBookman-*.otf"]),
    ("seto-ex", "train", "hand", "base", [f"{F}/truetype/seto/setofont-ex.ttf"]),
    ("setofont", "unseen", "hand", "base", [f"{F}/truetype/seto/setofont.ttf"]),
    # extended: Debian font packages installed by hand (skipped when missing)
    ("ipaex", "train", "print", "extended", [f"{F}/opentype/ipaexfont-*/ipaex*.ttf"]),
    ("mplus-1", "train", "print", "extended", [f"{F}/opentype/mplus/Mplus1-*.otf"]),
    ("mplus-2", "train", "print", "extended", [f"{F}/opentype/mplus/Mplus2-*.otf"]),
    ("mplus-code", "train", "print", "extended", [f"{F}/opentype/mplus/MplusCode*.otf"]),
    ("vlgothic", "train", "print", "extended", [f"{F}/truetype/vlgothic/*.ttf"]),
    ("free-sans", "train", "print", "extended", [f"{F}/truetype/freefont/FreeSans*.ttf"]),
    ("free-serif", "train", "print", "extended", [f"{F}/truetype/freefont/FreeSerif*.ttf"]),
    ("free-mono", "train", "print", "extended", [f"{F}/truetype/freefont/FreeMono*.ttf"]),
    (
        "nanum-gothic",
        "train",
        "print",
        "extended",
        [f"{F}/truetype/nanum/NanumGothic*.ttf", f"{F}/truetype/nanum/NanumBarunGothic*.ttf"],
    ),
    ("nanum-myeongjo", "train", "print", "extended", [f"{F}/truetype/nanum/NanumMyeongjo*.ttf"]),
    ("nanum-square", "train", "print", "extended", [f"{F}/truetype/nanum/NanumSquare*.ttf"]),
    ("konatu", "train", "hand", "extended", [f"{F}/truetype/konatu/*.ttf"]),
    ("aoyagi-soseki", "train", "hand", "extended", [f"{F}/truetype/aoyagi-soseki/*.ttf", f"{F}/opentype/aoyagi-soseki/*.otf"]),
    ("yozfont", "train", "hand", "extended", [f"{F}/truetype/yozvox-yozfont/*.ttf"]),
    ("comic-neue", "train", "hand", "extended", [f"{F}/opentype/comic-neue/*.otf"]),
    ("nanum-pen", "train", "hand", "extended", [f"{F}/truetype/nanum/NanumPen.ttf"]),
    ("nanum-barunpen", "train", "hand", "extended", [f"{F}/truetype/nanum/NanumBarunpen*.ttf"]),
    ("humor-sans", "calibration", "hand", "extended", [f"{F}/truetype/humor-sans/*.ttf"]),
    ("nanum-brush", "calibration", "hand", "extended", [f"{F}/truetype/nanum/NanumBrush.ttf"]),
    ("breip", "unseen", "hand", "extended", [f"{F}/truetype/breip/*.ttf"]),
    ("liberation", "unseen", "print", "extended", [f"{F}/truetype/liberation/*.ttf"]),
    ("roboto", "unseen", "print", "extended", [f"{F}/truetype/roboto/unhinted/**/*.ttf"]),
    ("maruberi", "unseen", "print", "extended", [f"{F}/truetype/motoya-l-maruberi/*.ttf"]),
]

GLYPH_PX = 160  # font size the glyphs are rasterised at before augmentation


# ----------------------------------------------------------------------------------------------- glyphs
@dataclass
class GlyphGroup:
    name: str
    role: str
    kind: str
    fonts: list[str]
    glyphs: list[list[np.ndarray]]  # per digit: float32 coverage masks (0..1), cropped to the ink


def _raster(font: ImageFont.FreeTypeFont, ch: str) -> np.ndarray:
    img = Image.new("L", (GLYPH_PX * 2, GLYPH_PX * 2), 0)
    ImageDraw.Draw(img).text((GLYPH_PX // 2, GLYPH_PX // 4), ch, font=font, fill=255)
    return np.asarray(img)


def _crop(a: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(a > 40)
    if ys.size < 20:
        return None
    return np.ascontiguousarray(a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255)


def font_glyphs(path: str) -> list[list[np.ndarray]]:
    """Per digit, the distinct glyphs (half- and full-width) a font really has (no .notdef boxes)."""
    font = ImageFont.truetype(path, GLYPH_PX, index=0)
    notdef = [_raster(font, ch) for ch in ("\U000f0000", "\uffff")]
    out: list[list[np.ndarray]] = []
    for d in range(10):
        variants: list[np.ndarray] = []
        for ch in (HALF[d], FULL[d]):
            a = _raster(font, ch)
            if any(np.array_equal(a, nd) for nd in notdef):
                continue
            g = _crop(a)
            if g is None:
                continue
            if any(v.shape == g.shape and float(np.abs(v - g).mean()) < 0.02 for v in variants):
                continue
            variants.append(g)
        out.append(variants)
    return out


def load_groups(font_set: str, log: Callable[[str], None]) -> list[GlyphGroup]:
    groups: list[GlyphGroup] = []
    for name, role, kind, fset, patterns in FONT_GROUPS:
        if font_set == "base" and fset != "base" and role != "unseen":
            continue  # evaluation-only fonts are used whatever the training fonts
        paths = sorted({p for pat in patterns for p in glob.glob(pat, recursive=True)})
        paths = [p for p in paths if not os.path.islink(p)]
        if not paths:
            log(f"  font group {name:18s} missing ({patterns[0]})")
            continue
        glyphs: list[list[np.ndarray]] = [[] for _ in range(10)]
        used: list[str] = []
        for p in paths:
            per_digit = font_glyphs(p)
            if sum(len(v) for v in per_digit) < 10 or any(not v for v in per_digit):
                log(f"  font {os.path.basename(p)}: {sum(len(v) for v in per_digit)} digit glyphs, skipped")
                continue
            used.append(p)
            for d in range(10):
                glyphs[d].extend(per_digit[d])
        if not used:
            continue
        n = sum(len(v) for v in glyphs)
        log(f"  font group {name:18s} {role:11s} {kind:5s} {len(used):2d} fonts, {n:4d} glyphs")
        groups.append(GlyphGroup(name, role, kind, used, glyphs))
    return groups


def sklearn_digit_glyphs(seed: int) -> dict[str, list[list[np.ndarray]]]:
    """scikit-learn's 8×8 handwritten digits, upsampled to crisp masks, split train / val / test per digit."""
    from sklearn.datasets import load_digits

    data = load_digits()
    rng = np.random.default_rng([seed, 8])
    split: dict[str, list[list[np.ndarray]]] = {k: [[] for _ in range(10)] for k in ("train", "val", "test")}
    for d in range(10):
        idx = np.nonzero(data.target == d)[0]
        idx = idx[rng.permutation(idx.size)]
        n_test = idx.size // 2
        n_val = idx.size // 10
        for k, part in (
            ("test", idx[:n_test]),
            ("val", idx[n_test : n_test + n_val]),
            ("train", idx[n_test + n_val :]),
        ):
            for i in part:
                im = data.images[i].astype(np.float32) / 16.0
                im = np.pad(im, 1)
                up = cv2.resize(im, (60, 60), interpolation=cv2.INTER_CUBIC)
                g = _crop((np.clip((up - 0.3) / 0.35, 0, 1) * 255).astype(np.uint8))
                if g is not None:
                    split[k][d].append(g)
    return split


# -------------------------------------------------------------------------------------------- rendering
def _elastic(rng: np.random.Generator, g: np.ndarray, alpha: float) -> np.ndarray:
    h, w = g.shape
    sigma = max(h, w) / 10
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    norm = alpha / max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(g, gx + dx * norm, gy + dy * norm, cv2.INTER_LINEAR, borderValue=0)


def _n_parts(g: np.ndarray) -> int:
    return int(cv2.connectedComponents((g > 0.5).astype(np.uint8), connectivity=8)[0])


def _stroke(rng: np.random.Generator, g: np.ndarray) -> np.ndarray:
    """Thicken or thin the strokes of a high-resolution glyph (thinning only where no stroke breaks)."""
    scale = max(g.shape) / 110.0
    r = rng.random()
    if r < 0.3:
        k = max(1, round(rng.uniform(1, 5) * scale))
        g = np.pad(g, k)
        return cv2.dilate(g, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    if r < 0.5:
        k = max(1, round(rng.uniform(1, 3.5) * scale))
        e = cv2.erode(g, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
        if float(e.sum()) > 0.5 * float(g.sum()) and _n_parts(e) == _n_parts(g):
            return e
    return g


def _digit_layer(
    rng: np.random.Generator, glyph: np.ndarray, H: int, W: int, hand: bool, sizes: tuple[float, float]
) -> np.ndarray:
    """Ink coverage (0..1) of an augmented glyph placed in an H×W box, ``sizes`` of its height."""
    g = _stroke(rng, glyph)
    if rng.random() < (0.6 if hand else 0.2):
        g = np.pad(g, 6)
        g = _elastic(rng, g, rng.uniform(1.5, 5.0 if hand else 3.0) * max(g.shape) / 110)
    ys, xs = np.nonzero(g > 0.15)
    if ys.size == 0:
        g = glyph
    else:
        g = g[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    gh, gw = g.shape
    th = rng.uniform(*sizes) * H
    tw = th * gw / gh * rng.uniform(0.85, 1.18)
    if tw > 0.9 * W:
        th, tw = th * 0.9 * W / tw, 0.9 * W
    tw, th = max(2.0, tw), max(4.0, th)
    small = cv2.resize(g, (max(1, round(tw)), max(1, round(th))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    ang = np.deg2rad(rng.uniform(-5, 5))
    shear = rng.uniform(-0.25, 0.25) if hand else (rng.uniform(-0.1, 0.1) if rng.random() < 0.3 else 0.0)
    a = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) @ np.array([[1, shear], [0, 1]])
    corners = (np.array([[0, 0], [sw, 0], [0, sh], [sw, sh]]) - [sw / 2, sh / 2]) @ a.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    cx = W / 2 + rng.uniform(-0.2, 0.2) * W
    cy = H / 2 + rng.uniform(-0.2, 0.2) * H
    cx = float(np.clip(cx, 1 - lo[0], W - 1 - hi[0])) if hi[0] - lo[0] < W - 2 else W / 2
    cy = float(np.clip(cy, 1 - lo[1], H - 1 - hi[1])) if hi[1] - lo[1] < H - 2 else H / 2
    m = np.hstack([a, (np.array([cx, cy]) - a @ np.array([sw / 2, sh / 2]))[:, None]])
    return cv2.warpAffine(small, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=0)


def _line_profile(rng: np.random.Generator, n: int, far: bool) -> np.ndarray:
    """Coverage across a ruled line near index 0 of an axis of length n (thickness 1–4 px, sub-pixel)."""
    t = rng.uniform(1.0, 4.2)
    start = rng.uniform(3.0, 7.0) if far else rng.uniform(-t + 0.7, 3.0)
    x = np.arange(n, dtype=np.float32)
    return np.clip(np.minimum(x + 1 - start, start + t - x), 0, 1)


def _border_layer(rng: np.random.Generator, H: int, W: int, empty: bool) -> np.ndarray:
    cov = np.zeros((H, W), np.float32)
    for side in range(4):
        if rng.random() > 0.7:
            continue
        along = W if side < 2 else H
        across = H if side < 2 else W
        prof = _line_profile(rng, across, far=rng.random() < (0.1 if empty else 0.03))
        if side in (1, 3):
            prof = prof[::-1]
        length = np.ones(along, np.float32)
        r = rng.random()
        if r < 0.15:  # only part of the line is in the crop (a corner, a gap)
            a0, a1 = sorted(rng.integers(0, along, 2))
            length[:] = 0
            length[a0 : max(a1, a0 + along // 4)] = 1
        elif r < 0.25:  # dashed / dotted
            period = int(rng.integers(4, 12))
            length = ((np.arange(along) + int(rng.integers(0, period))) % period < period // 2).astype(np.float32)
        strength = rng.uniform(0.5, 1.0)
        layer = (prof[:, None] * length[None, :]) if side < 2 else (length[:, None] * prof[None, :])
        cov = np.maximum(cov, strength * layer)
    return cov


EVAL_SIZES = (0.45, 0.88)  # digit height / box height: production is 50–85%
TRAIN_SIZES = (0.35, 0.95)  # trained a little wider


def render_cell(
    rng: np.random.Generator, glyph: np.ndarray | None, hand: bool, sizes: tuple[float, float] = EVAL_SIZES
) -> np.ndarray:
    """A synthetic grayscale box crop (uint8, 0 = ink) holding ``glyph`` (None: an empty box)."""
    W = int(rng.integers(54, 87))
    H = int(np.clip(W * rng.uniform(1.0, 1.5), 64, 110))
    paper = rng.uniform(200, 253)
    ink = rng.uniform(0, 140) if hand and rng.random() < 0.5 else rng.uniform(0, 70)
    img: np.ndarray = np.full((H, W), paper, np.float32)
    if glyph is not None:
        img -= (paper - ink) * _digit_layer(rng, glyph, H, W, hand, sizes)
    border = _border_layer(rng, H, W, glyph is None)
    line_ink = rng.uniform(0, 150)
    img = np.minimum(img, paper - (paper - line_ink) * border)
    for _ in range(int(rng.integers(0, 4)) if rng.random() < 0.3 else 0):  # specks of dust
        cv2.circle(
            img,
            (int(rng.integers(0, W)), int(rng.integers(0, H))),
            int(rng.integers(0, 2)),
            float(rng.uniform(40, 180)),
            -1,
        )
    if rng.random() < 0.7:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.25:  # scanned at 200 dpi, upsampled to 300
        lo = cv2.resize(img, (round(W * 2 / 3), round(H * 2 / 3)), interpolation=cv2.INTER_AREA)
        img = cv2.resize(lo, (W, H), interpolation=cv2.INTER_LINEAR)
    img += rng.normal(0, rng.uniform(0, 8), img.shape).astype(np.float32)
    out: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 96))])
        dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
        if dec is not None:
            out = dec
    return out


# --------------------------------------------------------------------------------------------- datasets
@dataclass
class Source:
    """Where the glyphs of one dataset come from: a list of (kind, per-digit glyph lists) to pick from."""

    name: str
    pools: list[tuple[str, list[list[np.ndarray]]]]  # kind, glyphs per digit


def _sample_set(
    args: tuple[int, int, Source | None, int, tuple[float, float]],
) -> tuple[list[NormalizedCell | None], np.ndarray]:
    seed, set_id, source, n, sizes = args
    cells: list[NormalizedCell | None] = []
    labels = np.empty(n, np.int64)
    for i in range(n):
        rng = np.random.default_rng([seed, set_id, i])
        if source is None:
            crop = render_cell(rng, None, hand=bool(rng.random() < 0.5))
            labels[i] = EMPTY_INDEX
        else:
            d = i % 10
            kind, pool = source.pools[int(rng.integers(len(source.pools)))]
            variants = pool[d]
            crop = render_cell(rng, variants[int(rng.integers(len(variants)))], kind == "hand", sizes)
            labels[i] = d
        cells.append(normalize_cell(crop))
    return cells, labels


def make_set(
    seed: int,
    set_id: int,
    source: Source | None,
    n: int,
    pool: ProcessPoolExecutor | None,
    sizes: tuple[float, float] = EVAL_SIZES,
) -> tuple[list[NormalizedCell | None], np.ndarray]:
    chunk = 2000
    jobs = [(seed, set_id * 1000 + k, source, min(chunk, n - k * chunk), sizes) for k in range((n + chunk - 1) // chunk)]
    results: Iterable[tuple[list[NormalizedCell | None], np.ndarray]] = (
        pool.map(_sample_set, jobs) if pool is not None else map(_sample_set, jobs)
    )
    cells: list[NormalizedCell | None] = []
    labels: list[np.ndarray] = []
    for c, lab in results:
        cells.extend(c)
        labels.append(lab)
    return cells, np.concatenate(labels)


def group_pools(groups: list[GlyphGroup], role: str, kind: str | None = None) -> list[tuple[str, list[list[np.ndarray]]]]:
    """One pool per font group: each group of a role weighs the same, however many files it has."""
    return [(g.kind, g.glyphs) for g in groups if g.role == role and (kind is None or g.kind == kind)]


# ------------------------------------------------------------------------------------------- training
_TRAINING_MARK = "# " + "-" * 91 + " training"


@dataclass
class FeatureSet:
    """Feature rows of the cells that survived cleaning; ``labels`` and ``present`` cover all renders."""

    name: str
    x: np.ndarray  # features of the present cells
    labels: np.ndarray  # class index per render (EMPTY_INDEX for empty boxes)
    present: np.ndarray  # bool per render: preprocess_cell found ink

    @property
    def y(self) -> np.ndarray:
        return self.labels[self.present]


def to_features(name: str, cells: list[NormalizedCell | None], labels: np.ndarray) -> FeatureSet:
    present = np.array([c is not None for c in cells], bool)
    return FeatureSet(name, cell_features([c for c in cells if c is not None]), labels, present)


def ensemble_proba(member_logits: list[np.ndarray], t: float) -> np.ndarray:
    out = np.zeros_like(member_logits[0])
    for z in member_logits:
        z = z / t
        z = np.exp(z - z.max(axis=1, keepdims=True))
        out += z / z.sum(axis=1, keepdims=True)
    return out / len(member_logits)


def fit_temperature(member_logits: list[np.ndarray], y: np.ndarray) -> float:
    def nll(t: float) -> float:
        p = ensemble_proba(member_logits, t)
        return float(-np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean())

    lo, hi = np.log(0.3), np.log(8.0)
    for _ in range(40):  # golden-section search on log T
        a = hi - (hi - lo) / 1.618
        b = lo + (hi - lo) / 1.618
        if nll(float(np.exp(a))) < nll(float(np.exp(b))):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def evaluate(clf: DigitClassifier, fs: FeatureSet) -> dict[str, float]:
    """Accuracy of the readings, as predict() would give them (a cell cleaned away reads as empty)."""
    n = fs.labels.size
    pred = np.full(n, EMPTY_INDEX)
    prob = np.full(n, RULE_EMPTY_PROBABILITY)
    if fs.x.shape[0]:
        p = clf.proba(fs.x)
        pred[fs.present] = p.argmax(axis=1)
        prob[fs.present] = p.max(axis=1)
    ok = pred == fs.labels
    hi = prob >= 0.99
    bins = np.minimum((prob * 10).astype(int), 9)  # expected calibration error over 10 bins
    ece = sum(abs(ok[bins == b].mean() - prob[bins == b].mean()) * (bins == b).mean() for b in np.unique(bins))
    return {
        "n": float(n),
        "acc": float(ok.mean()),
        "acc_hi": float(ok[hi].mean()) if hi.any() else float("nan"),
        "frac_hi": float(hi.mean()),
        "errors_hi": float((~ok[hi]).sum()),
        "ece": float(ece),
        "lost": float((~fs.present & (fs.labels != EMPTY_INDEX)).sum()),
    }


def build_sets(
    args: argparse.Namespace, log: Callable[[str], None]
) -> tuple[FeatureSet, FeatureSet, list[FeatureSet], list[str]]:
    """Render and featurise the training, validation and evaluation sets."""
    log(f"fonts ({args.fonts}):")
    groups = load_groups(args.fonts, log)
    skd = sklearn_digit_glyphs(args.seed)
    train_print = group_pools(groups, "train", "print")
    train_hand = group_pools(groups, "train", "hand")
    n = args.per_class * 10
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None

    # training mix: printed fonts, handwriting-style fonts (if any), sklearn digits, empty boxes
    parts: list[tuple[str, Source | None, int]] = []
    if train_hand:
        parts += [("print", Source("print", train_print), n // 2), ("hand", Source("hand", train_hand), n * 3 // 10)]
    else:
        parts += [("print", Source("print", train_print), n * 8 // 10)]
    parts += [("sklearn", Source("sklearn", [("hand", skd["train"])]), n // 5), ("empty", None, n * 3 // 20)]
    train: list[FeatureSet] = []
    for k, (name, src, m) in enumerate(parts):
        train.append(to_features(name, *make_set(args.seed, 10 + k, src, m, pool, TRAIN_SIZES)))
        log(f"train set {name:8s}: {m} renders, {int(train[-1].present.sum())} with ink")

    # validation (for the temperature): fresh renders of the training fonts, fonts kept for calibration
    # only, scikit-learn's validation split and empty boxes
    val_parts: list[tuple[Source | None, int]] = [
        (Source("print", train_print), 1500),
        (Source("sklearn-val", [("hand", skd["val"])]), 1500),
        (None, 1000),
    ]
    if train_hand:
        val_parts.append((Source("hand", train_hand), 1000))
    calib = group_pools(groups, "calibration")
    if calib:
        val_parts.append((Source("calibration", calib), 2000))
    val = [to_features("val", *make_set(args.seed, 40 + k, src, m, pool, TRAIN_SIZES)) for k, (src, m) in enumerate(val_parts)]

    # evaluation sets, never trained on, with the production size range
    m = args.eval_per_class * 10
    evals: list[tuple[str, Source | None, int]] = [("print fonts, seen faces, fresh renders", Source("p", train_print), m)]
    if train_hand:
        evals.append(("hand-style fonts, seen, fresh renders", Source("h", train_hand), m))
    for g in groups:
        if g.role == "unseen":
            evals.append((f"UNSEEN {g.kind} font: {g.name}", Source(g.name, [(g.kind, g.glyphs)]), m))
    n_sk = 3 * sum(len(v) for v in skd["test"])
    evals.append(("sklearn digits test split (x3 aug)", Source("sk", [("hand", skd["test"])]), n_sk))
    evals.append(("empty boxes (border remnants, noise)", None, m))
    tests = [to_features(name, *make_set(args.seed, 60 + k, src, cnt, pool)) for k, (name, src, cnt) in enumerate(evals)]
    if pool is not None:
        pool.shutdown()
    log(f"evaluation sets rendered: {', '.join(f'{t.name} ({t.labels.size})' for t in tests)}")
    return merge("train", train), merge("val", val), tests, [g.name for g in groups if g.role == "train"]


def merge(name: str, sets: list[FeatureSet]) -> FeatureSet:
    return FeatureSet(
        name,
        np.concatenate([s.x for s in sets]),
        np.concatenate([s.labels for s in sets]),
        np.concatenate([s.present for s in sets]),
    )


def cache_key(args: argparse.Namespace) -> str:
    """What the rendered sets depend on: the options, and the code that renders and cleans."""
    import hashlib

    h = hashlib.sha256()
    h.update(Path(__file__).read_text().split(_TRAINING_MARK)[0].encode())  # the rendering code
    for module in ("digit_classifier.py", "digit_cell.py", "digit_features.py"):
        h.update(Path(ROOT / "jimu" / "extractors" / module).read_bytes())
    h.update(f"{args.fonts} {args.seed} {args.per_class} {args.eval_per_class}".encode())
    return h.hexdigest()[:16]


def save_sets(path: Path, key: str, train: FeatureSet, val: FeatureSet, tests: list[FeatureSet], fonts: list[str]) -> None:
    arrays: dict[str, np.ndarray] = {"key": np.array(key), "fonts": np.array(",".join(fonts))}
    for i, fs in enumerate([train, val, *tests]):
        arrays.update({f"s{i}_name": np.array(fs.name), f"s{i}_x": fs.x, f"s{i}_labels": fs.labels, f"s{i}_present": fs.present})
    np.savez(path, **arrays)  # type: ignore[arg-type]


def load_sets(path: Path, key: str) -> tuple[FeatureSet, FeatureSet, list[FeatureSet], list[str]] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        if str(z["key"]) != key:
            return None
        sets = []
        i = 0
        while f"s{i}_name" in z.files:
            sets.append(FeatureSet(str(z[f"s{i}_name"]), z[f"s{i}_x"], z[f"s{i}_labels"], z[f"s{i}_present"]))
            i += 1
        return sets[0], sets[1], sets[2:], str(z["fonts"]).split(",")


def train_members(x: np.ndarray, y: np.ndarray, args: argparse.Namespace, log: Callable[[str], None]) -> list[MLP]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    hidden = tuple(int(h) for h in args.hidden.split(","))
    members = []
    for k in range(args.members):
        mlp = MLPClassifier(
            hidden_layer_sizes=hidden,
            alpha=args.alpha,
            batch_size=256,
            learning_rate_init=1e-3,
            max_iter=args.epochs,
            n_iter_no_change=args.epochs,
            tol=0.0,
            random_state=args.seed + k,
            shuffle=True,
        )
        with threadpool_limits(limits=max(1, args.jobs)), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(x, y)
        # rounded as they will be stored (float16) before the temperature is fitted
        members.append(MLP(tuple(w.astype(np.float16).astype(np.float32) for w in mlp.coefs_), tuple(mlp.intercepts_)))
        log(f"MLP {k + 1}/{args.members} {hidden} trained, final loss {mlp.loss_:.4f}")
    return members


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fonts", choices=("base", "extended"), default="extended")
    ap.add_argument("--out", type=Path, default=ROOT / "jimu" / "extractors" / "models" / "digits.npz")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--jobs", type=int, default=1, help="processes for rendering (the machine is shared)")
    ap.add_argument("--per-class", type=int, default=8000, help="training renders per digit")
    ap.add_argument("--eval-per-class", type=int, default=300)
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--alpha", type=float, default=1e-3, help="L2 penalty")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--members", type=int, default=3, help="MLPs in the ensemble")
    ap.add_argument("--cache", type=Path, help="keep the rendered feature sets here and reuse them")
    args = ap.parse_args()

    t0 = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - t0:6.1f}s] {msg}", flush=True)

    key = cache_key(args)
    loaded = load_sets(args.cache, key) if args.cache else None
    if loaded is not None:
        log(f"rendered sets loaded from {args.cache}")
        train, val, tests, trained_on = loaded
    else:
        train, val, tests, trained_on = build_sets(args, log)
        if args.cache:
            save_sets(args.cache, key, train, val, tests, trained_on)
    log(f"features: train {train.x.shape}, validation {val.x.shape}")

    mean = train.x.mean(axis=0)
    scale = train.x.std(axis=0) + 1e-3
    members = train_members((train.x - mean) / scale, train.y, args, log)
    clf = DigitClassifier(members, mean, scale)
    clf.temperature = fit_temperature(clf.member_logits(val.x), val.y)
    val_acc = float((clf.proba(val.x).argmax(axis=1) == val.y).mean())
    log(f"temperature {clf.temperature:.3f} (validation accuracy {val_acc:.4f})")

    print()
    head = f"{'source':42s} {'n':>6s} {'acc':>8s} {'acc@p>=.99':>11s} {'frac p>=.99':>12s} {'err@.99':>8s}"
    print(head + f" {'ECE':>6s} {'lost':>5s}")
    for fs in tests:
        r = evaluate(clf, fs)
        print(
            f"{fs.name:42s} {int(r['n']):6d} {r['acc']:8.4f} {r['acc_hi']:11.4f} {r['frac_hi']:12.3f}"
            f" {int(r['errors_hi']):8d} {r['ece']:6.3f} {int(r['lost']):5d}"
        )
    print()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    clf.save(
        args.out,
        fonts=args.fonts,
        trained_on=",".join(trained_on),
        seed=str(args.seed),
        hidden=args.hidden,
        members=str(args.members),
    )
    log(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()

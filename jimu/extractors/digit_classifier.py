"""Reading one digit per 1-character box (1文字枠): clean the box crop, normalise it, classify it.

Numbers on the forms (postal code, マイナンバー, 保険者番号, bank codes, date parts) are written one
digit per box.  Tesseract reads an isolated digit right only ~90% of the time, so this module has a
small dedicated classifier, as commercial AI-OCR does:

* :func:`preprocess_cell` takes a grayscale box crop (0 = black ink) that may carry remnants of the
  box's ruled border at its edges, blur and JPEG noise, thresholds it, removes the border remnants and
  specks, and returns the digit scaled into a 20×20 box inside a 28×28 image, centred by mass — or
  ``None`` for an empty box.
* :class:`DigitClassifier` turns that image (plus where the ink sat in the box) into HOG + pixel
  features and runs a small ensemble of MLPs in plain numpy.  The weights ship as
  ``jimu/extractors/models/digits.npz`` (no pickle, no scikit-learn at load time);
  ``scripts/train_digit_classifier.py`` makes them and prints how well they do on fonts never trained
  on.  The probabilities are temperature-calibrated, and there is an eleventh class, "empty", for boxes
  whose only ink is noise or border that the cleaning let through.

    clf = DigitClassifier.default()          # the shipped model, loaded once
    for p in clf.predict(crops):             # crops: grayscale uint8 box crops, 0 = ink
        p.digit, p.probability               # "7", 0.998 — or None (empty box), P(empty)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MODEL_FORMAT = "jimu-digits-mlp/1"
DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / "digits.npz"

NORM_SIZE = 28  # side of the normalised image
NORM_BOX = 20  # the digit's longer side is scaled to this
CLASSES: tuple[str | None, ...] = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", None)
EMPTY_INDEX = 10

# preprocess_cell's decision that a box is empty rests on there being no ink darker than the paper by
# MIN_CONTRAST grey levels inside it, or only specks and border; this is the probability reported for
# such a box (none of the ~24,000 digits of the training script's evaluation sets was lost that way).
RULE_EMPTY_PROBABILITY = 0.999

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


@dataclass(frozen=True)
class DigitPrediction:
    """What a box holds: ``digit`` is "0".."9", or None when the box is empty.

    ``probability`` is the calibrated probability of that reading (of emptiness when ``digit`` is None);
    ``empty_probability`` is P(empty) and ``digit_probabilities`` P("0")..P("9"), which with it sum to 1
    (useful to try a runner-up when a check digit fails).
    """

    digit: str | None
    probability: float
    empty_probability: float
    digit_probabilities: tuple[float, ...]

    @property
    def is_empty(self) -> bool:
        return self.digit is None

    def runner_up(self) -> tuple[str, float]:
        """The most likely digit other than ``digit`` (the best digit if the box reads as empty)."""
        order = sorted(range(10), key=lambda i: -self.digit_probabilities[i])
        best = order[1] if self.digit is not None and str(order[0]) == self.digit else order[0]
        return str(best), self.digit_probabilities[best]


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


_HOG_CELL = 7  # 4×4 cells of 7×7 px on the 28×28 image
_HOG_BINS = 9  # unsigned orientation bins over 0..180°
_N_HOG = (NORM_SIZE // _HOG_CELL - 1) ** 2 * 4 * _HOG_BINS  # 3×3 blocks of 2×2 cells: 324
_N_PIX = 14 * 14
N_FEATURES = _N_HOG + _N_PIX + 4


_NC = NORM_SIZE // _HOG_CELL
_CELL_OF_PIXEL = ((np.arange(NORM_SIZE) // _HOG_CELL)[:, None] * _NC + (np.arange(NORM_SIZE) // _HOG_CELL)[None, :]).ravel()


def hog_features(images: np.ndarray) -> np.ndarray:
    """HOG of a stack of 28×28 images (n × 324), as OpenCV's HOGDescriptor((28,28),(14,14),(7,7),(7,7),9).

    Centred-difference gradients, 9 unsigned orientation bins with linear interpolation between bins,
    7×7-px cells, blocks of 2×2 cells at a stride of one cell, L2-Hys block normalisation.
    """
    x = np.asarray(images, np.float32)
    n = x.shape[0]
    out = np.empty((n, _N_HOG), np.float32)
    for i in range(0, n, 256):  # chunks that stay in cache
        out[i : i + 256] = _hog_chunk(x[i : i + 256])
    return out


def _hog_chunk(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    npx = NORM_SIZE * NORM_SIZE
    gx = np.zeros_like(x)
    gy = np.zeros_like(x)
    gx[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    gy[:, 1:-1, :] = x[:, 2:, :] - x[:, :-2, :]
    gx, gy = gx.ravel(), gy.ravel()
    nz = np.flatnonzero((gx != 0) | (gy != 0))
    gx, gy = gx[nz], gy[nz]
    mag = np.sqrt(gx * gx + gy * gy)
    ang = np.arctan2(gy, gx)
    ang[ang < 0] += np.float32(np.pi)
    pos = ang * np.float32(_HOG_BINS / np.pi) - np.float32(0.5)  # bin centres at (k + 0.5)·π/9
    lo = np.floor(pos)
    frac = pos - lo
    lo_bin = lo.astype(np.int64)
    lo_bin[lo_bin < 0] += _HOG_BINS
    hi_bin = lo_bin + 1
    hi_bin[hi_bin == _HOG_BINS] = 0
    base = ((nz // npx) * (_NC * _NC) + _CELL_OF_PIXEL[nz % npx]) * _HOG_BINS
    size = n * _NC * _NC * _HOG_BINS
    hist = np.bincount(base + lo_bin, mag * (1 - frac), minlength=size)
    hist += np.bincount(base + hi_bin, mag * frac, minlength=size)
    cells = hist.astype(np.float32).reshape(n, _NC, _NC, _HOG_BINS)
    blocks = np.concatenate([cells[:, :-1, :-1], cells[:, :-1, 1:], cells[:, 1:, :-1], cells[:, 1:, 1:]], axis=3).reshape(
        n, -1, 4 * _HOG_BINS
    )
    blocks = blocks / np.sqrt((blocks * blocks).sum(axis=2, keepdims=True) + 1e-6)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks * blocks).sum(axis=2, keepdims=True) + 1e-6)
    return blocks.reshape(n, -1)


def cell_features(cells: Sequence[NormalizedCell]) -> np.ndarray:
    """Feature rows for normalised cells: HOG (324), 14×14 pixels (196) and 4 position values."""
    n = len(cells)
    out = np.empty((n, N_FEATURES), np.float32)
    if n == 0:
        return out
    images = np.stack([c.image for c in cells])
    out[:, :_N_HOG] = hog_features(images)
    out[:, _N_HOG : _N_HOG + _N_PIX] = images.reshape(n, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(n, -1)
    out[:, _N_HOG + _N_PIX :] = [(c.rel_height, c.rel_width, c.offset_x, c.offset_y) for c in cells]
    return out


@dataclass(frozen=True)
class MLP:
    """One fully connected ReLU network: ``weights[i]`` is (inputs × outputs), the last layer linear."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    def logits(self, a: np.ndarray) -> np.ndarray:
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            a = np.maximum(a @ w + b, 0.0)
        return np.asarray(a @ self.weights[-1] + self.biases[-1], np.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True), np.float32)


class DigitClassifier:
    """An ensemble of small MLPs over :func:`cell_features`; probabilities are the mean of the members'
    temperature-scaled softmax outputs.  Weights come from a ``.npz`` file (see module docstring)."""

    def __init__(self, members: Sequence[MLP], mean: np.ndarray, scale: np.ndarray, temperature: float = 1.0) -> None:
        if not members:
            raise ValueError("need at least one MLP")
        self.members = [
            MLP(
                tuple(np.asarray(w, np.float32) for w in m.weights),
                tuple(np.asarray(b, np.float32) for b in m.biases),
            )
            for m in members
        ]
        for m in self.members:
            if len(m.weights) != len(m.biases) or not m.weights:
                raise ValueError("need as many bias vectors as weight matrices")
            if m.weights[-1].shape[1] != len(CLASSES):
                raise ValueError(f"model has {m.weights[-1].shape[1]} outputs, expected {len(CLASSES)}")
            if m.weights[0].shape[0] != N_FEATURES:
                raise ValueError(f"model takes {m.weights[0].shape[0]} features, expected {N_FEATURES}")
        self.mean = np.asarray(mean, np.float32)
        self.scale = np.asarray(scale, np.float32)
        self.temperature = float(temperature)

    @classmethod
    def load(cls, path: str | Path | None = None) -> DigitClassifier:
        """Load a model saved by :meth:`save` (default: the shipped ``jimu/extractors/models/digits.npz``)."""
        with np.load(Path(path) if path is not None else DEFAULT_MODEL_PATH, allow_pickle=False) as z:
            fmt = str(z["format"]) if "format" in z.files else "?"
            if fmt != MODEL_FORMAT:
                raise ValueError(f"unknown digit model format {fmt!r} (expected {MODEL_FORMAT!r})")
            members = []
            for k in range(int(z["n_members"])):
                n_layers = int(z[f"m{k}_n_layers"])
                members.append(
                    MLP(
                        tuple(z[f"m{k}_W{i}"] for i in range(n_layers)),
                        tuple(z[f"m{k}_b{i}"] for i in range(n_layers)),
                    )
                )
            return cls(members, mean=z["mean"], scale=z["scale"], temperature=float(z["temperature"]))

    @classmethod
    @functools.cache
    def default(cls) -> DigitClassifier:
        """The shipped model, loaded once per process."""
        return cls.load()

    def save(self, path: str | Path, **meta: str) -> None:
        """Write the model as a plain ``.npz`` (weights as float16, the rest float32); ``meta`` as strings."""
        arrays: dict[str, np.ndarray] = {
            "format": np.array(MODEL_FORMAT),
            "n_members": np.array(len(self.members)),
            "mean": self.mean,
            "scale": self.scale,
            "temperature": np.array(self.temperature, np.float32),
        }
        for k, m in enumerate(self.members):
            arrays[f"m{k}_n_layers"] = np.array(len(m.weights))
            for i, (w, b) in enumerate(zip(m.weights, m.biases, strict=True)):
                arrays[f"m{k}_W{i}"] = w.astype(np.float16)
                arrays[f"m{k}_b{i}"] = b.astype(np.float32)
        for key, v in meta.items():
            arrays[f"meta_{key}"] = np.array(v)
        np.savez_compressed(Path(path), **arrays)  # type: ignore[arg-type]

    def member_logits(self, features: np.ndarray) -> list[np.ndarray]:
        """Each member's uncalibrated output scores for feature rows (n × 11 each)."""
        a = (np.asarray(features, np.float32) - self.mean) / self.scale
        return [m.logits(a) for m in self.members]

    def proba(self, features: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n × 11: "0".."9", empty) for feature rows."""
        probs = [_softmax(z / self.temperature) for z in self.member_logits(features)]
        return np.asarray(np.mean(probs, axis=0), np.float32)

    def predict_cells(self, cells: Sequence[NormalizedCell | None]) -> list[DigitPrediction]:
        """Predictions for already normalised cells (None = empty by the cleaning rule)."""
        present = [c for c in cells if c is not None]
        probs = self.proba(cell_features(present)) if present else np.zeros((0, len(CLASSES)), np.float32)
        rule_digit = (1.0 - RULE_EMPTY_PROBABILITY) / 10
        out: list[DigitPrediction] = []
        j = 0
        for c in cells:
            if c is None:
                out.append(DigitPrediction(None, RULE_EMPTY_PROBABILITY, RULE_EMPTY_PROBABILITY, (rule_digit,) * 10))
                continue
            p = probs[j]
            j += 1
            k = int(p.argmax())
            out.append(
                DigitPrediction(
                    digit=CLASSES[k],
                    probability=float(p[k]),
                    empty_probability=float(p[EMPTY_INDEX]),
                    digit_probabilities=tuple(float(v) for v in p[:10]),
                )
            )
        return out

    def predict(self, crops: Sequence[np.ndarray]) -> list[DigitPrediction]:
        """Read a batch of box crops (grayscale, 0 = ink); one prediction per crop, in order."""
        return self.predict_cells([normalize_cell(c) for c in crops])

    def predict_one(self, crop: np.ndarray) -> DigitPrediction:
        return self.predict([crop])[0]

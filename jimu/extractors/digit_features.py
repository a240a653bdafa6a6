"""Features of a normalised digit cell for the classifier: HOG (324), 14×14 pixels (196), 4 position values."""


from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jimu.extractors.digit_cell import NORM_SIZE, NormalizedCell

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

"""Reading one digit per 1-character box (1文字枠): clean the box crop, normalise it, classify it.

Numbers on the forms (postal code, マイナンバー, 保険者番号, bank codes, date parts) are written one
digit per box.  Tesseract reads an isolated digit right only ~90% of the time, so this module has a
small dedicated classifier, as commercial AI-OCR does:

* :func:`preprocess_cell` (:mod:`jimu.extractors.digit_cell`) takes a grayscale box crop (0 = black
  ink) that may carry remnants of the box's ruled border at its edges, blur and JPEG noise,
  thresholds it, removes the border remnants and specks, and returns the digit scaled into a 20×20
  box inside a 28×28 image, centred by mass — or ``None`` for an empty box.
* :class:`DigitClassifier` turns that image (plus where the ink sat in the box) into HOG + pixel
  features (:mod:`jimu.extractors.digit_features`) and runs a small ensemble of MLPs in plain numpy.
  The weights ship as ``jimu/extractors/models/digits.npz`` (no pickle, no scikit-learn at load
  time); ``scripts/train_digit_classifier.py`` makes them and prints how well they do on fonts never
  trained on.  The probabilities are temperature-calibrated, and there is an eleventh class,
  "empty", for boxes whose only ink is noise or border that the cleaning let through.

    clf = DigitClassifier.default()          # the shipped model, loaded once
    for p in clf.predict(crops):             # crops: grayscale uint8 box crops, 0 = ink
        p.digit, p.probability               # "7", 0.998 — or None (empty box), P(empty)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jimu.extractors.digit_cell import NORM_BOX, NORM_SIZE, NormalizedCell, normalize_cell, preprocess_cell
from jimu.extractors.digit_features import N_FEATURES, cell_features, hog_features

__all__ = [
    "CLASSES",
    "DEFAULT_MODEL_PATH",
    "EMPTY_INDEX",
    "MLP",
    "MODEL_FORMAT",
    "NORM_BOX",
    "NORM_SIZE",
    "N_FEATURES",
    "RULE_EMPTY_PROBABILITY",
    "DigitClassifier",
    "DigitPrediction",
    "NormalizedCell",
    "cell_features",
    "hog_features",
    "normalize_cell",
    "preprocess_cell",
]

MODEL_FORMAT = "jimu-digits-mlp/1"
DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / "digits.npz"

CLASSES: tuple[str | None, ...] = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", None)
EMPTY_INDEX = 10

# preprocess_cell's decision that a box is empty rests on there being no ink darker than the paper by
# MIN_CONTRAST grey levels inside it, or only specks and border; this is the probability reported for
# such a box (none of the ~24,000 digits of the training script's evaluation sets was lost that way).
RULE_EMPTY_PROBABILITY = 0.999


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

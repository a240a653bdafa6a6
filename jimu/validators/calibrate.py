"""Fit one calibrated acceptance probability per field group, and accept only under a bound.

A *group* is a field kind (``jimu.validators.policy.threshold_kind``: text, kana, phone, digits, date,
choice) or one of the two ways a field is read as empty (``empty_writing``: no writing-like ink
in a text, kana or phone box; ``empty_cells``: 1文字枠 of digits and dates read as empty). For
each group:

1. An :class:`AcceptanceModel`, a logistic regression over the evidence the policy has for a
   field (:func:`features`): the reader's confidence (as a logit), whether the furigana pair
   agrees, and the value's length. It turns them into one probability that the value is right.
   The model is a few numbers in the thresholds file (no pickle), so it can be read and checked.
2. A threshold on that probability: the lowest one whose accepted set on the calibration corpus
   has a one-sided 95% Clopper–Pearson upper bound on its error rate ≤ the target. A group with
   too little evidence for that is never auto-accepted, and the fit says how many more error-free
   fields it would need (:func:`jimu.bench.metrics.fields_needed`).

Only fields that nothing but their confidence would flag are samples (a rule failure or a
missing required value flags a field whatever the threshold). Calibrate on seeds and corpora
apart from the ones you report on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jimu.validators.bounds import fields_needed, upper_bound

NEVER = 1.01  # a threshold no probability reaches: the group is never auto-accepted
FEATURES = ("logit_confidence", "furigana_agrees", "log_length")
MODEL_FORMAT = 2  # thresholds files of format 1 held per-kind thresholds on the raw confidence only


@dataclass(frozen=True)
class Sample:
    kind: str
    confidence: float
    correct: bool
    furigana_agrees: bool = False
    length: int = 0


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-7)
    return math.log(p / (1 - p))


def features(confidence: float, furigana_agrees: bool, length: int) -> list[float]:
    """The evidence of one field, in the order of :data:`FEATURES`."""
    return [_logit(confidence), 1.0 if furigana_agrees else 0.0, math.log1p(max(0, length))]


@dataclass(frozen=True)
class AcceptanceModel:
    """p(right) = sigmoid(bias + Σ weight·feature)."""

    weights: tuple[float, ...]
    bias: float

    def probability(self, x: list[float]) -> float:
        z = self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-min(max(z, -60.0), 60.0)))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AcceptanceModel:
        if list(d.get("features", [])) != list(FEATURES):
            raise ValueError(f"model features {d.get('features')} are not {list(FEATURES)}")
        w = tuple(float(x) for x in d["weights"])
        if len(w) != len(FEATURES):
            raise ValueError("model has the wrong number of weights")
        return cls(w, float(d["bias"]))


PRIOR = (1.0, 0.0, 0.0)  # weights start (and are pulled back) to "the confidence is its own calibration"


def fit_model(x: np.ndarray, y: np.ndarray, l2: float = 1.0, l2_bias: float = 0.01,
              iterations: int = 100) -> AcceptanceModel:
    """Logistic regression by Newton's method, its weights pulled towards :data:`PRIOR`.

    The pull keeps the weight on the confidence positive when a group has few or no errors (so a
    lower confidence never gives a higher probability), and a small pull on the bias keeps the fit
    finite when every sample is right; the bound on the threshold decides what is accepted."""
    n, k = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    prior = np.zeros(k + 1)
    prior[:k] = PRIOR[:k]
    beta = prior.copy()
    penalty = np.full(k + 1, l2)
    penalty[-1] = l2_bias

    def loss(b: np.ndarray) -> float:
        z = xb @ b
        # log(1 + e^-z) for right samples, log(1 + e^z) for wrong ones, computed stably
        nll = np.logaddexp(0.0, -z) * y + np.logaddexp(0.0, z) * (1 - y)
        return float(nll.sum() + 0.5 * (penalty * (b - prior) ** 2).sum())

    current = loss(beta)
    for _ in range(iterations):
        p = 0.5 * (1 + np.tanh(0.5 * (xb @ beta)))  # the sigmoid, without overflow
        grad = xb.T @ (p - y) + penalty * (beta - prior)
        w = p * (1 - p)
        hess = (xb * w[:, None]).T @ xb + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-6:  # backtracking: a Newton step on nearly separable data may overshoot
            cand = beta - t * step
            value = loss(cand)
            if value <= current:
                break
            t /= 2
        if t <= 1e-6:
            break
        moved = float(np.abs(cand - beta).max())
        beta, current = cand, value
        if moved < 1e-9:
            break
    return AcceptanceModel(tuple(float(b) for b in beta[:-1]), float(beta[-1]))


def fit_threshold(samples: list[tuple[float, bool]], target: float) -> tuple[float, int, int]:
    """Lowest probability threshold whose accepted set has an upper 95% error bound ≤ target.

    Returns (threshold, accepted, errors among accepted); (NEVER, 0, 0) if no threshold qualifies."""
    ranked = sorted(samples, key=lambda s: -s[0])
    best: tuple[float, int, int] = (NEVER, 0, 0)
    errors = 0
    for i, (p, ok) in enumerate(ranked, 1):
        errors += not ok
        nxt = ranked[i][0] if i < len(ranked) else -1.0
        if nxt == p:
            continue  # a threshold cannot split equal probabilities
        if errors / i <= target and upper_bound(errors, i) <= target:  # the bound is above the rate
            best = (p, i, errors)
    return best


def _clean_top(samples: list[tuple[float, bool]]) -> int:
    """How many of the most probable fields are right before the first wrong one (ties count as wrong)."""
    ranked = sorted(samples, key=lambda s: -s[0])
    first_wrong = max((p for p, ok in ranked if not ok), default=None)
    return sum(1 for p, _ in ranked if first_wrong is None or p > first_wrong)


def fit_group(samples: list[Sample], target: float) -> dict[str, Any]:
    x = np.array([features(s.confidence, s.furigana_agrees, s.length) for s in samples], dtype=float)
    y = np.array([1.0 if s.correct else 0.0 for s in samples])
    model = fit_model(x, y)
    probs = [(model.probability(list(row)), s.correct) for row, s in zip(x, samples, strict=True)]
    t, accepted, errors = fit_threshold(probs, target)
    out: dict[str, Any] = {
        "threshold": t if t < NEVER else NEVER,  # unrounded: rounding up would refuse the calibrated set
        "model": model.as_dict(),
        "candidates": len(samples),
        "candidate_errors": int(len(samples) - y.sum()),
        "accepted": accepted,
        "errors_accepted": errors,
        "upper95": round(upper_bound(errors, accepted), 6) if accepted else None,
    }
    if t >= NEVER:
        out["needs_more_fields"] = max(1, fields_needed(0, target) - _clean_top(probs))
        out["note"] = (f"not auto-accepted: {len(samples)} fields cannot bound the error at {target:g}; "
                       f"about {out['needs_more_fields']} more error-free fields are needed")
    return out


def fit(samples: list[Sample], target: float) -> dict[str, dict[str, Any]]:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    return {kind: fit_group(xs, target) for kind, xs in sorted(by_kind.items())}


def write_thresholds(path: Path, fitted: dict[str, dict[str, Any]], target: float, corpus: str,
                     forms: dict[str, int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the versioned thresholds file: per group a threshold and its model; the forms (and
    versions) that were calibrated; how it was made."""
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    data = {
        "format": MODEL_FORMAT,
        "version": version,
        "target": target,
        "bound": "one-sided 95% Clopper-Pearson upper bound on the error among accepted fields",
        "calibrated_on": corpus,
        "forms": dict(sorted(forms.items())),
        "thresholds": {k: v["threshold"] for k, v in fitted.items()},
        "models": {k: v["model"] for k, v in fitted.items()},
        "fit": {k: {kk: vv for kk, vv in v.items() if kk != "model"} for k, v in fitted.items()},
        **(extra or {}),
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return data


def merge_form(path: Path, form_id: str, version: int, fitted: dict[str, dict[str, Any]], target: float,
               corpus: str) -> dict[str, Any]:
    """Add one form's own calibration to an existing thresholds file (``jimu calibrate --form``):
    the form becomes calibrated at ``version``, with its own thresholds and models."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["version"] = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")  # a new version: records say which
    data.setdefault("forms", {})[form_id] = version
    data.setdefault("per_form", {})[form_id] = {
        "target": target, "calibrated_on": corpus,
        "calibrated_at": dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"),
        "thresholds": {k: v["threshold"] for k, v in fitted.items()},
        "models": {k: v["model"] for k, v in fitted.items()},
        "fit": {k: {kk: vv for kk, vv in v.items() if kk != "model"} for k, v in fitted.items()},
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return data

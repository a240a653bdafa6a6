"""Fit per-kind confidence thresholds to a target silent-error rate on a labelled corpus.

For each field kind, among the fields that nothing but their confidence would flag, pick the
lowest threshold t such that the fields with confidence ≥ t are wrong at most ``target`` of
the time on the calibration corpus. Calibrate on one seed and report on another.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NEVER = 1.01  # a threshold no confidence reaches: the kind is never auto-accepted


@dataclass(frozen=True)
class Sample:
    kind: str
    confidence: float
    correct: bool


def fit_threshold(samples: list[tuple[float, bool]], target: float, min_accepted: int = 20) -> float:
    """Lowest confidence threshold whose accepted set has an error rate ≤ target (NEVER if none qualifies)."""
    ranked = sorted(samples, key=lambda s: -s[0])
    best = NEVER
    errors = 0
    for i, (conf, ok) in enumerate(ranked, 1):
        errors += not ok
        nxt = ranked[i][0] if i < len(ranked) else -1.0
        if nxt == conf:
            continue  # a threshold cannot split equal confidences
        if i >= min_accepted and errors / i <= target:
            best = conf
    return best


def fit(samples: list[Sample], target: float, min_accepted: int = 20) -> dict[str, dict[str, Any]]:
    by_kind: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append((s.confidence, s.correct))
    out = {}
    for kind, xs in sorted(by_kind.items()):
        t = fit_threshold(xs, target, min_accepted)
        acc = [ok for c, ok in xs if c >= t]
        out[kind] = {"threshold": round(t, 6), "candidates": len(xs), "accepted": len(acc),
                     "errors_accepted": sum(not ok for ok in acc)}
    return out


def write_thresholds(path: Path, fitted: dict[str, dict[str, Any]], target: float, corpus: str) -> dict[str, Any]:
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    data = {
        "version": version,
        "target": target,
        "calibrated_on": corpus,
        "thresholds": {k: v["threshold"] for k, v in fitted.items()},
        "fit": fitted,
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return data

"""Scoring helpers shared by the benchmarks: exact match, character error rate, calibration."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from validators.snap import edit_distance


def as_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def same(pred: Any, truth: Any) -> bool:
    if truth in (None, [], "") and pred in (None, [], ""):
        return True
    return json.dumps(pred, ensure_ascii=False, sort_keys=True) == json.dumps(truth, ensure_ascii=False, sort_keys=True)


@dataclass
class FieldTally:
    n: int = 0
    exact: int = 0
    chars: int = 0
    errors: int = 0

    def add(self, pred: Any, truth: Any) -> bool:
        ok = same(pred, truth)
        self.n += 1
        self.exact += ok
        t, p = as_text(truth), as_text(pred)
        self.chars += max(1, len(t))
        self.errors += 0 if ok else max(1, edit_distance(p, t)) if not t else edit_distance(p, t)
        return ok

    @property
    def exact_rate(self) -> float:
        return self.exact / self.n if self.n else 0.0

    @property
    def cer(self) -> float:
        return self.errors / self.chars if self.chars else 0.0


@dataclass
class Calibration:
    """Accuracy within each confidence decile [0,0.1), …, [0.9,1.0]."""

    bins: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, confidence: float, correct: bool) -> None:
        b = min(9, int(confidence * 10))
        self.bins[b][0] += 1
        self.bins[b][1] += correct

    def table(self) -> list[dict[str, Any]]:
        out = []
        for b in range(10):
            n, ok = self.bins.get(b, [0, 0])
            acc = round(ok / n, 4) if n else None
            out.append({"decile": f"{b / 10:.1f}-{(b + 1) / 10:.1f}", "n": n, "accuracy": acc})
        return out

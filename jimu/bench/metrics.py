"""Scoring helpers shared by the benchmarks, with the definitions the README's figures use.

- **field exact**: over *written* fields (the truth holds a value); empty fields are reported apart
  (:class:`EmptyTally`: read as empty, ink found where nothing was written).
- **silent error**: accepted fields whose value is wrong, over accepted fields, with the one-sided
  95% Clopper–Pearson upper bound (:func:`upper_bound`).
- **straight-through**: documents the pipeline delivered with no person (see
  :func:`jimu.validators.policy.delivered_without_person`), not a separate definition.
- **keystrokes**: a choice or checkbox is 1 keystroke, digits and text their characters, an empty
  field 0 (:func:`keystrokes`); a flagged field's keystrokes count as not saved (a person handles
  it), and so do a wrong accepted value's (a person must find and retype it downstream).
- **operator seconds**: :func:`operator_seconds`, with the constants below.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from jimu.validators.bounds import fields_needed, upper_bound
from jimu.validators.snap import edit_distance

__all__ = ["fields_needed", "upper_bound"]  # re-exported: the benches' bound is the calibration's

# Operator-time model (stated, not measured here): a trained keyer types about 8,000 keystrokes
# an hour in Japanese entry with kana-kanji conversion (0.45 s each); looking at a crop and
# confirming a proposed value takes about 2 s; opening a document and its page costs 4 s.
SECONDS_PER_KEYSTROKE = 0.45
SECONDS_PER_CONFIRM = 2.0
SECONDS_PER_DOCUMENT_OPENED = 4.0


def as_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def is_empty(v: Any) -> bool:
    return v is None or v == "" or v == []


def same(pred: Any, truth: Any) -> bool:
    if is_empty(truth) and is_empty(pred):
        return True
    return json.dumps(pred, ensure_ascii=False, sort_keys=True) == json.dumps(truth, ensure_ascii=False, sort_keys=True)


def keystrokes(kind: str, value: Any) -> int:
    """Keystrokes a person needs to key ``value`` by hand: 1 per choice or checkbox, the characters of
    text, digits and dates (ISO without separators), 0 for an empty field."""
    if kind in ("single_choice", "multi_choice", "checkbox", "choice"):
        if kind == "checkbox":
            return 1 if value is True else 0
        return 0 if is_empty(value) else (len(value) if isinstance(value, list) else 1)
    if is_empty(value):
        return 0
    if kind == "date":
        return len(as_text(value).replace("-", ""))
    return len(as_text(value))


def operator_seconds(keys_typed: int, fields_confirmed: int, opened: bool) -> float:
    """Estimated seconds of a person on one document (constants at the top of this module)."""
    if not opened:
        return 0.0
    return SECONDS_PER_DOCUMENT_OPENED + SECONDS_PER_CONFIRM * fields_confirmed + SECONDS_PER_KEYSTROKE * keys_typed


@dataclass
class ErrorRate:
    """Wrong among accepted, with its bound."""

    accepted: int = 0
    wrong: int = 0

    def add(self, ok: bool) -> None:
        self.accepted += 1
        self.wrong += not ok

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "wrong": self.wrong,
                "rate": round(self.wrong / self.accepted, 6) if self.accepted else None,
                "upper95": round(upper_bound(self.wrong, self.accepted), 6) if self.accepted else None}


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
class EmptyTally:
    """Fields left empty in the truth: how often they were read as empty."""

    n: int = 0
    read_as_empty: int = 0

    def add(self, pred: Any) -> None:
        self.n += 1
        self.read_as_empty += is_empty(pred) or pred is False

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "read_as_empty": round(self.read_as_empty / self.n, 4) if self.n else None,
                "ink_found": round(1 - self.read_as_empty / self.n, 4) if self.n else None}


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


def provenance(corpora: list[Any], items: list[dict[str, Any]], thresholds_version: str | None = None) -> dict[str, Any]:
    """What a bench JSON must say about how it was made: commit, seeds, corpus, thresholds."""
    import subprocess
    from collections import Counter
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    scans = [t.get("scan", {}) for t in items]
    return {
        "commit": git("rev-parse", "HEAD") or None,
        "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
        "corpus": [Path(c).name for c in corpora],  # folder names only: no machine paths in committed JSON
        "seeds": sorted({s["seed"] for s in scans if "seed" in s}),
        "forms_per_tier": dict(sorted(Counter(s.get("quality", "unknown") for s in scans).items())),
        "forms_per_form": dict(sorted(Counter(t.get("form_id", "?") for t in items).items())),
        "thresholds_version": thresholds_version,
    }

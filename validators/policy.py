"""The accept/flag policy: a field is accepted only when it is almost surely right.

Reasons a field is flagged (each is shown to the operator in plain words):
``low_confidence``, ``rule:<name>``, ``required_missing``, ``snapped``, ``checkbox_unsure``,
``restricted_needs_second_check``. Thresholds per field kind come from a versioned file written
by ``jimu calibrate`` (see :mod:`validators.calibrate`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forms_schema.model import FormDefinition, LeafField
from validators.furigana import agrees, vouches_for_name
from validators.registry import FIELD_VALIDATORS
from validators.rules import check_rules

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"
FURIGANA_BOOST = 0.2  # agreement multiplies the remaining doubt by this
DEFAULT_THRESHOLD = 0.99
# calibration groups of threshold_kind(): a kind, the same kind read as empty, and choices
THRESHOLD_KINDS = (*(k + e for k in ("text", "kana", "phone", "digits", "date") for e in ("", "_empty")), "choice")

REASON_TEXT = {
    "low_confidence": "読み取りの確からしさが低い",
    "required_missing": "必須項目が空欄",
    "snapped": "候補の語に補正した",
    "checkbox_unsure": "チェック・〇の有無がはっきりしない",
    "restricted_needs_second_check": "個人番号・口座情報は必ず人が確認",
}


def reason_text(reason: str, rule_messages: dict[str, str] | None = None) -> str:
    if reason.startswith("rule:"):
        name = reason[5:]
        return (rule_messages or {}).get(name, f"検査 {name} に合わない")
    return REASON_TEXT.get(reason, reason)


def threshold_kind(leaf: LeafField, value: Any = "x") -> str:
    """The calibration group of a field: its kind, with fields read as empty in a group of their own
    (an empty box is read very differently from writing)."""
    if leaf.kind == "text" and leaf.charset:
        kind = "phone"
    elif leaf.kind in ("single_choice", "multi_choice", "checkbox"):
        kind = "choice"
    else:
        kind = leaf.kind
    return f"{kind}_empty" if kind != "choice" and _empty(value) else kind


@dataclass(frozen=True)
class Thresholds:
    version: str
    by_kind: dict[str, float]
    target: float | None = None

    def for_leaf(self, leaf: LeafField, value: Any = "x") -> float:
        return self.by_kind.get(threshold_kind(leaf, value), DEFAULT_THRESHOLD)

    @classmethod
    def load(cls, path: Path | None = None) -> Thresholds:
        from jimu.settings import thresholds_path

        p = path or thresholds_path() or THRESHOLDS_FILE
        if not p.exists():
            return cls(version="uncalibrated", by_kind={})
        data = json.loads(p.read_text(encoding="utf-8"))
        return cls(version=str(data["version"]), by_kind={k: float(v) for k, v in data["thresholds"].items()},
                   target=data.get("target"))


@dataclass
class FieldInput:
    """What the policy needs of one extracted field."""

    value: Any
    confidence: float
    problem: str | None = None
    snapped_from: str | None = None


@dataclass
class FieldDecision:
    field_id: str
    status: str  # accepted | flagged
    reasons: list[str]
    confidence: float  # after evidence (furigana agreement)


@dataclass
class DocumentDecision:
    fields: dict[str, FieldDecision]
    rule_failures: list[dict[str, Any]] = field(default_factory=list)  # {name, fields, message}
    notes: list[dict[str, Any]] = field(default_factory=list)  # severity "note" rules, for the clerk
    thresholds_version: str = ""

    @property
    def flagged(self) -> list[str]:
        return [f for f, d in self.fields.items() if d.status == "flagged"]

    @property
    def straight_through(self) -> bool:
        """No flag other than the mandatory second check of restricted fields."""
        return all(d.status == "accepted" or d.reasons == ["restricted_needs_second_check"]
                   for d in self.fields.values())


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == []


def decide(
    form: FormDefinition, fields: dict[str, FieldInput], thresholds: Thresholds, today: dt.date | None = None,
    use_furigana: bool = True,
) -> DocumentDecision:
    leaves = {lf.id: lf for lf in form.leaf_fields()}
    values = {fid: f.value for fid, f in fields.items()}
    reasons: dict[str, list[str]] = {fid: [] for fid in leaves}
    conf = {fid: fields[fid].confidence if fid in fields else 0.0 for fid in leaves}

    if use_furigana:
        for leaf in leaves.values():
            if leaf.reading_of and agrees(values.get(leaf.reading_of), values.get(leaf.id)):
                vouched = [leaf.id, leaf.reading_of] if vouches_for_name(values.get(leaf.reading_of)) else [leaf.id]
                for fid in vouched:
                    conf[fid] = 1 - (1 - conf[fid]) * FURIGANA_BOOST

    table_rows_used: dict[tuple[str, int], bool] = {}
    for leaf in leaves.values():
        if leaf.table is not None and leaf.row is not None:
            key = (leaf.table, leaf.row)
            table_rows_used[key] = table_rows_used.get(key, False) or not _empty(values.get(leaf.id))

    for fid, leaf in leaves.items():
        f = fields.get(fid, FieldInput(None, 0.0))
        r = reasons[fid]
        required = leaf.required
        if leaf.table is not None and leaf.row is not None:
            # a table column marked required is required in every row that has anything written in it
            col_required = any(c.required for t in form.fields if t.id == leaf.table for c in t.columns
                               if fid.endswith("." + c.id))
            required = col_required and table_rows_used.get((leaf.table, leaf.row), False)
        if f.problem in ("choice_unsure", "choice_several"):
            r.append("checkbox_unsure")
        if required and _empty(f.value):
            r.append("required_missing")
        if f.snapped_from is not None:
            r.append("snapped")
        if conf[fid] < thresholds.for_leaf(leaf, f.value):
            r.append("low_confidence")
        if not _empty(f.value):
            for vname in leaf.validators:
                if FIELD_VALIDATORS[vname](f.value) is not None:
                    r.append(f"rule:{vname}")
        if f.problem in ("date_invalid", "date_incomplete", "digits_gap") and "low_confidence" not in r:
            r.append("low_confidence")
        if leaf.sensitivity == "restricted":
            r.append("restricted_needs_second_check")

    failures, notes = [], []
    declared = {r.name: r.fields for r in form.rules}
    for res in check_rules(form.rules, values, today):
        # every field the rule names is flagged, so the UI shows them together
        involved = list(dict.fromkeys([*declared.get(res.name, []), *res.fields]))
        item = {"name": res.name, "fields": involved, "culprits": list(res.fields), "message": res.message}
        if res.severity == "note":
            notes.append(item)
            continue
        failures.append(item)
        for fid in _expand(involved, leaves, values):
            reasons[fid].append(f"rule:{res.name}")

    decisions = {
        fid: FieldDecision(
            fid, "flagged" if reasons[fid] else "accepted", sorted(set(reasons[fid])), round(conf[fid], 4)
        )
        for fid in leaves
    }
    return DocumentDecision(decisions, failures, notes, thresholds.version)


def _expand(field_ids: list[str] | tuple[str, ...], leaves: dict[str, LeafField], values: dict[str, Any]) -> list[str]:
    """Rule field ids may name a whole table; expand it to its written cells."""
    out = []
    for fid in field_ids:
        if fid in leaves:
            out.append(fid)
        else:
            out += [lid for lid, lf in leaves.items() if lf.table == fid and not _empty(values.get(lid))]
    return out

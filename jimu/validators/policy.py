"""The accept/flag policy: a field is accepted only when it is almost surely right.

Reasons a field is flagged (each is shown to the operator in plain words):
``low_confidence``, ``rule:<name>``, ``required_missing``, ``snapped``, ``checkbox_unsure``,
``bad_characters``, ``uncalibrated``, ``restricted_needs_second_check``. Each field's evidence
becomes one calibrated probability through its group's model, and the group's threshold was
chosen so that the upper 95% bound of its error is within the target; both come from the
versioned file written by ``jimu calibrate`` (see :mod:`jimu.validators.calibrate`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jimu.forms_schema.model import CHECK_DIGIT_VALIDATORS, FormDefinition, LeafField
from jimu.validators.calibrate import NEVER, AcceptanceModel, features
from jimu.validators.furigana import agrees, vouches_for_name
from jimu.validators.registry import FIELD_VALIDATORS
from jimu.validators.rules import check_rules

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"
FURIGANA_BOOST = 0.2  # agreement multiplies the remaining doubt by this
# calibration groups of threshold_kind(): each written kind, choices, and the two ways a field is
# read as empty: no writing-like ink in a text box (text, kana, phone), and 1文字枠 the digit
# classifier reads as empty (digits, dates)
EMPTY_GROUP = {"text": "empty_writing", "kana": "empty_writing", "phone": "empty_writing",
               "digits": "empty_cells", "date": "empty_cells"}
THRESHOLD_KINDS = ("text", "kana", "phone", "digits", "date", "choice", "empty_writing", "empty_cells")

REASON_TEXT = {
    "low_confidence": "読み取りの確からしさが低い",
    "required_missing": "必須項目が空欄",
    "snapped": "候補の語に補正した",
    "checkbox_unsure": "チェック・〇の有無がはっきりしない",
    "restricted_needs_second_check": "個人番号・口座情報は必ず人が確認",
    "uncalibrated": "この様式・項目はまだ較正されていないため人が確認",
    "bad_characters": "この項目に使えない文字が含まれている",
}


def reason_text(reason: str, rule_messages: dict[str, str] | None = None) -> str:
    if reason.startswith("rule:"):
        name = reason[5:]
        return (rule_messages or {}).get(name, f"検査 {name} に合わない")
    return REASON_TEXT.get(reason, reason)


def threshold_kind(leaf: LeafField, value: Any = "x") -> str:
    """The calibration group of a field: its kind; a field read as empty goes to the group of the
    mechanism that found it empty (an empty box is read very differently from writing)."""
    if leaf.kind == "text" and leaf.charset:
        kind = "phone"
    elif leaf.kind in ("single_choice", "multi_choice", "checkbox"):
        kind = "choice"
    else:
        kind = leaf.kind
    return EMPTY_GROUP.get(kind, kind) if kind != "choice" and _empty(value) else kind


@dataclass(frozen=True)
class Thresholds:
    """What ``jimu calibrate`` wrote: per group a probability threshold and its acceptance model.

    A group missing from the file is never auto-accepted, nor is a form the file does not name
    (``forms``; a hand-written file without ``forms`` applies to every form). When the file is
    missing or unreadable, ``problem`` says why and nothing is auto-accepted."""

    version: str
    by_kind: dict[str, float]
    target: float | None = None
    models: dict[str, AcceptanceModel] = field(default_factory=dict)
    forms: dict[str, int] | None = None  # form id → calibrated version; None: not restricted
    problem: str | None = None  # set when the file could not be used: nothing is auto-accepted
    # a form calibrated on its own (``jimu calibrate --form``): its thresholds and models, by group
    per_form: dict[str, tuple[dict[str, float], dict[str, AcceptanceModel]]] = field(default_factory=dict)

    def _tables(self, form_id: str | None) -> tuple[dict[str, float], dict[str, AcceptanceModel]]:
        if form_id is not None and form_id in self.per_form:
            return self.per_form[form_id]
        return self.by_kind, self.models

    def for_leaf(self, leaf: LeafField, value: Any = "x", form_id: str | None = None) -> float:
        return self._tables(form_id)[0].get(threshold_kind(leaf, value), NEVER)

    def covers(self, form: FormDefinition) -> bool:
        """Was this form (at this version) calibrated?"""
        if self.problem is not None:
            return False
        return self.forms is None or self.forms.get(form.form_id) == form.version

    def probability(self, leaf: LeafField, value: Any, confidence: float, furigana: bool,
                    form_id: str | None = None) -> float:
        """The calibrated probability that the value is right (the raw confidence where the group has no model)."""
        model = self._tables(form_id)[1].get(threshold_kind(leaf, value))
        if model is None:
            return 1 - (1 - confidence) * FURIGANA_BOOST if furigana else confidence
        return model.probability(features(confidence, furigana, len(str(value)) if not _empty(value) else 0))

    @classmethod
    def unusable(cls, problem: str) -> Thresholds:
        return cls(version="uncalibrated", by_kind={}, problem=problem)

    @classmethod
    def load(cls, path: Path | None = None) -> Thresholds:
        """Load the thresholds file (``JIMU_THRESHOLDS_FILE``, else the shipped one). Never raises:
        a missing or unreadable file gives thresholds that accept nothing, with ``problem`` set."""
        from jimu.settings import get_settings

        p = path or get_settings().thresholds_file or THRESHOLDS_FILE
        if not p.is_file():
            return cls.unusable(f"thresholds file not found: {p}")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            by_kind = {str(k): float(v) for k, v in data["thresholds"].items()}
            models = {str(k): AcceptanceModel.from_dict(v) for k, v in data.get("models", {}).items()}
            forms = {str(k): int(v) for k, v in data["forms"].items()} if "forms" in data else None
            per_form = {str(f): ({str(k): float(v) for k, v in d["thresholds"].items()},
                                 {str(k): AcceptanceModel.from_dict(v) for k, v in d.get("models", {}).items()})
                        for f, d in data.get("per_form", {}).items()}
            return cls(version=str(data["version"]), by_kind=by_kind, target=data.get("target"), models=models,
                       forms=forms, per_form=per_form)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
            return cls.unusable(f"thresholds file {p} is unreadable ({type(e).__name__}): run jimu calibrate")

    def warning(self) -> str | None:
        """A loud line for the start of a run when nothing (or not every form) can be auto-accepted."""
        if self.problem:
            return f"NOTHING WILL BE AUTO-ACCEPTED: {self.problem}. Every field goes to an operator."
        return None


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
    confidence: float  # the calibrated probability that the value is right (all evidence taken in)
    furigana: bool = False  # the furigana pair vouched for this field


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
    def all_accepted(self) -> bool:
        return all(d.status == "accepted" for d in self.fields.values())


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == []


def decide(
    form: FormDefinition, fields: dict[str, FieldInput], thresholds: Thresholds, today: dt.date | None = None,
    use_furigana: bool = True, restricted_auto: str = "yaml",
) -> DocumentDecision:
    """Accept or flag every field of one document. ``restricted_auto``: "yaml" (a restricted field is
    auto-accepted only where its YAML says ``auto_accept_restricted``) or "check_digit" (every
    restricted field with a check-digit validator, as if the YAML said so: for the benchmark)."""
    if restricted_auto not in ("yaml", "check_digit"):
        raise ValueError(f"restricted_auto must be 'yaml' or 'check_digit', not {restricted_auto!r}")
    leaves = {lf.id: lf for lf in form.leaf_fields()}
    values = {fid: f.value for fid, f in fields.items()}
    reasons: dict[str, list[str]] = {fid: [] for fid in leaves}
    furigana: set[str] = set()  # fields the furigana pair vouches for
    if use_furigana:
        for leaf in leaves.values():
            if leaf.reading_of and agrees(values.get(leaf.reading_of), values.get(leaf.id)):
                vouched = [leaf.id, leaf.reading_of] if vouches_for_name(values.get(leaf.reading_of)) else [leaf.id]
                furigana.update(vouched)
    conf = {fid: thresholds.probability(leaves[fid], values.get(fid), fields[fid].confidence if fid in fields else 0.0,
                                        fid in furigana, form.form_id) for fid in leaves}
    calibrated = thresholds.covers(form)

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
        if f.problem == "bad_characters":
            r.append("bad_characters")
        if required and _empty(f.value):
            r.append("required_missing")
        if f.snapped_from is not None:
            r.append("snapped")
        if not calibrated:
            r.append("uncalibrated")
        elif conf[fid] < thresholds.for_leaf(leaf, f.value, form.form_id):
            r.append("low_confidence")
        if not _empty(f.value):
            for vname in leaf.validators:
                if FIELD_VALIDATORS[vname](f.value) is not None:
                    r.append(f"rule:{vname}")
        if f.problem in ("date_invalid", "date_incomplete", "digits_gap") and "low_confidence" not in r:
            r.append("low_confidence")
        auto_ok = leaf.auto_accept_restricted or (restricted_auto == "check_digit"
                                                  and bool(set(leaf.validators) & CHECK_DIGIT_VALIDATORS))
        if leaf.sensitivity == "restricted" and not auto_ok:
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
            fid, "flagged" if reasons[fid] else "accepted", sorted(set(reasons[fid])), round(conf[fid], 4),
            fid in furigana,
        )
        for fid in leaves
    }
    return DocumentDecision(decisions, failures, notes, thresholds.version)


def delivered_without_person(form: FormDefinition, decision: DocumentDecision, values: dict[str, Any]) -> bool:
    """What the pipeline does with a document: it goes to the queue with no person only when every
    field is accepted and the record model takes the record (``jimu.pipeline.route``)."""
    from jimu.validators.record_model import validate_record

    return decision.all_accepted and not validate_record(form, values)


def _expand(field_ids: list[str] | tuple[str, ...], leaves: dict[str, LeafField], values: dict[str, Any]) -> list[str]:
    """Rule field ids may name a whole table; expand it to its written cells."""
    out = []
    for fid in field_ids:
        if fid in leaves:
            out.append(fid)
        else:
            out += [lid for lid, lf in leaves.items() if lf.table == fid and not _empty(values.get(lid))]
    return out

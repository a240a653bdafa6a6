"""``jimu calibrate`` and ``jimu bench accuracy``: the accept/flag policy measured on a labelled corpus.

Definitions (see :mod:`jimu.bench.metrics`):

* **silent error**: accepted fields whose value is wrong, over accepted fields, with the one-sided
  95% Clopper–Pearson upper bound; overall, per field group, written and empty apart;
* **auto-accept**: accepted fields over all fields;
* **straight-through**: documents the pipeline would deliver with no person
  (:func:`jimu.validators.policy.delivered_without_person`, the call ``jimu.pipeline.route`` makes),
  overall and for forms without restricted fields, with restricted fields under double entry
  (the default) and with ``auto_accept_restricted`` on for every check-digit field;
* **keystrokes saved**: 1 − keystrokes not saved / keystrokes of keying everything; a flagged
  field's keystrokes are not saved (a person handles it, even when the proposal was right), and
  neither are a wrong accepted value's (someone downstream must key it);
* **operator seconds per document**: :func:`jimu.bench.metrics.operator_seconds`.

A misclassified or unreadable document counts as keyed by hand in full.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from jimu.bench.extract_bench import FileResult
from jimu.bench.metrics import ErrorRate, is_empty, keystrokes, operator_seconds, same
from jimu.fixtures.corpus import CORPUS_TODAY
from jimu.forms_schema import get_form
from jimu.validators.calibrate import Sample
from jimu.validators.policy import (
    THRESHOLD_KINDS,
    FieldInput,
    Thresholds,
    decide,
    delivered_without_person,
    threshold_kind,
)

ZERO = Thresholds(version="fit", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.0))
RESTRICTED_MODES = ("double_entry", "check_digit_auto")


def _inputs(r: FileResult) -> dict[str, FieldInput]:
    return {fid: FieldInput(v, c, r.details.get(fid, {}).get("problem"), r.details.get(fid, {}).get("snapped_from"))
            for fid, (v, c) in r.fields.items()}


def calibration_samples(pairs: list[tuple[dict[str, Any], FileResult]], use_furigana: bool = True) -> list[Sample]:
    """One sample per field that nothing but its confidence would flag, on correctly classified documents."""
    out = []
    for truth, r in pairs:
        if r.form_id is None or r.form_id != truth["form_id"]:
            continue
        form = get_form(r.form_id)
        d = decide(form, _inputs(r), ZERO, CORPUS_TODAY, use_furigana=use_furigana)
        leaves = {lf.id: lf for lf in form.leaf_fields()}
        for fid, dec in d.fields.items():
            if dec.reasons and dec.reasons != ["restricted_needs_second_check"]:
                continue  # flagged whatever the threshold
            value, conf = r.fields[fid]
            out.append(Sample(threshold_kind(leaves[fid], value), conf, same(value, truth["fields"][fid]),
                              dec.furigana, 0 if is_empty(value) else len(str(value))))
    return out


def calibrated_forms(pairs: list[tuple[dict[str, Any], FileResult]]) -> dict[str, int]:
    """Form id → version of the forms a calibration corpus holds."""
    return {t["form_id"]: int(t.get("form_version", get_form(t["form_id"]).version)) for t, _ in pairs}


@dataclass
class Group:
    """Tallies of one tier (or one tier × form)."""

    docs: int = 0
    restricted_free_docs: int = 0
    straight: Counter[str] = field(default_factory=Counter)  # mode → docs delivered with no person
    straight_restricted_free: Counter[str] = field(default_factory=Counter)
    fields: int = 0
    accepted: int = 0
    errors: dict[str, ErrorRate] = field(default_factory=lambda: defaultdict(ErrorRate))  # group → accepted/wrong
    keys_total: int = 0
    keys_typed: int = 0  # keystrokes not saved (flagged fields, wrong accepted ones, documents keyed in full)
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    holding_back: Counter[str] = field(default_factory=Counter)  # field flagged on a doc that was not delivered
    wrong_fields: Counter[str] = field(default_factory=Counter)

    def report(self) -> dict[str, Any]:
        written = ErrorRate(sum(e.accepted for k, e in self.errors.items() if not k.startswith("empty_")),
                            sum(e.wrong for k, e in self.errors.items() if not k.startswith("empty_")))
        empty = ErrorRate(sum(e.accepted for k, e in self.errors.items() if k.startswith("empty_")),
                          sum(e.wrong for k, e in self.errors.items() if k.startswith("empty_")))
        overall = ErrorRate(written.accepted + empty.accepted, written.wrong + empty.wrong)
        n = self.docs or 1
        return {
            "documents": self.docs,
            "documents_without_restricted_fields": self.restricted_free_docs,
            "straight_through": {m: round(self.straight[m] / n, 4) for m in RESTRICTED_MODES},
            "straight_through_without_restricted_fields": {
                m: round(self.straight_restricted_free[m] / self.restricted_free_docs, 4)
                if self.restricted_free_docs else None for m in RESTRICTED_MODES},
            "auto_accept_rate": round(self.accepted / self.fields, 4) if self.fields else 0.0,
            "silent_error": overall.as_dict(),
            "silent_error_written": written.as_dict(),
            "silent_error_empty": empty.as_dict(),
            "silent_error_by_group": {k: e.as_dict() for k, e in sorted(self.errors.items())},
            "keystrokes_saved": round(1 - self.keys_typed / self.keys_total, 4) if self.keys_total else None,
            "operator_seconds_per_document": round(self.seconds / n, 1),
            "flag_reasons": dict(self.reasons.most_common()),
            "fields_holding_back": dict(self.holding_back.most_common(12)),
            "wrong_accepted_by_field": dict(self.wrong_fields.most_common(10)),
        }


def _score_document(truth: dict[str, Any], r: FileResult, thresholds: Thresholds, use_furigana: bool,
                    groups: list[Group]) -> None:
    form = get_form(truth["form_id"])
    leaves = {lf.id: lf for lf in form.leaf_fields()}
    tv = truth["fields"]
    keys = {fid: keystrokes(leaves[fid].kind, tv.get(fid)) for fid in leaves}
    restricted_free = not any(lf.sensitivity == "restricted" for lf in leaves.values())
    for g in groups:
        g.docs += 1
        g.restricted_free_docs += restricted_free
        g.fields += len(leaves)
        g.keys_total += sum(keys.values())
    if r.form_id is None or r.form_id != truth["form_id"]:
        for g in groups:
            g.keys_typed += sum(keys.values())
            g.seconds += operator_seconds(sum(keys.values()), 0, True)
            g.reasons[f"document:{r.error or 'misclassified'}"] += 1
        return
    inputs = _inputs(r)
    values = {fid: inputs[fid].value if fid in inputs else None for fid in leaves}
    decisions = {m: decide(form, inputs, thresholds, CORPUS_TODAY, use_furigana=use_furigana,
                           restricted_auto="yaml" if m == "double_entry" else "check_digit")
                 for m in RESTRICTED_MODES}
    d = decisions["double_entry"]
    typed = confirms = unsaved = 0
    for fid, dec in d.fields.items():
        ok = same(values[fid], tv.get(fid))
        if dec.status == "accepted":
            for g in groups:
                g.accepted += 1
                g.errors[threshold_kind(leaves[fid], values[fid])].add(ok)
                if not ok:
                    g.wrong_fields[fid] += 1
            typed += 0 if ok else keys[fid]
            unsaved += 0 if ok else keys[fid]
        else:  # a person handles it: its keystrokes are not saved (even when the proposal was right)
            confirms += 1
            typed += 0 if ok and leaves[fid].sensitivity != "restricted" else keys[fid]
            unsaved += keys[fid]
    delivered = {m: delivered_without_person(form, dec, values) for m, dec in decisions.items()}
    for g in groups:
        for m in RESTRICTED_MODES:
            g.straight[m] += delivered[m]
            if restricted_free:
                g.straight_restricted_free[m] += delivered[m]
        g.keys_typed += unsaved
        g.seconds += operator_seconds(typed, confirms, not delivered["double_entry"])
        g.reasons.update(x for dec in d.fields.values() for x in dec.reasons)
        if not delivered["double_entry"]:
            g.holding_back.update(fid.split("[")[0] for fid, dec in d.fields.items() if dec.status == "flagged")


def accuracy_report(pairs: list[tuple[dict[str, Any], FileResult]], thresholds: Thresholds,
                    use_furigana: bool = True) -> dict[str, Any]:
    """Per tier (with ``by_form``), the policy's figures on the corpus; see the module docstring."""
    tiers: dict[str, Group] = defaultdict(Group)
    forms: dict[tuple[str, str], Group] = defaultdict(Group)
    for truth, r in pairs:
        tier = truth.get("scan", {}).get("quality", "unknown")
        _score_document(truth, r, thresholds, use_furigana, [tiers[tier], forms[(tier, truth["form_id"])]])
    report: dict[str, Any] = {}
    for tier, g in sorted(tiers.items()):
        report[tier] = g.report() | {"by_form": {f: fg.report() for (t, f), fg in sorted(forms.items()) if t == tier}}
    return report

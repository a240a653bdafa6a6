"""``jimu calibrate`` and ``jimu bench accuracy``: the accept/flag policy measured on a labelled corpus.

* silent-error rate: accepted fields whose value is wrong, over all accepted fields;
* auto-accept rate: accepted fields over all fields;
* straight-through rate: documents with no flag other than the restricted-field second check;
* keystrokes saved: 1 − characters in flagged fields / all characters (a field counts at least 1).
A misclassified or unreadable document counts as wholly flagged (a person keys it all).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from fixtures.corpus import CORPUS_TODAY
from forms_schema import get_form
from jimu.bench.extract_bench import FileResult
from jimu.bench.metrics import as_text, same
from validators.calibrate import Sample
from validators.policy import THRESHOLD_KINDS, FieldInput, Thresholds, decide, threshold_kind

ZERO = Thresholds(version="fit", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.0))


def _inputs(r: FileResult) -> dict[str, FieldInput]:
    return {fid: FieldInput(v, c, r.details.get(fid, {}).get("problem"), r.details.get(fid, {}).get("snapped_from"))
            for fid, (v, c) in r.fields.items()}


def calibration_samples(pairs: list[tuple[dict[str, Any], FileResult]], use_furigana: bool = True) -> list[Sample]:
    out = []
    for truth, r in pairs:
        if r.form_id is None or r.form_id != truth["form_id"]:
            continue
        form = get_form(r.form_id)
        d = decide(form, _inputs(r), ZERO, CORPUS_TODAY, use_furigana=use_furigana)
        leaves = {lf.id: lf for lf in form.leaf_fields()}
        for fid, dec in d.fields.items():
            if dec.reasons:
                continue  # flagged whatever the threshold
            value = r.fields[fid][0]
            out.append(Sample(threshold_kind(leaves[fid], value), dec.confidence, same(value, truth["fields"][fid])))
    return out


def _chars(v: Any) -> int:
    return max(1, len(as_text(v)))


def accuracy_report(pairs: list[tuple[dict[str, Any], FileResult]], thresholds: Thresholds,
                    use_furigana: bool = True) -> dict[str, Any]:
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {
        "docs": 0, "straight": 0, "fields": 0, "accepted": 0, "wrong_accepted": 0, "chars": 0, "flagged_chars": 0,
        "reasons": Counter(), "wrong_fields": Counter()})

    def add(tier: str, form_id: str, **kv: Any) -> None:
        for key in ((tier, form_id), (tier, "*")):
            g = groups[key]
            for k, v in kv.items():
                if k == "reasons":
                    g["reasons"].update(v)
                elif k == "wrong_fields":
                    g["wrong_fields"].update(v)
                else:
                    g[k] += v

    for truth, r in pairs:
        tier = truth.get("scan", {}).get("quality", "unknown")
        fid_truth = truth["fields"]
        chars = sum(_chars(v) for v in fid_truth.values())
        if r.form_id is None or r.form_id != truth["form_id"]:
            add(tier, truth["form_id"], docs=1, fields=len(fid_truth), chars=chars, flagged_chars=chars,
                reasons=[f"document:{r.error or 'misclassified'}"])
            continue
        d = decide(get_form(r.form_id), _inputs(r), thresholds, CORPUS_TODAY, use_furigana=use_furigana)
        accepted = [f for f, dec in d.fields.items() if dec.status == "accepted"]
        wrong = [f for f in accepted if not same(r.fields[f][0], fid_truth[f])]
        flagged_chars = sum(_chars(fid_truth[f]) for f, dec in d.fields.items() if dec.status == "flagged")
        add(tier, r.form_id, docs=1, straight=int(d.straight_through), fields=len(d.fields), accepted=len(accepted),
            wrong_accepted=len(wrong), chars=chars, flagged_chars=flagged_chars,
            reasons=[x for dec in d.fields.values() for x in dec.reasons], wrong_fields=wrong)
    report: dict[str, Any] = {}
    for (tier, form_id), g in sorted(groups.items()):
        item = {
            "documents": g["docs"],
            "silent_error_rate": round(g["wrong_accepted"] / g["accepted"], 5) if g["accepted"] else 0.0,
            "auto_accept_rate": round(g["accepted"] / g["fields"], 4) if g["fields"] else 0.0,
            "straight_through_rate": round(g["straight"] / g["docs"], 4) if g["docs"] else 0.0,
            "keystrokes_saved": round(1 - g["flagged_chars"] / g["chars"], 4) if g["chars"] else 0.0,
            "accepted_fields": g["accepted"],
            "wrong_accepted_fields": g["wrong_accepted"],
            "flag_reasons": dict(g["reasons"].most_common()),
            "wrong_accepted_by_field": dict(g["wrong_fields"].most_common(10)),
        }
        if form_id == "*":
            report.setdefault(tier, {}).update(item)
        else:
            report.setdefault(tier, {}).setdefault("by_form", {})[form_id] = item
    return report

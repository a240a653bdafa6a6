"""The foreign-form benchmark's scoring: what counts as proposed right, and what a person must fix."""

from __future__ import annotations

from typing import Any

from jimu.bench.foreign_bench import EDIT_SECONDS, score_copies, score_proposal


def _f(fid: str, x: float, kind: str = "text", label: str = "氏名", **extra: Any) -> dict[str, Any]:
    return {"id": fid, "label": label, "kind": kind, "box": {"x": x, "y": 10.0, "w": 40.0, "h": 10.0}} | extra


def test_a_box_within_a_millimetre_on_every_edge_is_proposed_right() -> None:
    s = score_proposal([_f("name", 20.0)], [_f("shimei", 20.9)])
    assert s["boxes_within_1mm"] == 1 and s["kind_right"] == 1 and s["label_right"] == 1
    s = score_proposal([_f("name", 20.0)], [_f("shimei", 21.2)])
    assert s["boxes_within_1mm"] == 0
    assert "name: box" in s["edit_list"]  # close enough to move, not to add


def test_missing_extra_and_wrong_fields_are_edits_that_cost_time() -> None:
    ref = [_f("name", 20.0, required=True), _f("kana", 100.0, kind="kana", label="フリガナ", validators=["katakana"])]
    right = score_proposal(ref, [_f("a", 20.0, required=True),
                                 _f("b", 100.0, kind="kana", label="フリガナ", validators=["katakana"])])
    worse = score_proposal(ref, [_f("a", 20.0), _f("b", 100.0, kind="text", label="フリ"), _f("c", 160.0)])
    assert worse["edit_list"][3:] == ["name: check", "name: required", "kana: check",
                                      "kana: kind text → kana", "kana: label", "kana: validators", "c: delete"]
    assert worse["editor_seconds"] > right["editor_seconds"] + EDIT_SECONDS["delete_field"]
    missing = score_proposal(ref, [_f("a", 20.0, required=True)])
    assert "kana: add" in missing["edit_list"] and missing["boxes_within_1mm_share"] == 0.5


def test_copies_score_classified_exact_and_silent_errors() -> None:
    truths = {"a": {"form_id": "f", "fields": {"x": "1", "y": None}},
              "b": {"form_id": "f", "fields": {"x": "2", "y": "3"}}}
    store = {"a": {"form_id": "f", "state": "review", "fields": {"x": ("1", "accepted"), "y": ("9", "accepted")}},
             "b": {"form_id": None, "state": "quarantined", "fields": {}}}
    s = score_copies(truths, store)
    assert s["classified"] == 0.5 and s["written_fields"] == 3
    assert s["written_exact"] == round(1 / 3, 4)  # b's fields count as not read
    assert s["auto_accepted"] == 2 and s["silent_errors"]["wrong"] == 1  # an empty field read as "9"

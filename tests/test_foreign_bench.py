"""The foreign-form benchmark's scoring: what counts as proposed right, and what a person must fix."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_klm_costs_are_sums_of_their_operators() -> None:
    from jimu.bench.foreign_bench import KLM_SECONDS, _klm

    assert _klm("") == 0.0
    assert _klm("MPBB") == pytest.approx(KLM_SECONDS["M"] + KLM_SECONDS["P"] + 2 * KLM_SECONDS["B"])
    assert EDIT_SECONDS["check"] == pytest.approx(_klm("MPBB"))
    assert all(v > 0 for v in EDIT_SECONDS.values())


@pytest.mark.parametrize(
    ("text", "keys"),
    [("", 0.0), ("abc", 3.0), ("氏名", 2 * 2.5), ("No.番号", 3 + 2 * 2.5)],  # a Japanese character: romaji + conversion
)
def test_typing_costs_keystrokes_per_character(text: str, keys: float) -> None:
    from jimu.bench.foreign_bench import KLM_SECONDS, _type_seconds

    assert _type_seconds(text) == pytest.approx(EDIT_SECONDS["type"] + KLM_SECONDS["K"] * keys)


def _box(x: float, y: float = 10.0, w: float = 40.0, h: float = 10.0) -> dict[str, float]:
    return {"x": x, "y": y, "w": w, "h": h}


@pytest.mark.parametrize(
    ("a", "b", "near", "overlap"),
    [
        pytest.param(_box(20), _box(20), True, 1.0, id="same"),
        pytest.param(_box(20), _box(21), True, 39 / 40, id="1mm-off"),
        pytest.param(_box(20), _box(21.01), False, 38.99 / 40, id="just-over-1mm"),
        pytest.param(_box(20), _box(20, w=41.5), False, 1.0, id="wider-covers-it"),
        pytest.param(_box(20), _box(80), False, 0.0, id="apart"),
        pytest.param(_box(0, 0, 10, 10), _box(5, 5, 10, 10), False, 0.25, id="corner"),
    ],
)
def test_box_matching(a: dict[str, float], b: dict[str, float], near: bool, overlap: float) -> None:
    from jimu.bench.foreign_bench import _fits, _near, _overlap

    assert _near(a, b) is near
    assert _overlap(a, b) == pytest.approx(overlap)
    assert _fits(a, b) is (overlap > 0.6)


def test_options_and_date_parts_that_are_off_are_edits() -> None:
    opts = [{"id": "m", "label": "男", "box": _box(20, w=8)}, {"id": "f", "label": "女", "box": _box(30, w=8)}]
    ref = _f("sex", 20.0, kind="single_choice", label="性別", options=opts)
    same = score_proposal([ref], [_f("a", 20.0, kind="single_choice", label="性別", options=opts)])
    assert [e for e in same["edit_list"] if e.startswith("sex")] == ["sex: check"]
    off = [opts[0], {"id": "x", "label": "おんな", "box": _box(45, w=8)}]  # 女 misread and its box elsewhere
    one_off = score_proposal([ref], [_f("a", 20.0, kind="single_choice", label="性別", options=off)])
    assert "sex: option label 女" in one_off["edit_list"] and "sex: option box 女" in one_off["edit_list"]
    missing = score_proposal([ref], [_f("a", 20.0, kind="single_choice", label="性別", options=opts[:1])])
    assert "sex: add option 女" in missing["edit_list"]


def test_copies_missing_from_the_store_are_counted_as_missing() -> None:
    truths = {"a": {"form_id": "f", "fields": {"x": "1"}}, "b": {"form_id": "f", "fields": {"x": "2"}}}
    s = score_copies(truths, {"a": {"form_id": "f", "state": "accepted", "fields": {"x": ("1", "accepted")}}})
    assert s["states"] == {"accepted": 1, "missing": 1}
    assert s["classified"] == 0.5 and s["written_exact"] == 0.5 and s["silent_errors"]["wrong"] == 0
    assert score_copies({}, {})["copies"] == 0

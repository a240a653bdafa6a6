"""``jimu bench extract``'s scoring on hand-made results: written fields apart from empty ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jimu.bench.extract_bench import FileResult, kind_label, score

TRUTH = {"name": "山田太郎", "kana": "ヤマダタロウ", "agent_name": None, "sex": "male", "phone": "0432455111"}


def _item(name: str) -> tuple[Path, dict[str, Any]]:
    return Path(name), {"form_id": "inkan_toroku", "fields": TRUTH, "scan": {"quality": "office"}}


def _result(name: str, read: dict[str, Any], form_id: str | None = "inkan_toroku") -> FileResult:
    return FileResult(name, "office", "inkan_toroku", form_id, True, {k: (v, 0.9) for k, v in read.items()}, None, 0.1)


def test_written_fields_are_scored_and_empty_ones_reported_apart() -> None:
    read = dict(TRUTH, name="山田大郎", agent_name="x")
    s = score([_item("a.png")], [_result("a.png", read)])
    assert s["field_exact"] == 0.75  # 3 of 4 written fields; the empty agent_name is not among them
    assert s["by_kind"]["text"] == {"n": 1, "exact": 0.0, "cer": 0.25}
    assert s["by_kind"]["choice"]["exact"] == 1.0
    assert s["empty_by_kind"]["text"] == {"n": 1, "read_as_empty": 0.0}


def test_a_misclassified_page_counts_its_written_fields_wrong_and_its_empty_ones_not_at_all() -> None:
    s = score([_item("a.png")], [_result("a.png", {}, form_id=None)])
    assert s["field_exact"] == 0.0 and s["classified"] == 0.0
    assert s["empty_by_kind"] == {}



@pytest.mark.parametrize(
    ("form_id", "field_id", "label"),
    [
        ("inkan_toroku", "phone", "phone"),  # a text field with a charset
        ("inkan_toroku", "name", "text"),
        ("inkan_toroku", "kana", "kana"),
        ("inkan_toroku", "sex", "choice"),
        ("inkan_toroku", "birth_date", "date"),
        ("jumin_idou", "new_zip", "digits"),
        ("jumin_idou", "members[0].sex", "choice"),
    ],
)
def test_kind_label(form_id: str, field_id: str, label: str) -> None:
    assert kind_label(form_id, field_id) == label


@pytest.mark.parametrize(
    ("scan", "rotation"),
    [({}, 0), ({"upside_down": True}, 180), ({"rotation": 90}, 90), ({"rotation": 450}, 90),
     ({"rotation": 270, "upside_down": True}, 270)],
)
def test_expected_rotation(scan: dict[str, Any], rotation: int) -> None:
    from jimu.bench.extract_bench import _expected_rotation

    assert _expected_rotation({"scan": scan}) == rotation


def test_classified_orientation_and_errors_are_shares_of_all_pages() -> None:
    items = [_item(n) for n in ("a.png", "b.png", "c.png", "d.png")]
    results = [_result("a.png", TRUTH), _result("b.png", TRUTH), _result("c.png", {}, form_id="kaigo_nintei"),
               FileResult("d.png", "office", "inkan_toroku", None, False, {}, "AlignmentError", 0.1)]
    results[1].rotation_ok = False
    s = score(items, results)
    assert s["classified"] == 0.5 and s["orientation"] == 0.5
    assert s["errors"] == {"AlignmentError": 1}
    assert s["field_exact"] == 0.5  # two pages read right, two whose written fields all count wrong
    assert s["empty_by_kind"] == {"text": {"n": 2, "read_as_empty": 1.0}}  # the two classified pages only


def test_an_unticked_checkbox_is_a_written_value(monkeypatch: pytest.MonkeyPatch) -> None:
    import jimu.bench.extract_bench as eb

    # no shipped form has a checkbox: a form whose "agree" is one (the kind label only is looked up)
    monkeypatch.setattr(eb, "kind_label", lambda _form, fid: "choice" if fid == "agree" else "text")
    truth = {"agree": False, "name": "山田"}
    item = (Path("a.png"), {"form_id": "inkan_toroku", "fields": truth, "scan": {"quality": "office"}})
    read = FileResult("a.png", "office", "inkan_toroku", "inkan_toroku", True,
                      {"agree": (True, 0.9), "name": ("山田", 0.9)}, None, 0.1)
    s = score([item], [read])
    assert s["by_kind"]["choice"] == {"n": 1, "exact": 0.0, "cer": 1.0}  # False is scored, not set aside as empty
    assert s["empty_by_kind"] == {}
    assert s["field_exact"] == 0.5


def test_calibration_counts_each_written_field_in_its_confidence_decile() -> None:
    read = {k: (v, 0.95) for k, v in TRUTH.items()} | {"name": ("山田大郎", 0.35)}
    r = FileResult("a.png", "office", "inkan_toroku", "inkan_toroku", True, read, None, 0.1)
    table = {row["decile"]: row for row in score([_item("a.png")], [r])["calibration"]}
    assert table["0.3-0.4"] == {"decile": "0.3-0.4", "n": 1, "accuracy": 0.0}
    assert table["0.9-1.0"] == {"decile": "0.9-1.0", "n": 3, "accuracy": 1.0}  # agent_name is empty: not scored

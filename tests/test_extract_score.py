"""``jimu bench extract``'s scoring on hand-made results: written fields apart from empty ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jimu.bench.extract_bench import FileResult, score

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


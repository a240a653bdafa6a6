"""Reprocessing: current code and thresholds; operator corrections kept; only changed records published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jimu.pipeline.batch import run_batch_plain
from jimu.pipeline.reprocess import reprocess_batch
from jimu.pipeline.views import batch_view
from jimu.settings import get_settings
from jimu.store import repo
from jimu.store.db import init_db, session_scope
from jimu.validators.policy import THRESHOLD_KINDS
from tests.pipeline_helpers import copy_sample, drain_queue, isolated_settings

STRICT = dict.fromkeys(THRESHOLD_KINDS, 1.01)
LOOSE = dict.fromkeys(THRESHOLD_KINDS, 0.0)


def _thresholds(path: Path, by_kind: dict[str, float], version: str) -> str:
    path.write_text(json.dumps({"version": version, "thresholds": by_kind}))
    return str(path)


@pytest.fixture()
def flagged_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    isolated_settings(monkeypatch, tmp_path / "data",
                      JIMU_THRESHOLDS_FILE=_thresholds(tmp_path / "strict.json", STRICT, "strict"))
    inbox = tmp_path / "inbox"
    copy_sample("inkan_toroku_clean_s424242_0000.png", inbox / "中央区")
    copy_sample("juminhyo_kofu_clean_s424242_0000.png", inbox / "中央区")
    summary = run_batch_plain(inbox, workers=1)
    assert summary.states == {"review": 2}
    monkeypatch.setenv("JIMU_THRESHOLDS_FILE", _thresholds(tmp_path / "loose.json", LOOSE, "loose"))
    get_settings.cache_clear()
    return summary.batch_id


def test_dry_run_shows_changes_and_writes_nothing(flagged_batch: str) -> None:
    report = reprocess_batch(flagged_batch, "validate", dry_run=True, workers=1)
    # what it would do under the loose thresholds: both flagged documents accepted and published...
    assert [(d["state_before"], d["state_after"], bool(d["published"])) for d in report["documents"]] == [
        ("review", "accepted", True)] * 2
    assert report["changed"] == 2 and report["published"] == 2
    assert all(d["changed_fields"] for d in report["documents"])
    # ...and yet nothing was written or sent
    assert {d["state"] for d in batch_view(flagged_batch)["documents"]} == {"review"}
    assert drain_queue() == []


def test_reprocess_keeps_operator_values_and_publishes_once(flagged_batch: str) -> None:
    factory = init_db(get_settings())
    docs = batch_view(flagged_batch)["documents"]
    inkan = next(d for d in docs if d["form_id"] == "inkan_toroku")
    with session_scope(factory) as s:
        doc = repo.get_document(s, inkan["id"])
        repo.correct_field(s, doc, "name", "山田太郎", operator="op1", reason="test")
    report = reprocess_batch(flagged_batch, "extract", workers=1)
    after = {d["id"]: d for d in batch_view(flagged_batch)["documents"]}
    name = next(f for f in after[inkan["id"]]["fields"] if f["field_id"] == "name")
    assert name["value"] == "山田太郎" and name["corrected_by"] == "op1"
    published = [d for d in report["documents"] if d["published"]]
    messages = drain_queue()
    assert len(messages) == len(published) == report["published"]
    (m,) = [m for m in messages if m["record_id"] == after[inkan["id"]]["record_id"]]  # the corrected record went out
    assert m["fields"]["name"] == "山田太郎"
    assert m["acceptance"]["name"]["by"] == "operator"
    # nothing changed since: a second reprocess publishes nothing
    again = reprocess_batch(flagged_batch, "extract", workers=1)
    assert again["published"] == 0
    assert drain_queue() == []

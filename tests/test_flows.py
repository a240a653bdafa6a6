"""The Prefect flows, run for real against a temporary Prefect server (prefect_test_harness)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pipeline_helpers import copy_sample, drain_queue, isolated_settings


@pytest.fixture(scope="module")
def prefect_server():  # type: ignore[no-untyped-def]
    from jimu.flows.quiet import quiet_prefect

    quiet_prefect()
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


def _accept_everything(path: Path) -> str:
    """A thresholds file that accepts every field nothing but its confidence would flag."""
    from jimu.validators.policy import THRESHOLD_KINDS

    path.write_text(json.dumps({"version": "accept-all", "thresholds": dict.fromkeys(THRESHOLD_KINDS, 0.0)}))
    return str(path)


def test_batch_flow_processes_an_inbox(prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jimu.flows.batch import batch_flow

    # accept-all thresholds: the two forms go all the way to the queue, whatever the shipped calibration says
    isolated_settings(monkeypatch, tmp_path / "data", JIMU_THRESHOLDS_FILE=_accept_everything(tmp_path / "th.json"))
    inbox = tmp_path / "inbox"
    copy_sample("inkan_toroku_clean_s424242_0000.png", inbox / "稲毛区")
    copy_sample("jumin_idou_office_s424242_0000.jpg", inbox / "若葉区")
    (inbox / "若葉区" / "notes.txt").write_text("not a scan")
    summary = batch_flow(str(inbox), workers=1, trigger="test")
    assert summary["files"] == 3
    assert summary["documents"] == 3
    assert summary["states"] == {"delivered": 2, "quarantined": 1}
    messages = drain_queue()
    assert sorted((m["source_name"], m["form_id"], m["ward"]) for m in messages) == [
        ("inkan_toroku_clean_s424242_0000.png", "inkan_toroku", "稲毛区"),
        ("jumin_idou_office_s424242_0000.jpg", "jumin_idou", "若葉区")]
    again = batch_flow(str(inbox), workers=1, trigger="test")
    assert again["files"] == 0 and again["new"] == 0 and drain_queue() == []  # the ledger: not read again


def test_transient_only_retries() -> None:
    from types import SimpleNamespace

    from jimu.errors import CorruptFileError, StoreError
    from jimu.flows.batch import transient_only

    def state(exc: Exception) -> SimpleNamespace:
        def result() -> None:
            raise exc

        return SimpleNamespace(result=result)

    assert transient_only(None, None, state(StoreError("database is busy")))
    assert not transient_only(None, None, state(CorruptFileError("bad file")))
    assert not transient_only(None, None, state(ValueError("bug")))


def test_reprocess_flow_dry_run(prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jimu.flows.batch import batch_flow, reprocess_flow
    from jimu.pipeline.views import batch_view

    isolated_settings(monkeypatch, tmp_path / "data")
    inbox = tmp_path / "inbox"
    copy_sample("kaigo_nintei_clean_s424242_0000.png", inbox / "緑区")
    summary = batch_flow(str(inbox), workers=1, trigger="test")
    (before,) = batch_view(summary["batch_id"])["documents"]
    report = reprocess_flow(summary["batch_id"], from_stage="validate", dry_run=True, workers=1)
    (doc,) = report["documents"]
    # the same code and thresholds: validating again changes nothing
    assert doc["source_name"] == "kaigo_nintei_clean_s424242_0000.png"
    assert doc["changed_fields"] == [] and report["changed"] == 0 and report["published"] == 0
    assert doc["state_before"] == doc["state_after"] == before["state"]
    (after,) = batch_view(summary["batch_id"])["documents"]
    assert after["state"] == before["state"] and after["fields"] == before["fields"]


def test_the_zombie_automation_is_created_once(prefect_server: None) -> None:
    from jimu.flows.automations import NAME, ensure

    assert ensure() == f"created automation '{NAME}'"
    assert ensure() == f"automation '{NAME}' already exists"


def test_a_batch_flow_writes_its_summary_as_an_artifact(prefect_server: None, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.artifacts import Artifact

    from jimu.flows.batch import batch_flow

    isolated_settings(monkeypatch, tmp_path / "data")
    inbox = tmp_path / "inbox"
    (inbox / "稲毛区").mkdir(parents=True)
    (inbox / "稲毛区" / "notes.txt").write_text("not a scan")
    summary = batch_flow(str(inbox), workers=1, trigger="test")
    assert summary["states"] == {"quarantined": 1}
    art = Artifact.get("jimu-batch-summary")
    assert art is not None and "| quarantined | 1 |" in str(art.data) and "unsupported_type" in str(art.data)


def test_task_runs_are_named_after_the_file_unless_the_name_may_be_personal() -> None:
    from jimu.flows.batch import task_label

    assert task_label("/in/中央区/scan_0001.jpg", "中央区") == "中央区/scan_0001.jpg"
    masked = task_label("/in/中央区/申請書_山田太郎.jpg", "中央区")
    assert masked.startswith("中央区/file-") and masked.endswith(".jpg") and "山田" not in masked

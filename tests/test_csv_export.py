"""The CSV hand-off: records from the store, read back with Python's csv module (CP932 and UTF-8 BOM);
characters CP932 cannot hold are reported by code point (never replaced, never logged as values);
exports are atomic and idempotent; 和暦 dates, code tables, load-time checks, the CLI and the flow task."""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jimu.errors import BadArgsError, ExportError, FormSchemaError
from jimu.export import csv_sink
from jimu.export.charset import holds, unencodable
from jimu.export.csv_sink import MANIFEST, export_batch
from jimu.export.values import wareki
from jimu.forms_schema import get_form, load_all_forms, parse_form
from jimu.forms_schema.export_model import resolve_csv_columns
from jimu.forms_schema.loader import FORMS_DIR
from jimu.queue.message import build_record_message
from jimu.settings import get_settings
from jimu.store import repo
from jimu.store.db import dispose_engines, init_db, session_scope
from tests.pipeline_helpers import isolated_settings
from tests.service_helpers import sample_field_inputs

FORM_IDS = ["inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"]


@pytest.fixture()
def factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    isolated_settings(monkeypatch, tmp_path / "data")
    yield init_db(get_settings())
    dispose_engines()
    get_settings.cache_clear()


def new_batch(factory: sessionmaker[Session]) -> str:
    with session_scope(factory) as s:
        return repo.create_batch(s, "/inbox", trigger="test").id


def deliver(factory: sessionmaker[Session], batch_id: str, form_id: str, token: str, **values: Any) -> tuple[str, str]:
    """A document read and accepted into the store, as the pipeline leaves it; (document id, record id)."""
    form = get_form(form_id)
    fields = [dataclasses.replace(f, value=values[f.field_id]) if f.field_id in values else f
              for f in sample_field_inputs(form_id, token)]
    with session_scope(factory) as s:
        doc, _ = repo.add_document(s, batch_id=batch_id, sha256=hashlib.sha256(token.encode()).hexdigest(),
                                   source_name=f"{token}.png", ward="中央区")
        repo.set_document_state(s, doc, "extracting")
        repo.set_document_form(s, doc, form_id, form.version)
        repo.save_fields(s, doc, fields)
        d = repo.deliver_record(s, doc, build_record_message(doc, doc.fields, form))
        assert d.queued
        assert doc.record_id is not None
        return doc.id, doc.record_id


def correct(factory: sessionmaker[Session], document_id: str, field_id: str, value: Any) -> None:
    """An operator's correction, delivered as the record's next version."""
    with session_scope(factory) as s:
        doc = repo.get_document(s, document_id)
        repo.correct_field(s, doc, field_id, value, operator="op1", reason="test")
        form = get_form(doc.form_id or "")
        assert repo.deliver_record(s, doc, build_record_message(doc, doc.fields, form)).queued


def read_csv(path: Path, encoding: str) -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


# --- the five forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_each_form_declares_its_csv(form_id: str) -> None:
    form = get_form(form_id)
    assert form.export is not None and form.export.csv.columns
    cols = resolve_csv_columns(form)
    assert cols[0].meta == "record_id" and cols[0].header == "レコードID"
    for c in cols:  # every choice column has a code table; every header fits CP932 (JIS X 0208)
        assert c.kind not in ("single_choice", "multi_choice") or c.codes is not None, c.header
        assert unencodable(c.header) == []


def test_a_table_expands_row_by_row_with_its_code_table(factory: sessionmaker[Session], tmp_path: Path) -> None:
    batch = new_batch(factory)
    deliver(factory, batch, "jumin_idou", "t1", **{"members[0].sex": "female", "members[1].sex": "male"})
    res = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    rows = read_csv(res.folder / "jumin_idou.csv", "cp932")
    header = list(rows[0])
    assert header[header.index("異動者1氏名"):header.index("異動者1氏名") + 6] == [
        "異動者1氏名", "異動者1フリガナ", "異動者1生年月日", "異動者1性別", "異動者1続柄", "異動者2氏名"]
    assert (rows[0]["異動者1性別"], rows[0]["異動者2性別"]) == ("2", "1")


# --- CP932, and what it cannot hold -------------------------------------------------------------------


def test_cp932_export_reads_back_and_reports_what_cp932_cannot_hold(
        factory: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    batch = new_batch(factory)
    _, plain = deliver(factory, batch, "inkan_toroku", "a", name="山田太郎", address="千葉市中央区千葉港1-1",
                       apply_date="2026-11-20", birth_date="1989-01-07", sex="female")
    _, takahashi = deliver(factory, batch, "inkan_toroku", "b", name="髙橋一郎", address="千葉市稲毛区稲毛1-2",
                           sex="male")
    with caplog.at_level(logging.WARNING):
        res = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    assert res.folder == tmp_path / "out" / batch / "csv-cp932"
    raw = (res.folder / "inkan_toroku.csv").read_bytes()
    assert raw.startswith("レコードID,版数,受付区,申請日".encode("cp932")) and b"\r\n" in raw
    rows = read_csv(res.folder / "inkan_toroku.csv", "cp932")
    assert [r["レコードID"] for r in rows] == [plain]  # 髙橋 is not in the CP932 file, neither as 高 nor as ?
    assert rows[0]["氏名"] == "山田太郎" and rows[0]["版数"] == "1" and rows[0]["受付区"] == "中央区"
    assert (rows[0]["申請日"], rows[0]["生年月日"], rows[0]["性別"]) == ("令和8年11月20日", "昭和64年1月7日", "2")
    assert "髙".encode() not in raw and "高橋".encode("cp932") not in raw and b"?" not in raw
    held = read_csv(res.folder / "inkan_toroku.needs-attention.csv", "utf-8-sig")
    assert [(r["レコードID"], r["氏名"]) for r in held] == [(takahashi, "髙橋一郎")]  # kept as written
    assert held[0]["要確認"] == "氏名(name): この文字コードに無い文字 U+9AD9"
    m = manifest(res.folder)
    assert m["unencodable"] == [{"record_id": takahashi, "form_id": "inkan_toroku", "field_id": "name",
                                 "column": "氏名", "code_points": ["U+9AD9"]}]
    assert m["count"] == {"records": 2, "written": 1, "needs_attention": 1, "skipped": 0}
    assert (m["encoding"], m["format"], m["batch_id"]) == ("cp932", "csv-cp932", batch)
    for f in m["files"]:
        assert hashlib.sha256((res.folder / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    assert {f["name"]: f["rows"] for f in m["files"]} == {"inkan_toroku.csv": 1, "inkan_toroku.needs-attention.csv": 1}
    # logs name the record, the field and the code point, never the value
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert takahashi in logged and "U+9AD9" in logged and "name" in logged
    for secret in ("髙", "橋", "一郎", "稲毛", "山田"):
        assert secret not in logged
    assert "髙" not in json.dumps(m, ensure_ascii=False)


@pytest.mark.parametrize(("name", "code_point", "in_cp932"), [
    ("髙橋", "U+9AD9", True),        # IBM extension: Windows has it, JIS X 0208 does not
    ("山﨑", "U+FA11", True),
    ("葛\U000e0100飾", "U+E0100", False),  # an IVS variation selector
    ("渡邉\U000e0101", "U+E0101", False),
    ("〜花", "U+301C", False),       # the codec would write ～ (U+FF5E): a silent replacement
    ("\ue000田", "U+E000", False),  # 外字 (user-defined area)
    ("①郎", "U+2460", True),        # NEC special row 13
])
def test_unencodable_characters_are_reported_by_code_point(
        factory: sessionmaker[Session], tmp_path: Path, name: str, code_point: str, in_cp932: bool) -> None:
    ch = chr(int(code_point[2:], 16))
    assert holds(ch, "cp932") is in_cp932 and not holds(ch, "jis_x0208")
    batch = new_batch(factory)
    _, rid = deliver(factory, batch, "kaigo_nintei", "k", name=name)
    res = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    assert read_csv(res.folder / "kaigo_nintei.csv", "cp932") == []
    assert [(u["record_id"], u["field_id"], u["code_points"]) for u in manifest(res.folder)["unencodable"]] == [
        (rid, "name", [code_point])]
    assert read_csv(res.folder / "kaigo_nintei.needs-attention.csv", "utf-8-sig")[0]["氏名"] == name


def test_a_form_that_allows_the_cp932_extensions_writes_them(factory: sessionmaker[Session], tmp_path: Path) -> None:
    data = yaml.safe_load((FORMS_DIR / "kaigo_nintei.yaml").read_text(encoding="utf-8"))
    data["export"]["csv"]["charset"] = "cp932"
    forms = {**load_all_forms(), "kaigo_nintei": parse_form(data, "kaigo_nintei.yaml")}
    batch = new_batch(factory)
    deliver(factory, batch, "kaigo_nintei", "x", name="髙橋﨑子")
    deliver(factory, batch, "kaigo_nintei", "y", name="葛\U000e0100子")  # an IVS: no CP932 holds it
    res = export_batch(factory, batch, "csv-cp932", tmp_path / "out", forms=forms)
    assert [r["氏名"] for r in read_csv(res.folder / "kaigo_nintei.csv", "cp932")] == ["髙橋﨑子"]
    assert [u["code_points"] for u in manifest(res.folder)["unencodable"]] == [["U+E0100"]]
    assert manifest(res.folder)["files"][0]["charset"] == "cp932"


def test_utf8_bom_holds_every_character(factory: sessionmaker[Session], tmp_path: Path) -> None:
    batch = new_batch(factory)
    deliver(factory, batch, "inkan_toroku", "a", name="髙橋一郎")
    deliver(factory, batch, "inkan_toroku", "b", name="葛\U000e0100飾")
    res = export_batch(factory, batch, "csv-utf8-bom", tmp_path / "out")
    assert (res.folder / "inkan_toroku.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert [r["氏名"] for r in read_csv(res.folder / "inkan_toroku.csv", "utf-8-sig")] == ["髙橋一郎", "葛\U000e0100飾"]
    m = manifest(res.folder)
    assert m["unencodable"] == [] and m["encoding"] == "utf-8-sig" and len(m["files"]) == 1


# --- idempotent and atomic ---------------------------------------------------------------------------------


def test_export_twice_writes_the_same_rows_once(factory: sessionmaker[Session], tmp_path: Path) -> None:
    batch = new_batch(factory)
    doc, rid = deliver(factory, batch, "juminhyo_kofu", "a")
    deliver(factory, batch, "juminhyo_kofu", "b", name="髙野")
    first = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in first.folder.iterdir()}
    second = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    assert first.changed and not second.changed and second.manifest == first.manifest
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in second.folder.iterdir()} == before
    # a new version of a record (an operator's correction) replaces its row: still one row per record
    correct(factory, doc, "name", "佐藤花子")
    correct(factory, next(d for d in _docs(factory, batch) if d != doc), "name", "高野")  # 髙 → 高 by the operator
    third = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    rows = read_csv(third.folder / "juminhyo_kofu.csv", "cp932")
    assert third.changed and len(rows) == 2 and len({r["レコードID"] for r in rows}) == 2
    assert {r["レコードID"]: (r["版数"], r["請求者氏名"]) for r in rows}[rid] == ("2", "佐藤花子")
    assert not (third.folder / "juminhyo_kofu.needs-attention.csv").exists()  # nothing needs attention any more
    assert manifest(third.folder)["unencodable"] == []
    assert sorted(p.name for p in third.folder.iterdir()) == [".export.lock", "juminhyo_kofu.csv", MANIFEST]


def _docs(factory: sessionmaker[Session], batch_id: str) -> list[str]:
    from sqlalchemy import select

    from jimu.store.models import Document

    with session_scope(factory) as s:
        return list(s.scalars(select(Document.id).where(Document.batch_id == batch_id).order_by(Document.created_at)))


def test_a_write_that_fails_leaves_the_last_export_whole(factory: sessionmaker[Session], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    batch = new_batch(factory)
    deliver(factory, batch, "inkan_toroku", "a")
    first = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    deliver(factory, batch, "inkan_toroku", "b")

    def fail_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    real_fsync = os.fsync
    monkeypatch.setattr(csv_sink.os, "fsync", fail_fsync)
    with pytest.raises(ExportError) as e:
        export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    assert batch in e.value.message and e.value.exit_code == 11
    assert {p.name: p.read_bytes() for p in first.folder.iterdir()} == before  # no temporary file left either
    monkeypatch.setattr(csv_sink.os, "fsync", real_fsync)
    again = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    assert len(read_csv(again.folder / "inkan_toroku.csv", "cp932")) == 2


# --- dates and code tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(("iso", "expected"), [
    ("2026-11-20", "令和8年11月20日"),
    ("2019-05-01", "令和1年5月1日"),
    ("2019-04-30", "平成31年4月30日"),
    ("1989-01-08", "平成1年1月8日"),
    ("1989-01-07", "昭和64年1月7日"),
    ("1926-12-25", "昭和1年12月25日"),
])
def test_wareki(iso: str, expected: str) -> None:
    import datetime as dt

    assert wareki(dt.date.fromisoformat(iso)) == expected


@pytest.mark.parametrize(("form_id", "column", "expected"), [
    ("kodomo_iryohi", "申請日", "2026-11-20"),  # this form's section says iso
    ("kaigo_nintei", "申請日", "令和8年11月20日"),
])
def test_each_form_has_its_date_style(factory: sessionmaker[Session], tmp_path: Path, form_id: str, column: str,
                                      expected: str) -> None:
    batch = new_batch(factory)
    deliver(factory, batch, form_id, "d", apply_date="2026-11-20")
    res = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    assert read_csv(res.folder / f"{form_id}.csv", "cp932")[0][column] == expected


@pytest.mark.parametrize(("values", "expected"), [
    ({"items": ["setainushi", "honseki"], "relation": "dairinin"}, {"記載事項": "1;3", "関係": "3"}),
    ({"items": [], "purpose": "other"}, {"記載事項": "", "使いみち": "99"}),
    ({"items": ["kojin_bango"], "scope": "ichibu", "purpose": "nenkin"}, {"記載事項": "4", "範囲": "2", "使いみち": "02"}),
])
def test_code_tables(factory: sessionmaker[Session], tmp_path: Path, values: dict[str, Any],
                     expected: dict[str, str]) -> None:
    batch = new_batch(factory)
    deliver(factory, batch, "juminhyo_kofu", "c", **values)
    row = read_csv(export_batch(factory, batch, "csv-cp932", tmp_path / "out").folder / "juminhyo_kofu.csv", "cp932")[0]
    assert {k: row[k] for k in expected} == expected


def test_a_value_not_in_the_code_table_needs_attention(factory: sessionmaker[Session], tmp_path: Path) -> None:
    batch = new_batch(factory)
    _, rid = deliver(factory, batch, "kaigo_nintei", "z", sex="unknown", apply_date="2026-13-45")
    res = export_batch(factory, batch, "csv-cp932", tmp_path / "out")
    problems = {(p["field_id"], p["problem"]) for p in manifest(res.folder)["problems"]}
    assert problems == {("sex", "no_code"), ("apply_date", "not_a_date")}
    assert read_csv(res.folder / "kaigo_nintei.needs-attention.csv", "utf-8-sig")[0]["レコードID"] == rid


# --- the YAML section, checked at load -------------------------------------------------------------------


def _with_export(form_id: str, change: dict[str, Any] | None = None, column: dict[str, Any] | None = None) -> dict:
    data = copy.deepcopy(yaml.safe_load((FORMS_DIR / f"{form_id}.yaml").read_text(encoding="utf-8")))
    data["export"]["csv"].update(change or {})
    if column is not None:
        data["export"]["csv"]["columns"].append(column)
    return data


@pytest.mark.parametrize(("form_id", "change", "column", "message"), [
    ("inkan_toroku", None, {"field": "nmae"}, "unknown field 'nmae'"),
    ("inkan_toroku", None, {"field": "name", "header": "氏名2"}, "exported twice"),
    ("inkan_toroku", None, {"meta": "batch_id", "header": "レコードID"}, "header 'レコードID' is used twice"),
    ("inkan_toroku", None, {"field": "kana", "header": "氏名"}, "header '氏名' is used twice"),
    ("inkan_toroku", None, {"field": "name", "colour": "red"}, "unknown key"),
    ("inkan_toroku", None, {"meta": "secret"}, "export.csv.columns"),
    ("inkan_toroku", None, {"field": "name", "meta": "ward"}, "exactly one of 'field' or 'meta'"),
    ("inkan_toroku", {"codes": {"sex": {"male": "1"}}}, None, "no code for option(s) ['female']"),
    ("inkan_toroku", {"codes": {"sex": {"male": "1", "female": "2", "other": "3"}}}, None, "unknown option(s) ['other']"),
    ("inkan_toroku", {"codes": {"sex": {"male": "1", "female": "1"}}}, None, "two options share one code"),
    ("inkan_toroku", {"codes": {"name": {"a": "1"}}}, None, "is a text field, not a choice"),
    ("inkan_toroku", {"codes": {"sexx": {"male": "1"}}}, None, "unknown field 'sexx'"),
    ("inkan_toroku", {"date_style": "showa"}, None, "export.csv.date_style"),
    ("inkan_toroku", None, {"meta": "batch_id", "header": "髙"}, "U+9AD9"),
    ("kaigo_nintei", None, {"field": "mynumber", "header": "番号", "restricted": True}, "exported twice"),
    ("kaigo_nintei", {"columns": [{"field": "mynumber"}]}, None, "field 'mynumber' is restricted"),
    ("jumin_idou", None, {"field": "members", "header": "異動者"}, "gives two cells one header"),
    ("jumin_idou", {"codes": {"members[0].sex": {"male": "1", "female": "2"}}}, None, "'table[*].column'"),
])
def test_a_broken_export_section_fails_to_load(form_id: str, change: dict[str, Any] | None,
                                               column: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(FormSchemaError) as e:
        parse_form(_with_export(form_id, change, column), f"{form_id}.yaml")
    assert message in str(e.value) and f"{form_id}.yaml" in str(e.value)


def test_a_form_without_an_export_section_has_the_default(factory: sessionmaker[Session], tmp_path: Path) -> None:
    data = yaml.safe_load((FORMS_DIR / "kaigo_nintei.yaml").read_text(encoding="utf-8"))
    del data["export"]
    form = parse_form(data, "kaigo_nintei.yaml")
    headers = [c.header for c in resolve_csv_columns(form)]
    leaves = [lf.id for lf in form.leaf_fields() if lf.sensitivity != "restricted"]
    assert headers == ["record_id", *leaves] and "mynumber" not in headers  # restricted fields stay out
    batch = new_batch(factory)
    _, rid = deliver(factory, batch, "kaigo_nintei", "n", apply_date="2026-11-20", sex="male")
    res = export_batch(factory, batch, "csv-utf8-bom", tmp_path / "out", forms={"kaigo_nintei": form})
    row = read_csv(res.folder / "kaigo_nintei.csv", "utf-8-sig")[0]
    assert (row["record_id"], row["apply_date"], row["sex"]) == (rid, "2026-11-20", "male")  # ISO, option ids


# --- CLI and flow task -----------------------------------------------------------------------------------


def test_cli_export(factory: sessionmaker[Session], tmp_path: Path) -> None:
    from jimu.cli import app

    batch = new_batch(factory)
    deliver(factory, batch, "inkan_toroku", "a")
    deliver(factory, batch, "inkan_toroku", "b", name="髙橋")
    out = tmp_path / "handoff"
    r = CliRunner().invoke(app, ["export", "--batch", batch, "--format", "csv-cp932", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert (s["records"], s["written"], s["needs_attention"], s["changed"]) == (2, 1, 1, True)
    assert len(read_csv(out / batch / "csv-cp932" / "inkan_toroku.csv", "cp932")) == 1
    r = CliRunner().invoke(app, ["export", "--batch", batch])  # default: csv-cp932 under the data dir
    assert r.exit_code == 0, r.output
    assert "needs attention 1" in r.stdout and "髙" not in r.stdout
    assert (get_settings().data_dir / "exports" / batch / "csv-cp932" / MANIFEST).exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--batch", "BATCH", "--format", "xlsx"], "unknown export format 'xlsx'"),
    (["--batch", "no-such-batch"], "no batch no-such-batch"),
])
def test_cli_export_errors(factory: sessionmaker[Session], args: list[str], message: str) -> None:
    from jimu.cli import app

    batch = new_batch(factory)
    r = CliRunner().invoke(app, ["export", *[batch if a == "BATCH" else a for a in args]])
    assert isinstance(r.exception, BadArgsError) and r.exception.exit_code == 2
    assert message in r.exception.message and r.exception.hint


def test_flow_task_writes_the_export_where_the_settings_say(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jimu.flows.batch import csv_export_task

    isolated_settings(monkeypatch, tmp_path / "data", JIMU_CSV_EXPORT="1", JIMU_CSV_EXPORT_FORMAT="csv-utf8-bom",
                      JIMU_CSV_EXPORT_DIR=str(tmp_path / "core"))
    settings = get_settings()
    assert settings.csv_export and settings.csv_export_format == "csv-utf8-bom"
    factory = init_db(settings)
    batch = new_batch(factory)
    deliver(factory, batch, "kodomo_iryohi", "f")
    try:
        s = csv_export_task.fn(batch)
    finally:
        from jimu.pipeline.batch import close_process_contexts

        close_process_contexts()
        dispose_engines()
        get_settings.cache_clear()
    assert (s["records"], s["written"], s["format"]) == (1, 1, "csv-utf8-bom")
    assert len(read_csv(tmp_path / "core" / batch / "csv-utf8-bom" / "kodomo_iryohi.csv", "utf-8-sig")) == 1


@pytest.mark.slow
def test_batch_flow_writes_the_csv_after_the_relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real scans through the Prefect batch flow: the CSV holds what the queue got, one row per record."""
    from prefect.testing.utilities import prefect_test_harness

    from jimu.flows.batch import batch_flow
    from jimu.flows.quiet import quiet_prefect
    from jimu.reliability import accept_all_thresholds
    from tests.pipeline_helpers import copy_sample, drain_queue

    isolated_settings(monkeypatch, tmp_path / "data", JIMU_CSV_EXPORT="1",
                      JIMU_THRESHOLDS_FILE=str(accept_all_thresholds(tmp_path / "all.json", "csv-accept-all")))
    inbox = tmp_path / "inbox"
    copy_sample("inkan_toroku_clean_s424242_0000.png", inbox / "中央区")
    copy_sample("juminhyo_kofu_clean_s424242_0000.png", inbox / "中央区")
    quiet_prefect()
    try:
        with prefect_test_harness():
            summary = batch_flow(str(inbox), workers=1, trigger="test")
        messages = drain_queue()
    finally:
        from jimu.pipeline.batch import close_process_contexts

        close_process_contexts()
        dispose_engines()
    export = summary["csv_export"]
    assert messages and export["records"] == len(messages) and export["written"] + export["needs_attention"] == len(messages)
    folder = get_settings().data_dir / "exports" / summary["batch_id"] / "csv-cp932"
    rows = {}
    for f in manifest(folder)["files"]:
        encoding = "cp932" if f["encoding"] == "cp932" else "utf-8-sig"
        rows.update({r["レコードID"]: r for r in read_csv(folder / f["name"], encoding)})
    assert len(rows) == len(messages)
    for m in messages:
        row = rows[m["record_id"]]
        name_column = "氏名" if m["form_id"] == "inkan_toroku" else "請求者氏名"
        assert (row["版数"], row["受付区"], row[name_column]) == (str(m["record_version"]), "中央区", m["fields"]["name"])
    get_settings.cache_clear()

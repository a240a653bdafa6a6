"""Review flows through the API: correct, approve (re-validated), outbox → queue, skip, reject,
restricted fields' blind double entry, supervisor decisions, audit and statistics."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from jimu.forms_schema import get_form
from jimu.outbox import relay
from jimu.queue import get_consumer, get_publisher
from jimu.review.entries import SecondEntry
from jimu.review.seed import SeededDocument, seed_document
from jimu.review.values import display_value
from jimu.store.db import dispose_engines, session_scope
from jimu.store.models import AuditEntry, Document, FieldValue, OutboxMessage
from tests.review_helpers import Store, add_user, csrf, login, make_client, make_store, review_settings_for_tests


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = make_store(tmp_path)
    for name, role in (("op1", "operator"), ("op2", "operator"), ("op3", "operator"), ("sv1", "supervisor"),
                       ("ad1", "admin")):
        add_user(st.factory, name, role)
    yield st
    dispose_engines()


def client_as(store: Store, name: str, **settings: Any) -> Any:
    c = make_client(store, review_settings_for_tests(**settings))
    assert login(c, name).status_code == 303
    c.token = csrf(c)
    return c


def pks(store: Store, doc_id: str) -> dict[str, int]:
    with session_scope(store.factory) as s:
        return {f.field_id: f.id for f in s.scalars(select(FieldValue).where(FieldValue.document_id == doc_id))}


def fields(store: Store, doc_id: str) -> dict[str, FieldValue]:
    with session_scope(store.factory) as s:
        return {f.field_id: f for f in s.scalars(select(FieldValue).where(FieldValue.document_id == doc_id))}


def state(store: Store, doc_id: str) -> str:
    with session_scope(store.factory) as s:
        d = s.get(Document, doc_id)
        assert d is not None
        return d.state


def audits(store: Store, doc_id: str | None = None, action: str | None = None) -> list[AuditEntry]:
    with session_scope(store.factory) as s:
        q = select(AuditEntry)
        if doc_id:
            q = q.where(AuditEntry.document_id == doc_id)
        if action:
            q = q.where(AuditEntry.action == action)
        return list(s.scalars(q.order_by(AuditEntry.id)))


def consume_all(store: Store) -> list[dict[str, Any]]:
    relay(store.factory, get_publisher(store.settings))
    consumer = get_consumer(store.settings)
    out: list[dict[str, Any]] = []
    try:
        while True:
            got = consumer.get(10, 0.2)
            if not got:
                return out
            for m in got:
                consumer.ack(m)
                out.append(m.body)
    finally:
        consumer.close()


def approve_form(c: Any, doc_id: str, values: dict[int, str], confirmed: list[int] | None = None) -> Any:
    """What the browser posts: the inputs, and the fields the operator confirmed (all of them by default)."""
    ids = list(values) if confirmed is None else confirmed
    data = {"csrf_token": c.token, "confirmed": ",".join(map(str, ids)),
            **{f"v{pk}": text for pk, text in values.items()}}
    return c.post(f"/documents/{doc_id}/approve", data=data, follow_redirects=False)


def page_values(c: Any, doc_id: str) -> dict[int, str]:
    """What the browser would post: every input of the review page with its shown value."""
    page = c.get(f"/documents/{doc_id}").text
    return {int(pk): val for pk, val in re.findall(r'name="v(\d+)"[^>]*?value="([^"]*)"', page, flags=re.S)}


def leaf_label(form_id: str, fid: str) -> str:
    return get_form(form_id).leaf(fid).label


# ------------------------------------------------------------------------------------------ review


def test_enter_saves_a_correction_with_audit(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=21,
                      wrong={"phone": "0432000000"})
    c = client_as(store, "op1")
    c.get(f"/documents/{d.id}")
    pk = pks(store, d.id)["phone"]
    truth = str(d.truth["phone"])
    typed = truth.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    r = c.post(f"/api/documents/{d.id}/fields/{pk}", json={"value": typed}, headers={"X-CSRF-Token": c.token})
    assert r.status_code == 200 and r.json() == {"ok": True, "text": truth, "error": None, "saved": True}
    f = fields(store, d.id)["phone"]
    assert (f.status, f.effective_value, f.corrected_by) == ("accepted", truth, "op1")
    [entry] = audits(store, d.id, "field.correct")
    assert (entry.actor, entry.field_id, json.loads(entry.old_value_masked or ""), json.loads(entry.new_value_masked or "")
            ) == ("op1", "phone", "0432000000", truth)
    assert entry.reason and "確からしさ" in entry.reason and entry.at is not None
    # bad input: an error in plain Japanese, nothing saved
    r = c.post(f"/api/documents/{d.id}/fields/{pk}", json={"value": "abc"}, headers={"X-CSRF-Token": c.token})
    assert r.json()["ok"] is False and "数字" in r.json()["error"]
    assert fields(store, d.id)["phone"].effective_value == truth


def test_approve_normalises_input_revalidates_and_delivers(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=22,
                      wrong={"kana": "ア", "birth_date": "1990-01-01"})
    c = client_as(store, "op1")
    values = page_values(c, d.id)
    ids = pks(store, d.id)
    truth_kana = str(d.truth["kana"])
    hira = "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in truth_kana)
    values[ids["kana"]] = hira
    values[ids["birth_date"]] = display_value(get_form("inkan_toroku").leaf("birth_date"), d.truth["birth_date"])
    assert "年" in values[ids["birth_date"]]  # typed as 和暦
    r = approve_form(c, d.id, values)
    assert r.status_code == 303 and r.headers["location"] == "/next", r.text
    assert state(store, d.id) == "delivered"  # the relay ran right after the approval
    [body] = consume_all(store)
    assert body["fields"]["kana"] == truth_kana and body["fields"]["birth_date"] == d.truth["birth_date"]
    assert body["fields"] == d.truth
    acc = body["acceptance"]["kana"]
    assert acc["by"] == "operator" and acc["operator"] == "op1" and acc["at"].endswith("Z")
    assert body["acceptance"]["name"]["by"] == "auto"
    assert state(store, d.id) == "delivered"
    assert [a.actor for a in audits(store, d.id, "review.approve")] == ["op1"]


def test_approve_with_errors_comes_back_next_to_the_fields(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=23,
                      wrong={"phone": "0432000000"})
    c = client_as(store, "op1")
    values = page_values(c, d.id)
    ids = pks(store, d.id)
    values[ids["phone"]] = "12"
    values[ids["birth_date"]] = "令和5年1月1日"  # 15歳未満 → the cross-field rule fails
    r = approve_form(c, d.id, values)
    assert r.status_code == 422
    page = r.text
    assert "印鑑登録は15歳以上の方に限られます" in page  # the rule's message heads the group
    assert "電話番号の形が正しくありません" in page
    assert 'value="12"' in page  # what the operator typed stays in the field
    group = page[page.index("印鑑登録は15歳以上の方に限られます"):]
    group = group[: group.index("</section>")]
    assert leaf_label("inkan_toroku", "birth_date") in group and leaf_label("inkan_toroku", "apply_date") in group
    assert state(store, d.id) == "review"
    assert not audits(store, d.id, "field.correct")
    values[ids["birth_date"]] = "昭和"  # unparseable date
    r = approve_form(c, d.id, values)
    assert r.status_code == 422 and "日付として読めません" in r.text


def test_rule_groups_on_the_page(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="kaigo_nintei", seed=24,
                      wrong={"zip": "1000001"})
    assert "rule:zip_matches_address" in d.reasons["address"]
    c = client_as(store, "op1")
    page = c.get(f"/documents/{d.id}").text
    start = page.index("郵便番号が住所の町名と一致しません")
    group = page[start: page.index("</section>", start)]
    assert "〒" in group and "住所" in group


def test_skip_and_next(store: Store) -> None:
    a = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=25, n_misread=1)
    b = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=26, n_misread=1)
    c = client_as(store, "op1")
    assert c.get("/next", follow_redirects=False).headers["location"] == f"/documents/{a.id}"
    c.get(f"/documents/{a.id}")
    r = c.post(f"/documents/{a.id}/skip", data={"csrf_token": c.token}, follow_redirects=False)
    assert r.headers["location"] == "/next"
    assert c.get("/next", follow_redirects=False).headers["location"] == f"/documents/{b.id}"
    with session_scope(store.factory) as s:
        doc = s.get(Document, a.id)
        assert doc is not None and doc.lock_owner is None and doc.state == "review"
    assert client_as(store, "op2").get("/next", follow_redirects=False).headers["location"] == f"/documents/{a.id}"


def test_reject_to_the_ward_office(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=27, n_misread=1)
    c = client_as(store, "op1")
    c.get(f"/documents/{d.id}")
    r = c.post(f"/documents/{d.id}/reject", data={"csrf_token": c.token, "code": "illegible", "note": "にじみ"},
               follow_redirects=False)
    assert r.status_code == 303
    assert state(store, d.id) == "rejected"
    [a] = audits(store, d.id, "review.reject")
    assert a.actor == "op1" and a.reason == "不備返戻: 判読できない（にじみ）"
    r = c.post(f"/documents/{d.id}/reject", data={"csrf_token": c.token, "code": "x"}, follow_redirects=False)
    assert r.status_code == 409  # no longer in review
    assert consume_all(store) == []


def test_a_stale_page_cannot_approve_a_finished_document(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=28, n_misread=1)
    c = client_as(store, "op1")
    values = page_values(c, d.id)
    assert approve_form(c, d.id, values).status_code == 303
    r = approve_form(c, d.id, values)
    assert r.status_code == 409
    with session_scope(store.factory) as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 1


# ------------------------------------------------------------------------------------------ double entry


def restricted_doc(store: Store, seed: int) -> SeededDocument:
    d = seed_document(store.factory, store.data_dir, form_id="kaigo_nintei", seed=seed, n_misread=1)
    assert "mynumber" in d.flagged
    return d


def first_entry(store: Store, d: SeededDocument, who: str = "op1") -> Any:
    c = client_as(store, who)
    page = c.get(f"/documents/{d.id}").text
    assert str(d.read["mynumber"]) in page  # the first operator sees the OCR value
    values = page_values(c, d.id)
    ids = pks(store, d.id)
    for fid in d.flagged:
        leaf = get_form("kaigo_nintei").leaf(fid)
        values[ids[fid]] = display_value(leaf, d.truth[fid])
    r = approve_form(c, d.id, values)
    assert r.status_code == 303, r.text
    return c


def test_restricted_fields_need_a_blind_second_entry(store: Store) -> None:
    d = restricted_doc(store, 31)
    first_entry(store, d, "op1")
    assert state(store, d.id) == "review" and consume_all(store) == []
    f = fields(store, d.id)["mynumber"]
    assert f.corrected_by == "op1" and f.checked_by is None and f.status == "accepted"
    # the first operator may not do the second entry
    c1 = client_as(store, "op1")
    assert c1.get(f"/documents/{d.id}").status_code == 403
    r = c1.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c1.token,
                                                         f"e{f.id}": str(d.truth["mynumber"])})
    assert r.status_code == 403
    assert "二重入力待ち" in c1.get("/worklist").text
    # the second operator's page shows the crop but no value at all
    c2 = client_as(store, "op2")
    assert c2.get("/next", follow_redirects=False).headers["location"] == f"/documents/{d.id}"
    page = c2.get(f"/documents/{d.id}").text
    assert "見ないで入力" in page
    assert str(d.truth["mynumber"]) not in page and str(d.read["mynumber"]) not in page
    assert f"/fields/{f.id}/crop.png" in page
    assert re.findall(r'name="e(\d+)"', page) == [str(f.id)]  # only the restricted field, empty
    assert re.search(rf'name="e{f.id}"[^>]*value=""', page)
    r = c2.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c2.token, f"e{f.id}": "12"})
    assert r.status_code == 422 and "個人番号" in r.text
    typed = " ".join(re.findall("....", str(d.truth["mynumber"])))
    r = c2.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c2.token, f"e{f.id}": typed},
                follow_redirects=False)
    assert r.status_code == 303
    [body] = consume_all(store)
    acc = body["acceptance"]["mynumber"]
    assert acc["operator"] == "op1" and acc["checked_by"] == "op2" and body["fields"]["mynumber"] == d.truth["mynumber"]
    # masked everywhere in the audit log
    for a in audits(store, d.id):
        for text in (a.old_value_masked, a.new_value_masked, a.detail_json, a.reason):
            assert str(d.truth["mynumber"]) not in (text or "")
            assert str(d.read["mynumber"]) not in (text or "")
    second = audits(store, d.id, "field.second_entry")
    assert [(a.actor, a.field_id, a.detail) for a in second] == [("op2", "mynumber", {"match": True})]
    assert second[0].new_value_masked == "*" * 12
    views = audits(store, d.id, "view_restricted")
    assert {a.actor for a in views} == {"op1"}  # op1 saw the value; op2 only the crop … via the crop route


def test_mismatch_goes_to_a_supervisor(store: Store) -> None:
    d = restricted_doc(store, 32)
    first_entry(store, d, "op1")
    f = fields(store, d.id)["mynumber"]
    truth = str(d.truth["mynumber"])
    wrong = truth[:-1] + str((int(truth[-1]) + 1) % 10)
    c2 = client_as(store, "op2")
    c2.get(f"/documents/{d.id}")
    # a wrong check digit is the second operator's own typo: they must key it again
    assert c2.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c2.token, f"e{f.id}": wrong}
                   ).status_code == 422
    other = _another_valid_mynumber(truth)
    r = c2.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c2.token, f"e{f.id}": other},
                follow_redirects=False)
    assert r.status_code == 303
    assert state(store, d.id) == "review" and consume_all(store) == []
    with session_scope(store.factory) as s:
        assert len(s.scalars(select(SecondEntry)).all()) == 1
    # operators cannot open it; supervisors see both entries
    op3 = client_as(store, "op3")
    assert op3.get(f"/documents/{d.id}").status_code == 403
    assert op3.get(f"/supervisor/documents/{d.id}").status_code == 403
    sv = client_as(store, "sv1")
    assert d.id in sv.get("/supervisor").text
    assert sv.get(f"/documents/{d.id}", follow_redirects=False).headers["location"] == f"/supervisor/documents/{d.id}"
    page = sv.get(f"/supervisor/documents/{d.id}").text
    assert truth in page and other in page and "op1" in page and "op2" in page
    assert [a.detail for a in audits(store, d.id, "view_restricted") if a.actor == "sv1"] == [
        {"what": "double_entry"}]
    r = sv.post(f"/supervisor/documents/{d.id}/decide", data={"csrf_token": sv.token, f"d{f.id}": truth},
                follow_redirects=False)
    assert r.status_code == 303
    [body] = consume_all(store)
    assert body["fields"]["mynumber"] == truth
    assert body["acceptance"]["mynumber"]["operator"] == "op1"
    assert body["acceptance"]["mynumber"]["checked_by"] == "sv1"
    with session_scope(store.factory) as s:
        assert s.scalars(select(SecondEntry)).all() == []
    [decision] = audits(store, d.id, "field.supervisor_decide")
    assert decision.detail == {"chosen": "first"} and decision.new_value_masked == "*" * 12


def test_supervisor_who_keyed_an_entry_cannot_decide(store: Store) -> None:
    d = restricted_doc(store, 33)
    first_entry(store, d, "sv1")
    f = fields(store, d.id)["mynumber"]
    c2 = client_as(store, "op2")
    c2.get(f"/documents/{d.id}")
    other = _another_valid_mynumber(str(d.truth["mynumber"]))
    c2.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c2.token, f"e{f.id}": other})
    sv = client_as(store, "sv1")
    r = sv.post(f"/supervisor/documents/{d.id}/decide", data={"csrf_token": sv.token, f"d{f.id}": other})
    assert r.status_code == 403
    ad = client_as(store, "ad1")
    r = ad.post(f"/supervisor/documents/{d.id}/decide", data={"csrf_token": ad.token, f"d{f.id}": other},
                follow_redirects=False)
    assert r.status_code == 303
    [body] = consume_all(store)
    assert body["fields"]["mynumber"] == other
    assert body["acceptance"]["mynumber"]["operator"] == "ad1"  # the supervisor's value, changed by them


def _another_valid_mynumber(not_this: str) -> str:
    from jimu.validators.checkdigits import is_valid_mynumber

    base = int(not_this[:11])
    for delta in range(1, 100):
        body = f"{(base + delta) % 10**11:011d}"
        for check in range(10):
            if is_valid_mynumber(body + str(check)):
                return body + str(check)
    raise AssertionError("no valid number found")


# ------------------------------------------------------------------------------------------ supervisor


def test_supervisor_statistics_and_audit_log(store: Store) -> None:
    a = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=41,
                      wrong={"phone": "0432000000"})
    b = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=42, n_misread=1)
    c = client_as(store, "op1")
    values = page_values(c, a.id)
    values[pks(store, a.id)["phone"]] = str(a.truth["phone"])
    assert approve_form(c, a.id, values).status_code == 303
    c.get(f"/documents/{b.id}")
    c.post(f"/documents/{b.id}/skip", data={"csrf_token": c.token})
    sv = client_as(store, "sv1")
    page = sv.get("/supervisor?days=7").text
    row = page[page.index("<td>op1</td>"):]
    row = row[: row.index("</tr>")]
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # approved, second entries, mismatches, decided, rejected, skipped, corrected, confirmed, per doc, per hour
    assert cells[:6] == ["1", "0", "0", "0", "0", "1"]
    assert int(cells[6]) >= 1
    log = sv.get("/supervisor/audit?actor=op1&action=field.correct").text
    assert "phone" in log and "0432000000" in log
    assert sv.get("/supervisor/audit?document=../../x").status_code == 200


def test_no_personal_data_in_logs_or_urls(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    d = restricted_doc(store, 51)
    c = first_entry(store, d, "op1")
    urls: list[str] = []
    c.event_hooks = {"request": [lambda req: urls.append(str(req.url))], "response": []}
    c2 = client_as(store, "op2")
    c2.event_hooks = {"request": [lambda req: urls.append(str(req.url))], "response": []}
    page = c2.get(f"/documents/{d.id}").text
    for src in re.findall(r'src="([^"]+)"', page):
        c2.get(src)
    pk = pks(store, d.id)["mynumber"]
    c2.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c2.token, f"e{pk}": str(d.truth["mynumber"])})
    secrets = [str(v) for v in d.truth.values() if isinstance(v, str) and len(v) >= 3]
    for text in [r.getMessage() for r in caplog.records] + urls:
        for secret in secrets:
            assert secret not in text, "personal data in a log line or URL"
    for url in urls:
        assert re.fullmatch(r"http://testserver/[A-Za-z0-9/._\-]*(\?v=[0-9a-f]+)?", url), url


@pytest.mark.parametrize("form_id", ["inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"])
def test_every_form_through_review_and_double_entry(store: Store, form_id: str) -> None:
    d = seed_document(store.factory, store.data_dir, form_id=form_id, seed=61, n_misread=2)
    form = get_form(form_id)
    c = client_as(store, "op1", relay_after_approve=False)
    values = page_values(c, d.id)
    ids = pks(store, d.id)
    for fid in d.flagged:
        values[ids[fid]] = display_value(form.leaf(fid), d.truth[fid])
    r = approve_form(c, d.id, values)
    assert r.status_code == 303, r.text
    restricted = {lf.id for lf in form.leaf_fields() if lf.sensitivity == "restricted"}
    if restricted:
        assert consume_all(store) == []
        c2 = client_as(store, "op2")
        page = c2.get(f"/documents/{d.id}").text
        entry = {int(pk) for pk in re.findall(r'name="e(\d+)"', page)}
        assert entry == {ids[fid] for fid in restricted}
        data = {"csrf_token": c2.token}
        for fid in restricted:
            data[f"e{ids[fid]}"] = display_value(form.leaf(fid), d.truth[fid])
        assert c2.post(f"/documents/{d.id}/second-entry", data=data, follow_redirects=False).status_code == 303
    [body] = consume_all(store)
    def canon(values: dict[str, Any]) -> dict[str, Any]:  # an empty multi choice is [] or null
        return {k: (v or None) if form.leaf(k).kind == "multi_choice" else v for k, v in values.items()}

    assert canon(body["fields"]) == canon(d.truth)
    for fid in restricted:
        assert body["acceptance"][fid]["checked_by"] == "op2"


def test_stale_second_entries_are_purged(store: Store) -> None:
    from jimu.review.entries import purge_stale
    from jimu.store import repo

    d = restricted_doc(store, 71)
    first_entry(store, d, "op1")
    f = fields(store, d.id)["mynumber"]
    c2 = client_as(store, "op2")
    c2.get(f"/documents/{d.id}")
    other = _another_valid_mynumber(str(d.truth["mynumber"]))
    c2.post(f"/documents/{d.id}/second-entry", data={"csrf_token": c2.token, f"e{f.id}": other})
    with session_scope(store.factory) as s:
        assert purge_stale(s) == 0  # still waiting for the supervisor
        repo.set_document_state(s, repo.get_document(s, d.id), "extracting", reason="reprocess")
    with session_scope(store.factory) as s:
        assert purge_stale(s) == 1
        assert s.scalars(select(SecondEntry)).all() == []


def test_an_approve_without_confirmations_is_refused_on_the_server(store: Store) -> None:
    """Only the CSRF token, or the values without the confirmed ids: refused, nothing confirmed or delivered."""
    d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=31, wrong={"phone": "0432000000"})
    c = client_as(store, "op1")
    r = c.post(f"/documents/{d.id}/approve", data={"csrf_token": c.token}, follow_redirects=False)
    assert r.status_code == 422 and "まだ確認していません" in r.text
    values = page_values(c, d.id)
    r = approve_form(c, d.id, values, confirmed=[])
    assert r.status_code == 422
    assert state(store, d.id) == "review"
    assert not audits(store, d.id, "field.correct") and not audits(store, d.id, "field.confirm")
    assert not audits(store, d.id, "review.approve")
    r = approve_form(c, d.id, values)  # every flagged field confirmed: accepted
    assert r.status_code == 303


def test_a_422_page_showing_restricted_values_is_audited(store: Store) -> None:
    """A POST straight to approve (the page never opened) with one invalid field: the page it returns
    shows the restricted values, so the view is audited like any other."""
    d = seed_document(store.factory, store.data_dir, form_id="kaigo_nintei", seed=32, n_misread=1)  # マイナンバー
    c = client_as(store, "op2")
    before = len(audits(store, d.id, "view_restricted"))
    ids = pks(store, d.id)
    r = approve_form(c, d.id, {ids["mynumber"]: "12"})  # a check digit cannot pass
    assert r.status_code == 422
    views = audits(store, d.id, "view_restricted")
    assert len(views) > before and {a.actor for a in views[before:]} == {"op2"}


def test_an_operator_sees_their_own_stats_and_nobody_elses(store: Store) -> None:
    a = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=43, wrong={"phone": "0432000000"})
    b = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=44, n_misread=1)
    op1, op2 = client_as(store, "op1"), client_as(store, "op2")
    values = page_values(op1, a.id)
    values[pks(store, a.id)["phone"]] = str(a.truth["phone"])
    assert approve_form(op1, a.id, values).status_code == 303
    op2.get(f"/documents/{b.id}")
    op2.post(f"/documents/{b.id}/skip", data={"csrf_token": op2.token})
    page = op1.get("/me").text
    day = page[page.index("<td>24時間</td>"):]
    cells = re.findall(r'<td class="num">([^<]*)</td>', day[: day.index("</tr>")])
    assert cells[:5] == ["1", "0", "0", "0", "0"]  # op1 approved one, skipped none (op2 did)
    assert "op2" not in page


def test_the_supervisor_page_shows_how_long_the_backlog_has_waited(store: Store) -> None:
    import datetime as dt

    from jimu.store.models import utcnow

    ages_h = [0.2, 5, 30, 100, 100]
    for i, age in enumerate(ages_h):
        d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=50 + i, n_misread=1)
        with session_scope(store.factory) as s:
            doc = s.get(Document, d.id)
            assert doc is not None
            doc.created_at = utcnow() - dt.timedelta(hours=age)
    page = client_as(store, "sv1").get("/supervisor").text
    table = page[page.index("確認待ちの滞留"):]
    table = table[: table.index("</table>")]
    assert re.findall(r'<td class="num">(\d+)件</td>', table) == ["1", "1", "1", "2"]
    assert "（100.0時間前）" in table and "5件" in table


def test_a_value_changed_from_the_reading_is_marked_on_the_page(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=45, wrong={"phone": "0432000000"})
    c = client_as(store, "op1")
    page = c.get(f"/documents/{d.id}").text
    assert "読み取りから変更" not in page
    pk = pks(store, d.id)["phone"]
    r = c.post(f"/api/documents/{d.id}/fields/{pk}", json={"value": str(d.truth["phone"])},
               headers={"X-CSRF-Token": c.token})
    assert r.json()["ok"] is True
    page = c.get(f"/documents/{d.id}").text
    field = page[page.index(f'id="v{pk}"') - 1500:page.index(f'id="v{pk}"')]
    assert "読み取りから変更" in field  # on the phone field's row, and only once on the page
    assert page.count("読み取りから変更") == 1

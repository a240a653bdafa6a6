"""The review UI in real headless Chromium, keyboard only: log in, open the first flagged document,
correct fields, approve, and find the record on the queue; the restricted fields' blind double entry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jimu.forms_schema import get_form
from jimu.queue import get_consumer
from jimu.review.seed import SeededDocument, seed_document
from jimu.review.values import display_value
from jimu.store.db import dispose_engines, session_scope
from jimu.store.models import Document
from tests.review_helpers import PASSWORD, Store, add_user, make_store
from tests.review_live import LiveApp, live_app

pytestmark = pytest.mark.browser


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = make_store(tmp_path)
    add_user(st.factory, "op1", "operator")
    add_user(st.factory, "op2", "operator")
    yield st
    dispose_engines()


@pytest.fixture
def live(store: Store) -> Iterator[LiveApp]:
    with live_app(store.settings, factory=store.factory) as app:
        yield app


def keyboard_login(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.keyboard.type(name)  # the name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def wait_until(page: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll a JS expression (``page.wait_for_function`` evaluates strings, which the app's CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        time.sleep(0.02)


def active_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def field_input_id(store: Store, doc_id: str, field_id: str) -> str:
    with session_scope(store.factory) as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        return f"v{next(f.id for f in doc.fields if f.field_id == field_id)}"


def wait_for_records(store: Store, n: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    consumer = get_consumer(store.settings)
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < n and time.monotonic() < deadline:
            for m in consumer.get(10, 0.3):
                consumer.ack(m)
                out.append(m.body)
    finally:
        consumer.close()
    return out


def test_correct_two_fields_and_approve_with_the_keyboard(store: Store, live: LiveApp, new_page: Any,
                                                         screenshots: Path) -> None:
    form = get_form("inkan_toroku")
    d: SeededDocument = seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=101,
                                      wrong={"birth_date": "2016-04-03", "phone": "0432000000"}, ward="中央区")
    other = seed_document(store.factory, store.data_dir, form_id="kaigo_nintei", seed=102, n_misread=1,
                          ward="花見川区")
    assert d.flagged == ["apply_date", "birth_date", "phone"]
    page = new_page()
    keyboard_login(page, live.url, "op1")
    assert page.url.endswith("/worklist")
    assert page.locator("text=確認待ちの書類").is_visible()
    page.screenshot(path=str(screenshots / "worklist.png"), full_page=True)

    with page.expect_navigation():
        page.keyboard.press("Enter")  # 次の書類を開く has the focus: the oldest document
    assert page.url.endswith(f"/documents/{d.id}")
    page.wait_for_load_state("load")
    assert page.evaluate("Array.from(document.querySelectorAll('img.crop-img[src]'))"
                         ".every(i => i.complete && i.naturalWidth > 0)")
    ids = {fid: field_input_id(store, d.id, fid) for fid in d.flagged}
    assert active_id(page) == ids["apply_date"]
    page.screenshot(path=str(screenshots / "review.png"), full_page=True)

    # Tab / Shift+Tab move between fields
    page.keyboard.press("Tab")
    assert active_id(page) == ids["birth_date"]
    page.keyboard.press("Shift+Tab")
    assert active_id(page) == ids["apply_date"]
    # approving too early: the page says what is left and goes there
    page.keyboard.press("Control+Enter")
    wait_until(page, "document.getElementById('status').textContent.includes('まだ確認していない')")
    assert page.url.endswith(f"/documents/{d.id}") and active_id(page) == ids["apply_date"]

    page.keyboard.press("Enter")  # 申請日 is right: confirm it
    assert active_id(page) == ids["birth_date"]
    wareki = display_value(form.leaf("birth_date"), d.truth["birth_date"])
    page.keyboard.type(wareki, delay=15)  # the text was selected: typing replaces it
    page.keyboard.press("Enter")
    assert active_id(page) == ids["phone"]
    page.keyboard.type("12", delay=15)  # a slip: the server says why, next to the field
    page.keyboard.press("Enter")
    wait_until(page, f"document.getElementById('{ids['phone']}').classList.contains('error')")
    row = page.locator(f"#{ids['phone']} >> xpath=ancestor::div[contains(@class,'field')]")
    assert "電話番号の形が正しくありません" in row.inner_text()
    assert "電話番号の形が正しくありません" in page.inner_text("#status")
    assert active_id(page) == ids["phone"]
    phone = str(d.truth["phone"])
    page.keyboard.press("Control+a")
    page.keyboard.type(f"{phone[:3]}-{phone[3:-4]}-{phone[-4:]}", delay=15)
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelectorAll('input.fv.flagged.ok').length === 3")
    page.screenshot(path=str(screenshots / "review-confirmed.png"), full_page=True)

    with page.expect_navigation(url=f"**/documents/{other.id}"):
        page.keyboard.press("Control+Enter")
    assert "承認しました" in page.inner_text(".flashes")
    [record] = wait_for_records(store, 1)
    assert record["record_id"] and record["fields"] == d.truth
    assert record["acceptance"]["birth_date"]["operator"] == "op1"
    assert record["acceptance"]["phone"]["by"] == "operator"
    assert record["acceptance"]["name"]["by"] == "auto"
    assert page.js_errors == []


def test_page_view_outlines_the_field_zooms_pans_and_never_covers_the_input(store: Store, live: LiveApp, new_page: Any,
                                                                            screenshots: Path) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="jumin_idou", seed=103, n_misread=2)
    page = new_page()
    keyboard_login(page, live.url, "op1")
    page.goto(f"{live.url}/documents/{d.id}")
    # a wide screen opens the page view beside the fields, with the current field outlined
    wait_until(page, "(() => { const i = document.getElementById('page-img'); "
                     "return i && i.complete && i.naturalWidth > 0; })()")
    assert page.is_visible("#page-view") and page.is_visible("#pv-box")
    field = active_id(page)
    assert field.startswith("v")

    def rect(sel: str) -> dict[str, float]:
        return dict(page.evaluate(f"(() => {{ const r = document.querySelector({sel!r}).getBoundingClientRect(); "
                                  "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })()"))

    assert rect(f"#{field}")["right"] <= rect("#page-view")["left"]  # side by side, not over the input
    box_before = rect("#pv-box")
    page.keyboard.press("Alt+ArrowUp")
    page.keyboard.press("Alt+ArrowUp")
    assert page.inner_text("#pv-zoom") == "156%"
    box_zoomed = rect("#pv-box")
    assert box_zoomed["right"] - box_zoomed["left"] > 1.4 * (box_before["right"] - box_before["left"])
    port = rect("#pv-port")  # zoomed in, the view is centred on the current field
    assert port["left"] <= box_zoomed["left"] and box_zoomed["right"] <= port["right"] + 1
    page.keyboard.press("Alt+Shift+ArrowLeft")  # pan (towards whichever side has page left)
    page.keyboard.press("Alt+Shift+ArrowRight")
    page.keyboard.press("Alt+Shift+ArrowRight")
    page.keyboard.press("Alt+Shift+ArrowDown")
    moved = rect("#pv-box")
    assert (moved["left"], moved["top"]) != (box_zoomed["left"], box_zoomed["top"])  # panned
    page.mouse.move((port["left"] + port["right"]) / 2, (port["top"] + port["bottom"]) / 2)
    page.mouse.wheel(0, -200)  # the wheel zooms in further
    wait_until(page, "document.getElementById('pv-zoom').textContent === '195%'")
    assert active_id(page) == field  # the caret never left the field
    page.keyboard.press("Tab")  # another field: the outline follows it
    wait_until(page, "document.getElementById('pv-box').style.top !== ''")
    page.screenshot(path=str(screenshots / "page-view.png"))
    page.keyboard.press("Alt+0")
    assert page.inner_text("#pv-zoom") == "100%"
    page.keyboard.press("F2")
    assert page.is_hidden("#page-view")
    assert active_id(page).startswith("v")
    page.keyboard.press("Alt+a")  # the automatically accepted fields open, with their crops
    wait_until(page, "document.getElementById('accepted').open")
    wait_until(page, "Array.from(document.querySelectorAll('#accepted img')).every(i => i.complete "
                           "&& i.naturalWidth > 0)")
    page.keyboard.press("F4")
    assert page.is_visible("#reject-dialog")
    page.keyboard.press("ArrowDown")  # 判読できない
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with session_scope(store.factory) as s:
        doc = s.get(Document, d.id)
        assert doc is not None and doc.state == "rejected"
    assert "不備返戻にしました" in page.inner_text(".flashes")
    assert page.js_errors == []


def test_escalate_with_a_reason_by_keyboard_then_a_supervisor_answers(store: Store, live: LiveApp, new_page: Any,
                                                                       screenshots: Path) -> None:
    add_user(store.factory, "sv1", "supervisor")
    d = seed_document(store.factory, store.data_dir, form_id="jumin_idou", seed=105, n_misread=2)
    page = new_page()
    keyboard_login(page, live.url, "op1")
    page.goto(f"{live.url}/documents/{d.id}")
    page.keyboard.press("Alt+s")
    wait_until(page, "document.getElementById('escalate-dialog').open")
    assert active_id(page) == "escalate-reason"
    page.keyboard.type("転入元の住所が読めない")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with session_scope(store.factory) as s:
        doc = s.get(Document, d.id)
        assert doc is not None and doc.escalated_by == "op1" and doc.review_stage == "escalated"
    sv = new_page()
    keyboard_login(sv, live.url, "sv1")
    sv.goto(f"{live.url}/supervisor")
    assert "転入元の住所が読めない" in sv.inner_text("table.worklist")
    sv.screenshot(path=str(screenshots / "supervisor-escalated.png"))
    sv.click(f"a[href='/documents/{d.id}']")
    sv.wait_for_load_state("load")
    assert "相談（op1）" in sv.inner_text(".escalation")
    with sv.expect_navigation():
        sv.click("text=担当者に戻す")
    with session_scope(store.factory) as s:
        doc = s.get(Document, d.id)
        assert doc is not None and doc.escalated_by is None and doc.review_stage == "review"
    assert page.js_errors == [] and sv.js_errors == []


def test_f1_lists_every_key_over_the_page_and_returns_to_the_field(store: Store, live: LiveApp, new_page: Any,
                                                                   screenshots: Path) -> None:
    from jimu.review.document_routes import KEYS

    d = seed_document(store.factory, store.data_dir, form_id="jumin_idou", seed=104, n_misread=2)
    page = new_page()
    keyboard_login(page, live.url, "op1")
    page.goto(f"{live.url}/documents/{d.id}")
    field = active_id(page)
    assert field.startswith("v")
    page.keyboard.press("F1")
    wait_until(page, "document.getElementById('help-dialog').open")
    shown = page.inner_text("#help-dialog")
    assert all(k in shown and what in shown for k, what in KEYS)  # every key, Alt+A too
    page.screenshot(path=str(screenshots / "help-overlay.png"))
    page.keyboard.press("Escape")
    wait_until(page, "!document.getElementById('help-dialog').open")
    assert active_id(page) == field
    page.keyboard.press("F1")
    wait_until(page, "document.getElementById('help-dialog').open")
    page.keyboard.press("F1")
    wait_until(page, "!document.getElementById('help-dialog').open")
    assert page.js_errors == []


def test_blind_double_entry_of_a_restricted_field(store: Store, live: LiveApp, new_page: Any,
                                                  screenshots: Path) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="kaigo_nintei", seed=104)
    assert d.flagged == ["mynumber"]
    first = new_page()
    keyboard_login(first, live.url, "op1")
    first.goto(f"{live.url}/documents/{d.id}")
    assert first.input_value(f"#{field_input_id(store, d.id, 'mynumber')}") == d.read["mynumber"]
    first.keyboard.press("Enter")
    with first.expect_navigation():
        first.keyboard.press("F9")
    assert "二重入力" in first.inner_text(".flashes")
    assert wait_for_records(store, 1, timeout_s=0.5) == []

    second = new_page()
    keyboard_login(second, live.url, "op2")
    with second.expect_navigation():
        second.keyboard.press("Enter")  # the next document for op2 is the blind entry
    assert second.url.endswith(f"/documents/{d.id}")
    html = second.content()
    assert str(d.truth["mynumber"]) not in html and "見ないで入力" in html
    second.screenshot(path=str(screenshots / "second-entry.png"), full_page=True)
    number = str(d.truth["mynumber"])
    second.keyboard.type(f"{number[:4]} {number[4:8]} {number[8:]}", delay=10)
    second.keyboard.press("Enter")
    with second.expect_navigation():
        second.keyboard.press("Control+Enter")
    assert "一致しました" in second.inner_text(".flashes")
    [record] = wait_for_records(store, 1)
    assert record["fields"]["mynumber"] == number
    assert record["acceptance"]["mynumber"]["checked_by"] == "op2"
    assert first.js_errors == [] and second.js_errors == []


def test_supervisor_sees_the_differing_digits_and_takes_an_entry_with_one_key(store: Store, live: LiveApp,
                                                                               new_page: Any, screenshots: Path) -> None:
    from tests.test_review_flow import _another_valid_mynumber

    add_user(store.factory, "sv1", "supervisor")
    d = seed_document(store.factory, store.data_dir, form_id="kaigo_nintei", seed=106)
    truth = str(d.truth["mynumber"])
    other = _another_valid_mynumber(truth)
    pk = field_input_id(store, d.id, "mynumber")[1:]
    first = new_page()
    keyboard_login(first, live.url, "op1")
    first.goto(f"{live.url}/documents/{d.id}")
    first.fill(f"#v{pk}", truth)
    first.keyboard.press("Enter")
    with first.expect_navigation():
        first.keyboard.press("F9")
    second = new_page()
    keyboard_login(second, live.url, "op2")
    second.goto(f"{live.url}/documents/{d.id}")
    second.keyboard.type(other)
    second.keyboard.press("Enter")
    with second.expect_navigation():
        second.keyboard.press("Control+Enter")
    sv = new_page()
    keyboard_login(sv, live.url, "sv1")
    sv.goto(f"{live.url}/supervisor/documents/{d.id}")
    marked_first = "".join(sv.eval_on_selector_all("dd.diff.first mark", "ms => ms.map(m => m.textContent)"))
    marked_second = "".join(sv.eval_on_selector_all("dd.diff.second mark", "ms => ms.map(m => m.textContent)"))
    assert marked_first and marked_second  # the digits keyed differently are marked, the rest are not
    assert len(marked_first) < len(truth) and len(marked_second) < len(other)
    sv.screenshot(path=str(screenshots / "supervisor-diff.png"))
    assert active_id(sv) == f"d{pk}"
    sv.keyboard.press("Alt+2")  # take the second entry into the field
    assert sv.input_value(f"#d{pk}") == other
    sv.keyboard.press("Alt+1")
    assert sv.input_value(f"#d{pk}") == truth
    with sv.expect_navigation():
        sv.keyboard.press("Control+Enter")
    [record] = wait_for_records(store, 1)
    assert record["fields"]["mynumber"] == truth and record["acceptance"]["mynumber"]["checked_by"] == "sv1"
    assert first.js_errors == [] and second.js_errors == [] and sv.js_errors == []

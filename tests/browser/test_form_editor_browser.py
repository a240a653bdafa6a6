"""The form editor in real headless Chromium: load a city's form, change a field, save, reload."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jimu.store.db import dispose_engines
from tests.review_helpers import PASSWORD, Store, add_user, make_store
from tests.review_live import LiveApp, live_app

pytestmark = pytest.mark.browser
FOREIGN = Path(__file__).resolve().parents[1] / "resources" / "foreign"


@pytest.fixture
def city_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from jimu.extractors.templates import clear_caches
    from jimu.forms_schema.loader import clear_cache
    from jimu.settings import get_settings

    folder = tmp_path / "city-forms"
    shutil.copytree(FOREIGN, folder)
    monkeypatch.setenv("JIMU_FORMS_DIRS", str(folder))
    monkeypatch.setenv("JIMU_TEMPLATE_DISK_CACHE", "0")
    get_settings.cache_clear()
    clear_cache()
    clear_caches()
    yield folder
    monkeypatch.delenv("JIMU_FORMS_DIRS")
    get_settings.cache_clear()
    clear_cache()
    clear_caches()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = make_store(tmp_path / "data")
    add_user(st.factory, "admin1", "admin")
    add_user(st.factory, "op1", "operator")
    yield st
    dispose_engines()


@pytest.fixture
def live(store: Store, city_forms: Path) -> Iterator[LiveApp]:
    with live_app(store.settings, factory=store.factory) as app:
        yield app


def _login(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _wait_text(page: Any, selector: str, text: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in page.inner_text(selector):
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} never said {text!r}: {page.inner_text(selector)!r}")
        time.sleep(0.05)


def test_edit_a_field_save_and_reload(live: LiveApp, city_forms: Path, new_page: Any, screenshots: Path) -> None:
    from jimu.forms_schema.loader import load_form_file

    page = new_page()
    _login(page, live.url, "admin1")
    page.goto(f"{live.url}/forms")
    assert "shugaku_enjo" in page.inner_text("table.forms-list")
    page.goto(f"{live.url}/forms/shugaku_enjo/edit")
    page.wait_for_load_state("load")
    box = page.locator("#fbox-guardian_name")
    assert box.is_visible()
    page.screenshot(path=str(screenshots / "form-editor.png"), full_page=True)
    box.click()
    assert page.input_value("#ed-id") == "guardian_name"
    # keyboard: move the box right by 2 × 0.5 mm and make it 0.5 mm shorter (not into the field below)
    box.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowUp")
    assert page.input_value("#ed-x") == "21"
    page.fill("#ed-label", "申請者氏名")
    page.press("#ed-label", "Tab")  # change event
    page.check("#ed-required")
    page.keyboard.press("Control+s")
    _wait_text(page, "#ed-status", "保存しました")
    assert page.js_errors == []
    saved = load_form_file(city_forms / "shugaku_enjo.yaml")  # loads strictly
    f = next(x for x in saved.fields if x.id == "guardian_name")
    assert (f.label, f.box.x, f.box.h, f.required) == ("申請者氏名", 21.0, 11.5, True)
    page.reload()
    page.locator("#fbox-guardian_name").click()
    assert page.input_value("#ed-label") == "申請者氏名"


def test_a_definition_that_does_not_load_is_not_saved(live: LiveApp, city_forms: Path, new_page: Any) -> None:
    before = (city_forms / "shugaku_enjo.yaml").read_text(encoding="utf-8")
    page = new_page()
    _login(page, live.url, "admin1")
    page.goto(f"{live.url}/forms/shugaku_enjo/edit")
    page.locator("#fbox-phone").click()
    page.fill("#ed-y", "60")  # now overlaps 保護者氏名
    page.press("#ed-y", "Tab")
    page.click("#ed-save")
    _wait_text(page, "#ed-status", "overlaps")
    assert (city_forms / "shugaku_enjo.yaml").read_text(encoding="utf-8") == before


def test_only_an_admin_may_open_the_editor(live: LiveApp, new_page: Any) -> None:
    page = new_page()
    _login(page, live.url, "op1")
    r = page.goto(f"{live.url}/forms/shugaku_enjo/edit")
    assert r is not None and r.status == 403


def test_options_eras_and_the_title_are_edited_in_the_editor(live: LiveApp, city_forms: Path, new_page: Any,
                                                             screenshots: Path) -> None:
    """What the panel's inputs do not hold (options, cells, eras, table columns) is edited as JSON beside them."""
    import json

    from jimu.forms_schema.loader import load_form_file

    page = new_page()
    _login(page, live.url, "admin1")
    page.goto(f"{live.url}/forms/kokuho_todoke/edit")
    page.wait_for_load_state("load")
    page.fill("#ed-title", "国民健康保険 異動届（世帯）")
    page.press("#ed-title", "Tab")
    page.locator("#fbox-sex").click()
    more = json.loads(page.input_value("#ed-more"))
    assert [o["label"] for o in more["options"]] == ["男", "女"] and more["mark"] == "circle"
    page.fill("#ed-more", "{not json")
    page.press("#ed-more", "Tab")
    assert "読めません" in page.inner_text("#ed-more-error")
    more["options"][0]["label"] = "男性"
    page.fill("#ed-more", json.dumps(more, ensure_ascii=False))
    page.press("#ed-more", "Tab")
    assert page.inner_text("#ed-more-error") == ""
    page.screenshot(path=str(screenshots / "form-editor-detail.png"), full_page=True)
    page.keyboard.press("Control+s")
    _wait_text(page, "#ed-status", "保存しました")
    assert page.js_errors == []
    saved = load_form_file(city_forms / "kokuho_todoke.yaml")
    sex = next(f for f in saved.fields if f.id == "sex")
    assert saved.title == "国民健康保険 異動届（世帯）" and [o.label for o in sex.options] == ["男性", "女"]
    assert sex.options[0].box is not None  # the option keeps its own box
    page.reload()
    page.locator("#fbox-sex").click()
    assert json.loads(page.input_value("#ed-more"))["options"][0]["label"] == "男性"

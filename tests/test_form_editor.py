"""The form editor's server side: admin only, CSRF, saves only what loads strictly, Jimu's own forms read-only."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jimu.store.db import dispose_engines, session_scope
from jimu.store.models import AuditEntry
from tests.review_helpers import Store, add_user, csrf, login, make_client, make_store

FOREIGN = Path(__file__).resolve().parent / "resources" / "foreign"


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from jimu.extractors.templates import clear_caches
    from jimu.forms_schema.loader import clear_cache
    from jimu.settings import get_settings

    folder = tmp_path / "forms"
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
    add_user(st.factory, "sup1", "supervisor")
    yield st
    dispose_engines()


def _client(store: Store, name: str) -> Any:
    c = make_client(store)
    assert login(c, name).status_code == 303
    return c


def _definition(city: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((city / "shugaku_enjo.yaml").read_text(encoding="utf-8")))


def test_admin_saves_a_definition_that_loads(store: Store, city: Path) -> None:
    c = _client(store, "admin1")
    assert "shugaku_enjo" in c.get("/forms").text
    page = c.get("/forms/shugaku_enjo/edit")
    assert page.status_code == 200 and 'id="ed-definition"' in page.text
    assert c.get("/forms/shugaku_enjo/blank.png").headers["content-type"] == "image/png"
    d = _definition(city)
    d["fields"][0]["label"] = "申請者氏名"
    r = c.post("/api/forms/shugaku_enjo", content=json.dumps(d), headers={"X-CSRF-Token": csrf(c)})
    assert r.status_code == 200 and r.json()["ok"]
    assert _definition(city)["fields"][0]["label"] == "申請者氏名"
    with session_scope(store.factory) as s:
        assert s.query(AuditEntry).filter_by(action="form.save", actor="admin1").count() == 1


@pytest.mark.parametrize("breakage", ["overlap", "unknown_key", "bad_kind", "other_form_id"])
def test_a_definition_that_does_not_load_is_refused_and_nothing_written(store: Store, city: Path,
                                                                         breakage: str) -> None:
    c = _client(store, "admin1")
    before = (city / "shugaku_enjo.yaml").read_bytes()
    d = _definition(city)
    if breakage == "overlap":
        d["fields"][1]["box"]["y"] = d["fields"][0]["box"]["y"]
    elif breakage == "unknown_key":
        d["fields"][0]["colour"] = "red"
    elif breakage == "bad_kind":
        d["fields"][0]["kind"] = "signature"
    else:
        d["form_id"] = "inkan_toroku"
    r = c.post("/api/forms/shugaku_enjo", content=json.dumps(d), headers={"X-CSRF-Token": csrf(c)})
    assert r.status_code == 422 and not r.json()["ok"] and r.json()["error"]
    assert (city / "shugaku_enjo.yaml").read_bytes() == before


def test_jimus_own_forms_are_read_only_and_csrf_and_role_are_checked(store: Store, city: Path) -> None:
    c = _client(store, "admin1")
    assert c.get("/forms/inkan_toroku/edit").status_code == 200
    r = c.post("/api/forms/inkan_toroku", content=json.dumps({"form_id": "inkan_toroku"}),
               headers={"X-CSRF-Token": csrf(c)})
    assert r.status_code == 403
    assert c.post("/api/forms/shugaku_enjo", content=json.dumps(_definition(city))).status_code in (400, 403)
    sup = _client(store, "sup1")
    assert sup.get("/forms").status_code == 403

"""Form definitions: the five shipped forms load; broken definitions fail with a clear message."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from jimu.errors import FormSchemaError
from jimu.forms_schema import load_all_forms, load_form_file, parse_form
from jimu.forms_schema.loader import FORMS_DIR

FORM_IDS = ["inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"]


def raw(form_id: str) -> dict:
    return yaml.safe_load((FORMS_DIR / f"{form_id}.yaml").read_text(encoding="utf-8"))


def test_all_five_forms_load() -> None:
    assert sorted(load_all_forms()) == FORM_IDS


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_form_fields_inside_page_and_kinds(form_id: str) -> None:
    form = load_form_file(FORMS_DIR / f"{form_id}.yaml")
    leaves = form.leaf_fields()
    assert len({lf.id for lf in leaves}) == len(leaves)
    for lf in leaves:
        assert lf.entry.inside(210, 297), lf.id
    assert any(lf.required for lf in leaves)


def test_field_kinds_cover_the_issue() -> None:
    kinds = {lf.kind for f in load_all_forms().values() for lf in f.leaf_fields()}
    tables = [fld for f in load_all_forms().values() for fld in f.fields if fld.kind == "table"]
    assert {"text", "kana", "digits", "date", "single_choice", "multi_choice"} <= kinds
    assert tables, "at least one table field"


def test_restricted_fields() -> None:
    kodomo = load_all_forms()["kodomo_iryohi"]
    restricted = {lf.id for lf in kodomo.leaf_fields() if lf.sensitivity == "restricted"}
    assert {"guardian_mynumber", "bank_code", "branch_code", "account_number", "account_name"} <= restricted


def _break(form_id: str, mutate) -> dict:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(raw(form_id))
    mutate(data)
    return data


def _field(data: dict, fid: str) -> dict:
    return next(f for f in data["fields"] if f["id"] == fid)


BROKEN = {
    "unknown_top_key": (lambda d: d.update(colour="red"), "unknown key"),
    "unknown_field_key": (lambda d: _field(d, "phone").update(font_size=3), "field 'phone'"),
    "overlap": (lambda d: _field(d, "phone")["box"].update(x=100), "overlaps"),
    "outside_page": (lambda d: _field(d, "old_address")["box"].update(y=290), "outside the page"),
    "unknown_validator": (lambda d: _field(d, "phone").update(validators=["telephone"]), "unknown validator"),
    "unknown_kind": (lambda d: _field(d, "phone").update(kind="barcode"), "field 'phone'"),
    "digits_without_cells": (lambda d: _field(d, "new_zip").pop("cells"), "cells"),
    "choice_one_option": (lambda d: _field(d, "notice_kind").update(options=[{"id": "a", "label": "A"}]),
                          "at least two options"),
    "rule_unknown_field": (lambda d: d["rules"][0].update(fields=["nope"]), "unknown field 'nope'"),
    "rule_unknown_kind": (lambda d: d["rules"][0].update(kind="magic"), "unknown rule kind"),
    "duplicate_field": (lambda d: d["fields"].append(copy.deepcopy(d["fields"][0])), "used twice"),
    "date_too_narrow": (lambda d: _field(d, "move_date").update(eras=["meiji", "taisho", "showa", "heisei", "reiwa"],
                                                                  label_w=60), "field 'move_date'"),
    "bad_era": (lambda d: _field(d, "move_date").update(eras=["edo"]), "unknown era"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_definition_names_file_and_field(case: str) -> None:
    mutate, expected = BROKEN[case]
    data = _break("jumin_idou", mutate)
    with pytest.raises(FormSchemaError) as exc:
        parse_form(data, "jumin_idou.yaml")
    msg = str(exc.value)
    assert "jumin_idou.yaml" in msg
    assert expected in msg


def test_not_yaml(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("form_id: [unclosed\n")
    with pytest.raises(FormSchemaError, match="not valid YAML"):
        load_form_file(p)


def test_form_id_must_match_file_name(tmp_path: Path) -> None:
    p = tmp_path / "other.yaml"
    p.write_text(yaml.safe_dump(raw("inkan_toroku"), allow_unicode=True))
    with pytest.raises(FormSchemaError, match="does not match the file name"):
        load_form_file(p)


def _real_form_field(**over: object) -> dict:
    base = {"id": "f", "label": "番号", "kind": "digits", "box": {"x": 10, "y": 10, "w": 120, "h": 12},
            "label_w": 20, "cells": 4}
    return base | over


def test_digit_cells_may_be_wider_and_spaced_apart_on_a_real_form() -> None:
    from jimu.forms_schema.layout import digit_cells, entry_box
    from jimu.forms_schema.model import FormField

    f = FormField.model_validate(_real_form_field(cell_w=9.0, cell_pitch=12.0))
    cells = digit_cells(entry_box(f), 4, f.cell_w, f.cell_pitch)
    assert [round(c.x - cells[0].x, 3) for c in cells] == [0.0, 12.0, 24.0, 36.0]
    assert all(c.w == 9.0 for c in cells)
    with pytest.raises(ValueError):
        digit_cells(entry_box(f), 4, 9.0, 8.0)  # overlapping cells


def test_options_may_carry_their_own_boxes_stacked() -> None:
    from jimu.forms_schema.layout import option_boxes
    from jimu.forms_schema.model import FormField

    f = FormField.model_validate(_real_form_field(kind="single_choice", cells=None, mark="circle", options=[
        {"id": "male", "label": "男", "box": {"x": 35, "y": 10.5, "w": 8, "h": 5}},
        {"id": "female", "label": "女", "box": {"x": 35, "y": 16.0, "w": 8, "h": 5}}]))
    boxes = option_boxes(f.box, f.options, f.mark)
    assert [(o.id, b.y) for o, b in boxes] == [("male", 10.5), ("female", 16.0)]


def test_a_yaml_yes_no_id_gets_a_hint() -> None:
    import yaml

    from jimu.forms_schema.loader import parse_form

    data = yaml.safe_load(
        "form_id: t\nversion: 1\ntitle: t\ncode: c\nfields:\n"
        "  - {id: ok, label: 可否, kind: single_choice, box: {x: 10, y: 10, w: 80, h: 10},"
        " options: [{id: yes, label: はい}, {id: no, label: いいえ}]}\n")
    with pytest.raises(FormSchemaError, match=re.escape('put it in quotes, e.g. id: "no"')):
        parse_form(data, "t.yaml")


def test_a_date_may_have_its_eras_in_any_arrangement_and_free_areas_for_its_parts() -> None:
    from jimu.forms_schema.layout import date_layout, entry_box
    from jimu.forms_schema.model import FormField

    eras = {e: {"x": 40 + (i % 2) * 8, "y": 10 + (i // 2) * 8, "w": 7, "h": 7}
            for i, e in enumerate(("taisho", "showa", "heisei", "reiwa"))}
    f = FormField.model_validate({"id": "d", "label": "生年月日", "kind": "date", "box": {"x": 10, "y": 10, "w": 150, "h": 18},
                                  "eras": list(eras), "date_boxes": {"eras": eras, "year": {"x": 60, "y": 11, "w": 16, "h": 14},
                                  "month": {"x": 90, "y": 11, "w": 16, "h": 14}, "day": {"x": 120, "y": 11, "w": 16, "h": 14}}})
    lay = date_layout(entry_box(f), f.eras, f.date_boxes)
    assert [(e, b.x, b.y) for e, b in lay.eras] == [("taisho", 40, 10), ("showa", 48, 10), ("heisei", 40, 18), ("reiwa", 48, 18)]
    assert [c.x for c in lay.year] == [60, 68] and lay.units == []
    with pytest.raises(ValueError, match="must be the field's eras"):
        FormField.model_validate({**f.model_dump(), "eras": ["showa", "heisei"]})


def test_a_table_may_split_a_cell_into_furigana_and_name_and_have_rows_of_unequal_height() -> None:
    from jimu.forms_schema.layout import leaf_fields
    from jimu.forms_schema.loader import parse_form

    form = parse_form({"form_id": "t", "version": 1, "title": "t", "code": "c", "fields": [{
        "id": "members", "label": "世帯員", "kind": "table", "box": {"x": 10, "y": 50, "w": 120, "h": 60},
        "rows": 3, "header_h": 0, "row_heights": [20, 20, 14],
        "columns": [{"id": "kana", "label": "フリガナ", "kind": "kana", "width": 60, "reading_of": "name"},
                    {"id": "name", "label": "氏名", "kind": "text", "width": 60, "under": "kana", "height_share": 0.7},
                    {"id": "relation", "label": "続柄", "kind": "text", "width": 30}]}]}, "t.yaml")
    leaves = {lf.id: lf for lf in leaf_fields(form)}
    kana, name = leaves["members[0].kana"].entry, leaves["members[0].name"].entry
    assert (kana.x, kana.y, name.x) == (10, 50, 10)
    assert kana.h == pytest.approx(6.0) and name.y == pytest.approx(56.0) and name.h == pytest.approx(14.0)
    assert leaves["members[1].relation"].entry.y == 70 and leaves["members[2].relation"].entry.h == 14
    assert leaves["members[0].kana"].reading_of == "members[0].name"


@pytest.mark.parametrize(("change", "message"), [
    ({"under": "nothing"}, "must name a column"),
    ({"width": 50}, "must be as wide"),
])
def test_a_sub_row_column_is_checked(change: dict, message: str) -> None:
    from jimu.forms_schema.loader import parse_form

    name = {"id": "name", "label": "氏名", "kind": "text", "width": 60, "under": "kana"} | change
    with pytest.raises(FormSchemaError, match=message):
        parse_form({"form_id": "t", "version": 1, "title": "t", "code": "c", "fields": [{
            "id": "members", "label": "世帯員", "kind": "table", "box": {"x": 10, "y": 50, "w": 120, "h": 60}, "rows": 2,
            "columns": [{"id": "kana", "label": "フリガナ", "kind": "kana", "width": 60}, name]}]}, "t.yaml")

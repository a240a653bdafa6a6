from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from jimu.errors import FormSchemaError
from jimu.forms_schema.model import Rule
from jimu.validators.rules import RULE_KINDS, RuleResult, age_on, check_rule, check_rules, rule_param_problems

TODAY = date(2024, 6, 15)


def rule(kind: str, involved: list[str], severity: str = "error", **params: object) -> Rule:
    return Rule.model_validate(
        {
            "name": f"r_{kind}",
            "kind": kind,
            "fields": involved,
            "params": params,
            "severity": severity,
            "message": "m",
        }
    )


ORDER = rule("date_order", ["moved", "notified"], before="moved", after="notified")
LATE = rule("date_order", ["moved", "notified"], "note", before="moved", after="notified", max_days=14)
AGENT_REQUIRED = Rule.model_validate(
    {
        "name": "agent_required",
        "kind": "required_if",
        "fields": ["relation", "agent_name", "agent_address"],
        "params": {"field": "relation", "in": ["dairinin"]},
        "message": "代理人の氏名と住所を記入してください",
    }
)
AGENT_EMPTY = Rule.model_validate(
    {
        "name": "agent_empty",
        "kind": "empty_unless",
        "fields": ["relation", "agent_name"],
        "params": {"field": "relation", "in": ["dairinin"]},
        "message": "m",
    }
)
MYNUMBER_OPTION = Rule.model_validate(
    {
        "name": "mynumber_only_self",
        "kind": "option_allowed_if",
        "fields": ["items", "relation"],
        "params": {
            "field": "items",
            "option": "kojin_bango",
            "when_field": "relation",
            "in": ["honnin", "setai"],
        },
        "message": "m",
    }
)
ADULT15 = rule("age_range", ["birth", "applied"], birth="birth", on="applied", min=15)
CHILD = rule("age_range", ["birth", "applied"], birth="birth", at="applied", max=17)  # 'at' = 'on'
AGE_40_64 = rule("age_range", ["birth", "applied"], birth="birth", on="applied", min=40, max=64)
COUNTS = rule("at_least_one_positive", ["copies", "certs"], fields=["copies", "certs"])
ZIP = Rule.model_validate(
    {
        "name": "zip_matches",
        "kind": "zip_matches_address",
        "fields": ["zip", "address", "kind"],
        "params": {"zip": "zip", "address": "address", "when_field": "kind", "in": ["tennyu", "tenkyo"]},
        "message": "m",
    }
)
ZIP_ALWAYS = rule("zip_matches_address", ["zip", "address"], zip="zip", address="address")
IN_CHIBA = Rule.model_validate(
    {
        "name": "in_chiba",
        "kind": "address_in_chiba",
        "fields": ["address", "kind"],
        "params": {"address": "address", "when_field": "kind", "in": ["tennyu", "tenkyo"]},
        "message": "m",
    }
)
BANK = rule("bank_branch_exists", ["bank", "branch"], bank="bank", branch="branch")
HOUSEHOLDER = rule(
    "one_householder", ["members", "householder"], table="members", column="relation", value="世帯主",
    alt_field="householder",
)  # fmt: skip
BIRTHS_PAST = rule("table_dates_past", ["members"], table="members", column="birth")
FILED = rule("intake_window", ["applied"], field="applied", max_days=31)


def members(*relations: str | None, births: tuple[str | None, ...] = ()) -> dict[str, object]:
    out: dict[str, object] = {}
    for i in range(4):
        rel = relations[i] if i < len(relations) else None
        out[f"members[{i}].relation"] = rel
        out[f"members[{i}].name"] = "氏名" if rel else None
        out[f"members[{i}].birth"] = births[i] if i < len(births) else None
    return out


HOLDS: list[tuple[Rule, dict[str, object]]] = [
    (ORDER, {"moved": "2024-06-01", "notified": "2024-06-10"}),
    (ORDER, {"moved": "2024-06-10", "notified": "2024-06-10"}),
    (ORDER, {"moved": None, "notified": "2024-06-10"}),  # cannot judge
    (ORDER, {"moved": "2024-13-01", "notified": "2024-06-10"}),  # unreadable date: cannot judge
    (LATE, {"moved": "2024-06-01", "notified": "2024-06-15"}),  # exactly 14 days
    (LATE, {"moved": "2024-06-10", "notified": "2024-06-01"}),  # order is ORDER's business
    (AGENT_REQUIRED, {"relation": "dairinin", "agent_name": "代理太郎", "agent_address": "千葉市"}),
    (AGENT_REQUIRED, {"relation": "honnin", "agent_name": None, "agent_address": None}),
    (AGENT_REQUIRED, {"relation": None}),
    (AGENT_EMPTY, {"relation": "dairinin", "agent_name": "代理太郎"}),
    (AGENT_EMPTY, {"relation": "honnin", "agent_name": None}),
    (AGENT_EMPTY, {"relation": None, "agent_name": "代理太郎"}),  # cannot judge
    (MYNUMBER_OPTION, {"items": ["kojin_bango", "setainushi"], "relation": "honnin"}),
    (MYNUMBER_OPTION, {"items": ["kojin_bango"], "relation": "setai"}),
    (MYNUMBER_OPTION, {"items": ["setainushi"], "relation": "dairinin"}),
    (MYNUMBER_OPTION, {"items": [], "relation": "dairinin"}),
    (MYNUMBER_OPTION, {"items": ["kojin_bango"], "relation": None}),
    (ADULT15, {"birth": "2009-06-15", "applied": "2024-06-15"}),  # 15th birthday
    (ADULT15, {"birth": "1950-01-01", "applied": "2024-06-15"}),
    (ADULT15, {"birth": None, "applied": "2024-06-15"}),
    (CHILD, {"birth": "2006-06-16", "applied": "2024-06-15"}),  # 17, turns 18 tomorrow
    (CHILD, {"birth": "2024-01-01", "applied": "2024-06-15"}),
    (AGE_40_64, {"birth": "1984-06-15", "applied": "2024-06-15"}),
    (AGE_40_64, {"birth": "1959-06-16", "applied": "2024-06-15"}),  # 64
    (COUNTS, {"copies": "01", "certs": None}),
    (COUNTS, {"copies": "0", "certs": 2}),
    (COUNTS, {"copies": "0", "certs": "1O"}),  # unreadable count: cannot judge
    (ZIP, {"kind": "tennyu", "zip": "2600013", "address": "千葉市中央区中央3丁目4番5号"}),
    (ZIP, {"kind": "tenshutsu", "zip": "1000001", "address": "千葉市中央区中央3丁目4番5号"}),
    (ZIP, {"kind": "tennyu", "zip": None, "address": "千葉市中央区中央3丁目4番5号"}),
    (ZIP_ALWAYS, {"zip": "1000001", "address": "東京都千代田区千代田1-1"}),
    (IN_CHIBA, {"kind": "tenkyo", "address": "千葉市中央区中央三丁目4-5"}),
    (IN_CHIBA, {"kind": "tenshutsu", "address": "東京都千代田区千代田1-1"}),
    (IN_CHIBA, {"kind": "tennyu", "address": None}),
    (BANK, {"bank": "0001", "branch": "001"}),
    (BANK, {"bank": "0001", "branch": None}),
    (HOUSEHOLDER, {**members("世帯主", "妻", "子"), "householder": None}),
    (HOUSEHOLDER, {**members("子"), "householder": "千葉太郎"}),
    (HOUSEHOLDER, {**members("世帯主"), "householder": "千葉太郎"}),
    (HOUSEHOLDER, {**members(), "householder": None}),  # empty table: nothing to judge
    (BIRTHS_PAST, members("世帯主", "子", births=("1970-03-07", "2024-06-14"))),
    (BIRTHS_PAST, members("世帯主", births=("not a date",))),
    (FILED, {"applied": "2024-06-15"}),  # the batch's own day
    (FILED, {"applied": "2024-05-15"}),  # 31 days before
    (FILED, {"applied": None}),
]

FAILS: list[tuple[Rule, dict[str, object], tuple[str, ...]]] = [
    (ORDER, {"moved": "2024-06-11", "notified": "2024-06-10"}, ("moved", "notified")),
    (LATE, {"moved": "2024-06-01", "notified": "2024-06-16"}, ("moved", "notified")),
    (
        AGENT_REQUIRED,
        {"relation": "dairinin", "agent_name": "代理太郎", "agent_address": None},
        ("agent_address",),
    ),
    (AGENT_REQUIRED, {"relation": "dairinin"}, ("agent_name", "agent_address")),
    (AGENT_EMPTY, {"relation": "honnin", "agent_name": "代理太郎"}, ("agent_name",)),
    (MYNUMBER_OPTION, {"items": ["kojin_bango"], "relation": "dairinin"}, ("items", "relation")),
    (ADULT15, {"birth": "2009-06-16", "applied": "2024-06-15"}, ("birth", "applied")),  # 14
    (CHILD, {"birth": "2006-06-15", "applied": "2024-06-15"}, ("birth", "applied")),  # 18 today
    (AGE_40_64, {"birth": "1984-06-16", "applied": "2024-06-15"}, ("birth", "applied")),  # 39
    (AGE_40_64, {"birth": "1959-06-15", "applied": "2024-06-15"}, ("birth", "applied")),  # 65
    (COUNTS, {"copies": "00", "certs": 0}, ("copies", "certs")),
    (COUNTS, {"copies": None, "certs": None}, ("copies", "certs")),
    (ZIP, {"kind": "tennyu", "zip": "2600014", "address": "千葉市中央区中央3丁目4番5号"}, ("zip", "address")),
    (ZIP_ALWAYS, {"zip": "1000001", "address": "東京都港区芝公園4-2-8"}, ("zip", "address")),
    (IN_CHIBA, {"kind": "tennyu", "address": "東京都千代田区千代田1-1"}, ("address",)),
    (IN_CHIBA, {"kind": "tenkyo", "address": "千葉市中央区中央9丁目1番"}, ("address",)),
    (BANK, {"bank": "0001", "branch": "999"}, ("branch",)),
    (BANK, {"bank": "9999", "branch": "001"}, ("bank", "branch")),
    (
        HOUSEHOLDER,
        {**members("世帯主", "世帯主"), "householder": None},
        ("members[0].relation", "members[1].relation"),
    ),
    (
        HOUSEHOLDER,
        {**members("妻", "子"), "householder": None},
        (
            "members[0].relation",
            "members[1].relation",
            "members[2].relation",
            "members[3].relation",
            "householder",
        ),
    ),
    (
        BIRTHS_PAST,
        members("世帯主", "子", "子", births=("1970-03-07", "2024-06-15", "2030-01-01")),
        ("members[1].birth", "members[2].birth"),
    ),
    (FILED, {"applied": "2024-05-14"}, ("applied",)),  # 32 days before the batch
    (FILED, {"applied": "2024-06-16"}, ("applied",)),  # after the batch's day
]


def test_every_kind_is_tested_both_ways() -> None:
    assert {r.kind for r, _ in HOLDS} == set(RULE_KINDS)
    assert {r.kind for r, _, _ in FAILS} == set(RULE_KINDS)


@pytest.mark.parametrize(("r", "values"), HOLDS, ids=[f"{r.name}-{i}" for i, (r, _) in enumerate(HOLDS)])
def test_rule_holds(r: Rule, values: dict[str, object]) -> None:
    assert check_rule(r, values, TODAY) is None


@pytest.mark.parametrize(("r", "values", "fields"), FAILS, ids=[f"{r.name}-{i}" for i, (r, _, _) in enumerate(FAILS)])
def test_rule_fails(r: Rule, values: dict[str, object], fields: tuple[str, ...]) -> None:
    result = check_rule(r, values, TODAY)
    assert result == RuleResult(r.name, fields, r.message, r.severity)


def test_late_notice_is_a_note() -> None:
    result = check_rule(LATE, {"moved": "2024-05-01", "notified": "2024-06-15"}, TODAY)
    assert result is not None and result.severity == "note"


def test_table_dates_past_uses_today_by_default() -> None:
    assert check_rule(BIRTHS_PAST, members("子", births=("2999-01-01",))) is not None
    assert check_rule(BIRTHS_PAST, members("子", births=("1999-01-01",))) is None


def test_check_rules_lists_failures_in_order() -> None:
    values = {"moved": "2024-06-11", "notified": "2024-06-10", "copies": "0", "certs": None}
    out = check_rules([ORDER, COUNTS, LATE], values, TODAY)
    assert [r.name for r in out] == [ORDER.name, COUNTS.name]
    assert check_rules([], values, TODAY) == []


def test_unknown_kind() -> None:
    with pytest.raises(FormSchemaError):
        check_rule(rule("no_such_kind", ["a"]), {}, TODAY)


def test_missing_param() -> None:
    with pytest.raises(FormSchemaError, match="before"):
        check_rule(rule("date_order", ["a"], after="a"), {"a": "2024-01-01"}, TODAY)


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2000, 6, 15), date(2024, 6, 15), 24),
        (date(2000, 6, 15), date(2024, 6, 14), 23),
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2023, 2, 28), 22),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


def test_required_if_with_table_field() -> None:
    r = Rule.model_validate(
        {
            "name": "members_needed",
            "kind": "required_if",
            "fields": ["kind", "members"],
            "params": {"field": "kind", "in": ["tennyu"]},
            "message": "m",
        }
    )
    assert check_rule(r, {"kind": "tennyu", **members("世帯主")}, TODAY) is None
    assert check_rule(r, {"kind": "tennyu", **members()}, TODAY) is not None


def _shipped_rules() -> list[tuple[str, Rule]]:
    from jimu.forms_schema.loader import FORMS_DIR, load_all_forms

    return [(form.form_id, r) for form in load_all_forms(FORMS_DIR).values() for r in form.rules]


SHIPPED_RULES = _shipped_rules()


def test_the_shipped_forms_have_rules() -> None:
    assert len({form_id for form_id, _ in SHIPPED_RULES}) == 5


@pytest.mark.parametrize(("form_id", "r"), SHIPPED_RULES, ids=[f"{f}:{r.name}" for f, r in SHIPPED_RULES])
def test_shipped_form_rules_are_well_formed(form_id: str, r: Rule) -> None:
    """Every rule in jimu/forms_schema/*.yaml has the params its kind reads, and can be run."""
    assert rule_param_problems(r) == []
    check_rule(r, {f: None for f in r.fields}, TODAY)  # runs on empty values without raising


@pytest.mark.parametrize(("r", "_values"), HOLDS)
def test_test_rules_are_well_formed(r: Rule, _values: object) -> None:
    assert rule_param_problems(r) == []


@pytest.mark.parametrize(
    ("kind", "involved", "params", "problem"),
    [
        ("date_order", ["a", "b"], {"after": "b"}, "'before' is missing"),
        ("date_order", ["a", "b"], {"before": "a", "after": "b", "max_days": "14"}, "'max_days' must be int"),
        ("date_order", ["a"], {"before": "a", "after": "b"}, "field 'b' is not in the rule's fields"),
        ("required_if", ["a", "b"], {"field": "a", "in": "x"}, "'in' must be list"),
        ("address_in_chiba", ["a", "k"], {"address": "a", "when_field": "k"}, "'in' is missing"),
        ("age_range", ["b", "d"], {"birth": "b", "on": "d", "mni": 3}, "unknown parameter 'mni'"),
        ("no_such", ["a"], {}, "unknown rule kind"),
    ],
)
def test_rule_param_problems(kind: str, involved: list[str], params: dict[str, object], problem: str) -> None:
    r = Rule(name="x", kind=kind, fields=involved, params=params, message="m")
    assert any(problem in p for p in rule_param_problems(r))


def _jumin_idou_with(rule_name: str, **params: object) -> dict:
    import copy

    import yaml

    from jimu.forms_schema.loader import FORMS_DIR

    data = yaml.safe_load((FORMS_DIR / "jumin_idou.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    r = next(r for r in data["rules"] if r["name"] == rule_name)
    r["params"] = {k: v for k, v in (r["params"] | params).items() if v is not None}
    return data


@pytest.mark.parametrize(
    ("rule_name", "params", "problem"),
    [
        pytest.param("late_notice", {"max_days": "14"}, "parameter 'max_days' must be int", id="int-as-text"),
        pytest.param("late_notice", {"max_days": True}, "parameter 'max_days' must be int", id="bool-as-int"),
        pytest.param("move_before_notice", {"before": None}, "parameter 'before' is missing", id="missing"),
        pytest.param("move_before_notice", {"befor": "move_date"}, "unknown parameter 'befor'", id="misspelt"),
        pytest.param("move_before_notice", {"before": "birth_date"},
                     "field 'birth_date' is not in the rule's fields", id="field-not-in-rule"),
        pytest.param("new_address_in_chiba", {"in": None}, "parameter 'in' is missing", id="when-without-in"),
        pytest.param("new_address_in_chiba", {"in": "tennyu"}, "parameter 'in' must be list", id="in-not-a-list"),
        pytest.param("births_in_past", {"column": 3}, "parameter 'column' must be text", id="column-not-text"),
    ],
)
def test_a_bad_rule_parameter_fails_the_form_load(rule_name: str, params: dict[str, object], problem: str) -> None:
    from jimu.forms_schema import parse_form

    data = _jumin_idou_with(rule_name, **params)
    with pytest.raises(FormSchemaError) as exc:
        parse_form(data, "jumin_idou.yaml")
    msg = str(exc.value)
    assert msg.startswith("jumin_idou.yaml: ")
    assert f"rule '{rule_name}'" in msg
    assert problem in msg


def test_a_bad_rule_parameter_in_a_yaml_file_is_a_load_error(tmp_path: Path) -> None:
    import yaml

    from jimu.forms_schema import load_form_file

    path = tmp_path / "jumin_idou.yaml"
    path.write_text(yaml.safe_dump(_jumin_idou_with("late_notice", max_days="two weeks"), allow_unicode=True),
                    encoding="utf-8")
    with pytest.raises(FormSchemaError, match=r"jumin_idou\.yaml: rule 'late_notice' \(date_order\): "
                                              r"parameter 'max_days' must be int"):
        load_form_file(path)


def test_the_unchanged_form_loads() -> None:
    from jimu.forms_schema import parse_form

    assert parse_form(_jumin_idou_with("late_notice"), "jumin_idou.yaml").form_id == "jumin_idou"

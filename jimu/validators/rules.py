"""Cross-field rule kinds (``forms_schema`` ``Rule.kind``) and how to check them.

``values`` maps leaf field ids (table cells: ``members[0].birth``) to canonical values:
ISO date strings, option ids, bools, sorted lists (multi choice), None when empty.
Each kind returns None when the rule holds *or cannot be judged* (an input it needs is
empty or unreadable), else the ids of the fields at fault.  A missing key counts as empty;
a checkbox that is False counts as empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from jimu.errors import FormSchemaError
from jimu.forms_schema.model import Rule
from jimu.validators import field_checks, masters
from jimu.validators.japanese import digits_only

Values = Mapping[str, object]
Outcome = tuple[str, ...] | None  # None: holds / cannot judge; else the fields at fault (may be empty)
RuleKind = Callable[[Rule, Values, date], Outcome]


@dataclass(frozen=True)
class RuleResult:
    name: str
    fields: tuple[str, ...]
    message: str
    severity: str  # "error" | "note"


# ---------------------------------------------------------------- helpers


def is_empty(value: object) -> bool:
    return value is None or value is False or (isinstance(value, str | list | tuple) and not value)


def _cells(values: Values, table: str, column: str | None = None) -> list[tuple[int, str]]:
    """(row, leaf id) of the table's cells present in ``values``, sorted by row."""
    col = re.escape(column) if column else r"[a-z0-9_]+"
    pat = re.compile(rf"^{re.escape(table)}\[(\d+)\]\.{col}$")
    found = [(int(m.group(1)), k) for k in values if (m := pat.match(k))]
    return sorted(found)


def is_filled(values: Values, fid: str) -> bool:
    """A leaf is filled when non-empty; a table id is filled when any of its cells is."""
    if fid in values:
        return not is_empty(values[fid])
    return any(not is_empty(values[k]) for _, k in _cells(values, fid))


def _param(rule: Rule, key: str) -> object:
    if key not in rule.params:
        raise FormSchemaError(f"rule '{rule.name}': parameter '{key}' is missing")
    return rule.params[key]


def _str_param(rule: Rule, key: str, default: str | None = None) -> str:
    v = rule.params.get(key, default)
    if not isinstance(v, str):
        raise FormSchemaError(f"rule '{rule.name}': parameter '{key}' must be a field id or text")
    return v


def _opt_str_param(rule: Rule, key: str) -> str | None:
    return _str_param(rule, key) if rule.params.get(key) is not None else None


def _list_param(rule: Rule, key: str) -> list[object]:
    v = _param(rule, key)
    if not isinstance(v, list):
        raise FormSchemaError(f"rule '{rule.name}': parameter '{key}' must be a list")
    return v


def _opt_int_param(rule: Rule, key: str) -> int | None:
    v = rule.params.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise FormSchemaError(f"rule '{rule.name}': parameter '{key}' must be a whole number")
    return v


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _as_count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = digits_only(value)
        return int(s) if s.isascii() and s.isdigit() else None
    return None


def _matches(value: object, allowed: Sequence[object]) -> bool:
    """Single value in ``allowed``, or (multi choice) any of its options in ``allowed``."""
    if isinstance(value, list | tuple):
        return any(v in allowed for v in value)
    return value in allowed


def _condition(rule: Rule, values: Values, field_key: str = "field", in_key: str = "in") -> bool | None:
    """Whether the rule's condition holds; None when the condition field is empty."""
    fid = _str_param(rule, field_key)
    value = values.get(fid)
    if is_empty(value):
        return None
    return _matches(value, _list_param(rule, in_key))


def _optional_condition(rule: Rule, values: Values) -> bool | None:
    """``when_field``/``in``: True when absent; None when the condition field is empty."""
    if rule.params.get("when_field") is None:
        return True
    return _condition(rule, values, "when_field", "in")


def age_on(birth: date, on: date) -> int:
    """Age in full years on ``on`` (ordinary reckoning: the birthday itself adds the year)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# ---------------------------------------------------------------- rule kinds


def date_order(rule: Rule, values: Values, today: date) -> Outcome:
    """``before`` ≤ ``after``; with ``max_days``, instead: ``after`` − ``before`` ≤ ``max_days``."""
    b_id, a_id = _str_param(rule, "before"), _str_param(rule, "after")
    b, a = _as_date(values.get(b_id)), _as_date(values.get(a_id))
    if b is None or a is None:
        return None
    max_days = _opt_int_param(rule, "max_days")
    if max_days is not None:
        return (b_id, a_id) if (a - b).days > max_days else None
    return (b_id, a_id) if b > a else None


def required_if(rule: Rule, values: Values, today: date) -> Outcome:
    cond_id = _str_param(rule, "field")
    if not _condition(rule, values):
        return None
    missing = tuple(f for f in rule.fields if f != cond_id and not is_filled(values, f))
    return missing or None


def empty_unless(rule: Rule, values: Values, today: date) -> Outcome:
    cond_id = _str_param(rule, "field")
    if _condition(rule, values) is not False:
        return None
    filled = tuple(f for f in rule.fields if f != cond_id and is_filled(values, f))
    return filled or None


def option_allowed_if(rule: Rule, values: Values, today: date) -> Outcome:
    fid, option = _str_param(rule, "field"), _param(rule, "option")
    value = values.get(fid)
    ticked = option in value if isinstance(value, list | tuple) else value == option
    if not ticked:
        return None
    cond = _condition(rule, values, "when_field", "in")
    return (fid, _str_param(rule, "when_field")) if cond is False else None


def age_range(rule: Rule, values: Values, today: date) -> Outcome:
    """Age in full years on ``on`` (alias ``at``) within [``min``, ``max``] (either may be absent)."""
    b_id = _str_param(rule, "birth")
    on_id = _str_param(rule, "on" if "on" in rule.params else "at")
    birth, on = _as_date(values.get(b_id)), _as_date(values.get(on_id))
    if birth is None or on is None:
        return None
    age = age_on(birth, on)
    lo, hi = _opt_int_param(rule, "min"), _opt_int_param(rule, "max")
    if (lo is not None and age < lo) or (hi is not None and age > hi):
        return (b_id, on_id)
    return None


def at_least_one_positive(rule: Rule, values: Values, today: date) -> Outcome:
    """At least one count ≥ 1 (an empty count is 0; an unreadable one makes it unjudgeable)."""
    raw = rule.params.get("fields", rule.fields)
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise FormSchemaError(f"rule '{rule.name}': parameter 'fields' must be a list of field ids")
    fids = [str(f) for f in raw]
    unreadable = False
    for f in fids:
        v = values.get(f)
        if is_empty(v):
            continue
        n = _as_count(v)
        if n is None:
            unreadable = True
        elif n >= 1:
            return None
    return None if unreadable else tuple(fids)


def zip_matches_address(rule: Rule, values: Values, today: date) -> Outcome:
    z_id, a_id = _str_param(rule, "zip"), _str_param(rule, "address")
    if not _optional_condition(rule, values):
        return None
    z, addr = values.get(z_id), values.get(a_id)
    if not isinstance(z, str) or not isinstance(addr, str) or not z or not addr:
        return None
    return None if masters.zip_matches_address(z, addr) else (z_id, a_id)


def address_in_chiba(rule: Rule, values: Values, today: date) -> Outcome:
    a_id = _str_param(rule, "address")
    if not _optional_condition(rule, values):
        return None
    addr = values.get(a_id)
    if is_empty(addr):
        return None
    return (a_id,) if field_checks.chiba_address(addr) is not None else None


def bank_branch_exists(rule: Rule, values: Values, today: date) -> Outcome:
    bank_id, branch_id = _str_param(rule, "bank"), _str_param(rule, "branch")
    bank, branch = values.get(bank_id), values.get(branch_id)
    if not isinstance(bank, str) or not isinstance(branch, str) or not bank or not branch:
        return None
    if not masters.bank_exists(bank):
        return (bank_id, branch_id)
    return None if masters.branch_exists(bank, branch) else (branch_id,)


def one_householder(rule: Rule, values: Values, today: date) -> Outcome:
    """Exactly one row says 世帯主, or none does and ``alt_field`` (世帯主氏名) is filled."""
    table, column = _str_param(rule, "table"), _str_param(rule, "column")
    marker = _str_param(rule, "value", "世帯主")
    alt = _opt_str_param(rule, "alt_field")
    cells = _cells(values, table, column)
    hits = tuple(k for _, k in cells if values[k] == marker)
    alt_filled = alt is not None and is_filled(values, alt)
    if len(hits) == 1 or (not hits and alt_filled):
        return None
    if not hits and not is_filled(values, table):
        return None  # nothing to judge
    return hits if hits else tuple(k for _, k in cells) + ((alt,) if alt else ())


def table_dates_past(rule: Rule, values: Values, today: date) -> Outcome:
    table, column = _str_param(rule, "table"), _str_param(rule, "column")
    bad = []
    for _, k in _cells(values, table, column):
        d = _as_date(values[k])
        if d is not None and d >= today:
            bad.append(k)
    return tuple(bad) or None


def intake_window(rule: Rule, values: Values, today: date) -> Outcome:
    """A filing date (届出日・申請日) within the batch's intake window: not after the batch's day,
    and at most ``max_days`` (default 31) before it."""
    fid = _str_param(rule, "field")
    d = _as_date(values.get(fid))
    if d is None:
        return None
    max_days = _opt_int_param(rule, "max_days")
    window = 31 if max_days is None else max_days
    return None if 0 <= (today - d).days <= window else (fid,)


RULE_KINDS: dict[str, RuleKind] = {
    "date_order": date_order,
    "required_if": required_if,
    "empty_unless": empty_unless,
    "option_allowed_if": option_allowed_if,
    "age_range": age_range,
    "at_least_one_positive": at_least_one_positive,
    "zip_matches_address": zip_matches_address,
    "address_in_chiba": address_in_chiba,
    "bank_branch_exists": bank_branch_exists,
    "one_householder": one_householder,
    "table_dates_past": table_dates_past,
    "intake_window": intake_window,
}


# What each kind reads from ``params``: "field" (a field id that should also be in ``rule.fields``),
# "fields" (list of such ids), "list", "int", "text", "any"; a trailing "?" marks it optional.
PARAM_SPECS: dict[str, dict[str, str]] = {
    "date_order": {"before": "field", "after": "field", "max_days": "int?"},
    "required_if": {"field": "field", "in": "list"},
    "empty_unless": {"field": "field", "in": "list"},
    "option_allowed_if": {"field": "field", "option": "any", "when_field": "field", "in": "list"},
    "age_range": {"birth": "field", "on": "field", "min": "int?", "max": "int?"},
    "at_least_one_positive": {"fields": "fields?"},
    "zip_matches_address": {"zip": "field", "address": "field", "when_field": "field?", "in": "list?"},
    "address_in_chiba": {"address": "field", "when_field": "field?", "in": "list?"},
    "bank_branch_exists": {"bank": "field", "branch": "field"},
    "one_householder": {"table": "field", "column": "text", "value": "text?", "alt_field": "field?"},
    "table_dates_past": {"table": "field", "column": "text"},
    "intake_window": {"field": "field", "max_days": "int?"},
}


def rule_param_problems(rule: Rule) -> list[str]:
    """What is wrong with a rule's ``params`` for its kind (empty when fine); for form checks."""
    spec = PARAM_SPECS.get(rule.kind)
    if spec is None:
        return [f"unknown rule kind '{rule.kind}'"]
    params = dict(rule.params)
    if rule.kind == "age_range" and "at" in params and "on" not in params:
        params["on"] = params.pop("at")
    problems = [f"unknown parameter '{k}'" for k in params if k not in spec]
    for key, kind in spec.items():
        optional = kind.endswith("?")
        kind = kind.rstrip("?")
        v = params.get(key)
        if v is None:
            if not optional:
                problems.append(f"parameter '{key}' is missing")
            continue
        ok = {
            "field": isinstance(v, str),
            "text": isinstance(v, str),
            "int": isinstance(v, int) and not isinstance(v, bool),
            "list": isinstance(v, list),
            "fields": isinstance(v, list) and all(isinstance(x, str) for x in v),
            "any": True,
        }[kind]
        if not ok:
            problems.append(f"parameter '{key}' must be {'a field id' if kind == 'field' else kind}")
            continue
        ids: list[object] = [v] if kind == "field" else list(v) if isinstance(v, list) and kind == "fields" else []
        problems += [f"parameter '{key}': field '{f}' is not in the rule's fields" for f in ids if f not in rule.fields]
    if params.get("when_field") is not None and params.get("in") is None:
        problems.append("parameter 'in' is missing")
    return problems


# ---------------------------------------------------------------- entry points


def check_rule(rule: Rule, values: Values, today: date | None = None) -> RuleResult | None:
    """None when the rule holds or cannot be judged, else what failed (message from the form)."""
    kind = RULE_KINDS.get(rule.kind)
    if kind is None:
        raise FormSchemaError(f"rule '{rule.name}': unknown rule kind '{rule.kind}'")
    outcome = kind(rule, values, today or date.today())
    if outcome is None:
        return None
    return RuleResult(rule.name, outcome or tuple(rule.fields), rule.message, rule.severity)


def check_rules(form_rules: Iterable[Rule], values: Values, today: date | None = None) -> list[RuleResult]:
    """Every failed rule, in order."""
    day = today or date.today()
    return [r for rule in form_rules if (r := check_rule(rule, values, day)) is not None]

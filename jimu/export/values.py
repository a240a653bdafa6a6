"""A record's value as one CSV cell: dates (ISO or 和暦), code tables for choices, text as it is.

A value that cannot be written as its column says (not a date, an option without a code, a value of
an unexpected type) is a :class:`CellProblem`: the record goes to the needs-attention file, and the
problem is named by record id, field id and what went wrong — never by the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from jimu.forms_schema.export_model import ResolvedColumn
from jimu.validators.japanese import ERA_BY_ID, WarekiError, date_to_wareki


class CellProblem(Exception):
    """Why a value cannot be written: ``not_a_date``, ``no_code`` or ``unexpected_value``."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def wareki(d: dt.date) -> str:
    """``2026-11-20`` → ``令和8年11月20日`` (the first year of an era is written 1年, for machines)."""
    era, year, month, day = date_to_wareki(d)
    return f"{ERA_BY_ID[era].name}{year}年{month}月{day}日"


def _date(value: Any, style: str) -> str:
    if not isinstance(value, str):
        raise CellProblem("not_a_date")
    try:
        d = dt.date.fromisoformat(value)
        return d.isoformat() if style == "iso" else wareki(d)
    except (ValueError, WarekiError):
        raise CellProblem("not_a_date") from None


def _code(codes: Mapping[str, str] | None, option: str) -> str:
    if codes is None:
        return option
    if option not in codes:
        raise CellProblem("no_code")
    return codes[option]


def cell(col: ResolvedColumn, value: Any, separator: str) -> str:
    """The text written for ``value`` in ``col`` (``None`` and an empty value: an empty cell)."""
    if value is None or value == "" or value == []:
        return "" if col.kind != "checkbox" else cell(col, False, separator)
    codes = dict(col.codes) if col.codes is not None else None
    if col.kind == "date":
        return _date(value, col.date_style)
    if col.kind == "checkbox":
        if not isinstance(value, bool):
            raise CellProblem("unexpected_value")
        return _code(codes, "true" if value else "false") if codes is not None else ("1" if value else "0")
    if col.kind == "single_choice":
        if not isinstance(value, str):
            raise CellProblem("unexpected_value")
        return _code(codes, value)
    if col.kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CellProblem("unexpected_value")
        order = [o for o, _ in col.codes] if col.codes is not None else sorted(value)
        known = [v for v in order if v in value] + sorted(v for v in value if v not in order)
        return separator.join(_code(codes, v) for v in known)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellProblem("unexpected_value")
    return str(value)


def meta_cell(name: str, record: Mapping[str, Any]) -> str:
    """A fact about the record (its id, version, ward, timestamps as ISO 8601 UTC)."""
    if name in ("accepted_at", "scanned_at"):
        value = (record.get("timestamps") or {}).get(name.removesuffix("_at"))
    else:
        value = record.get(name)
    return "" if value is None else str(value)

"""Per-form record models: pydantic models built from the form YAML.

A record must satisfy its form's model before it may go to the queue — after automatic
acceptance and again after an operator's corrections. The model checks types (ISO dates,
option ids, digit strings, katakana), required fields, every field validator named in the
YAML and every cross-field rule of severity ``error``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from jimu.forms_schema import get_form
from jimu.forms_schema.model import FormDefinition, LeafField
from jimu.validators.registry import FIELD_VALIDATORS
from jimu.validators.rules import check_rules


@dataclass(frozen=True)
class RecordProblem:
    fields: tuple[str, ...]
    message: str
    rule: str  # "type", "required", a validator name or a rule name


def _py_name(leaf_id: str) -> str:
    return "f_" + re.sub(r"[^0-9a-zA-Z_]", "_", leaf_id)


def _annotation(leaf: LeafField) -> Any:
    if leaf.kind in ("single_choice",):
        return Literal[tuple(o.id for o in leaf.options)]
    if leaf.kind == "multi_choice":
        return list[Literal[tuple(o.id for o in leaf.options)]]  # type: ignore[misc]
    if leaf.kind == "checkbox":
        return bool
    if leaf.kind == "date":
        return dt.date
    return str


def _field(leaf: LeafField, required: bool) -> tuple[Any, Any]:
    ann = _annotation(leaf)
    extra: dict[str, Any] = {"validation_alias": leaf.id, "serialization_alias": leaf.id}
    if leaf.kind == "digits":
        extra["pattern"] = r"^[0-9]+$"
        if leaf.cells:
            extra["max_length"] = leaf.cells
    if required:
        return ann, Field(..., **extra)
    return ann | None, Field(None, **extra)


@lru_cache(maxsize=16)
def record_model(form_id: str, version: int) -> type[BaseModel]:
    form = get_form(form_id)
    if form.version != version:
        raise ValueError(f"form {form_id} is version {form.version}, not {version}")
    return _build(form)


def _build(form: FormDefinition) -> type[BaseModel]:
    leaves = form.leaf_fields()
    fields = {_py_name(lf.id): _field(lf, lf.required) for lf in leaves}

    def check(self: BaseModel) -> BaseModel:
        values = {lf.id: _canonical(getattr(self, _py_name(lf.id))) for lf in leaves}
        problems = []
        for lf in leaves:
            v = values[lf.id]
            if v is None or v == "" or v == []:
                continue
            for name in lf.validators:
                msg = FIELD_VALIDATORS[name](v)
                if msg:
                    problems.append(f"{lf.id}: {msg} [{name}]")
        for r in check_rules(form.rules, values):
            if r.severity == "error":
                problems.append(f"{','.join(r.fields)}: {r.message} [{r.name}]")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"Record_{form.form_id}_v{form.version}",
        __config__=ConfigDict(extra="forbid", populate_by_name=False),
        __validators__={"_check": model_validator(mode="after")(check)},
        **fields,
    )
    return model


def _canonical(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def validate_record(form: FormDefinition, values: dict[str, Any]) -> list[RecordProblem]:
    """Every problem of a record (empty list: it may go to the queue)."""
    model = record_model(form.form_id, form.version)
    try:
        model.model_validate(values)
    except ValidationError as e:
        out = []
        for err in e.errors():
            loc = tuple(str(x) for x in err["loc"] if x != "__root__")
            if err["type"] == "value_error":
                for part in str(err["msg"]).removeprefix("Value error, ").split("; "):
                    fids, _, rest = part.partition(": ")
                    msg, _, tag = rest.rpartition(" [")
                    out.append(RecordProblem(tuple(fids.split(",")), msg, tag.rstrip("]")))
            else:
                kind = "required" if err["type"] == "missing" or err.get("input", 0) in (None, "") else "type"
                out.append(RecordProblem(loc[:1], err["msg"], kind))
        return out
    return []

"""The ``export:`` section of a form definition: how its records are handed off as CSV.

```yaml
export:
  csv:
    date_style: wareki          # iso (2026-11-20, the default) or wareki (令和8年11月20日)
    charset: jis_x0208          # what csv-cp932 may hold: jis_x0208 (default) or cp932 (+ NEC/IBM extensions)
    codes:                      # a code table per choice field (every option needs a code)
      sex: {male: "1", female: "2"}
      "members[*].sex": {male: "1", female: "2"}   # a table's column, every row
    columns:                    # column order; header defaults to the field's label
      - {meta: record_id, header: レコードID}
      - {field: apply_date, header: 申請日}
      - {field: members, header: "異動者{row}{label}"}   # a table: every cell, row by row
      - {field: mynumber, restricted: true}            # restricted fields only when said so
```

A form without the section (or with no ``columns``) is exported with the default columns: the record
id, then every leaf field that is not restricted, in YAML order, headed by its field id, ISO dates.
Everything here is checked when the form loads (:func:`resolve_csv_columns`): an unknown field, a code
table that misses an option, two columns with one header are load errors naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from jimu.forms_schema.model import FormDefinition, LeafField

DateStyle = Literal["iso", "wareki"]
Charset = Literal["jis_x0208", "cp932"]
MetaColumn = Literal["record_id", "record_version", "form_id", "form_version", "batch_id", "ward",
                     "accepted_at", "scanned_at"]
CHOICE_KINDS = ("single_choice", "multi_choice", "checkbox")
TABLE_HEADER_DEFAULT = "{label}{row}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvColumn(_Strict):
    """One column (or, for a table, one column per cell): a record's field, or a fact about the record."""

    field: str | None = None  # a leaf field id (name, members[0].name) or a table id (its every cell, row by row)
    meta: MetaColumn | None = None
    # default: the field's label (a table: "{label}{row}", {label} its column's label, {row} from 1)
    header: str | None = Field(default=None, min_length=1)
    date_style: DateStyle | None = None  # this column's own date style (default: the section's)
    restricted: bool = False  # a restricted field (マイナンバー, bank details) is handed off only when set

    @model_validator(mode="after")
    def _one_source(self) -> CsvColumn:
        if (self.field is None) == (self.meta is None):
            raise ValueError("a column names exactly one of 'field' or 'meta'")
        if self.meta is not None and (self.date_style is not None or self.restricted):
            raise ValueError("'date_style' and 'restricted' apply to field columns only")
        return self


class CsvExport(_Strict):
    date_style: DateStyle = "iso"
    charset: Charset = "jis_x0208"
    columns: list[CsvColumn] = []
    codes: dict[str, dict[str, str]] = {}
    multi_separator: str = Field(default=";", min_length=1)  # between the codes of a multi_choice


class FormExport(_Strict):
    csv: CsvExport = CsvExport()


@dataclass(frozen=True)
class ResolvedColumn:
    """A column as written: its header, where its value comes from and how it is formatted."""

    header: str
    meta: str | None = None
    leaf_id: str | None = None
    kind: str | None = None
    date_style: DateStyle = "iso"
    codes: tuple[tuple[str, str], ...] | None = None  # option id → code, in the form's option order


class ExportSchemaError(ValueError):
    """A problem in the export section (the loader adds the file name)."""


def _code_key(leaf: LeafField) -> str:
    if leaf.table is not None:
        return f"{leaf.table}[*].{leaf.id.split('.', 1)[1]}"
    return leaf.id


def _option_ids(leaf: LeafField) -> list[str]:
    return ["true", "false"] if leaf.kind == "checkbox" else [o.id for o in leaf.options]


def _check_codes(form: FormDefinition, csv: CsvExport, leaves: dict[str, LeafField]) -> None:
    keys = {_code_key(lf): lf for lf in leaves.values()}
    for key, table in csv.codes.items():
        leaf = keys.get(key)
        if leaf is None:
            raise ExportSchemaError(f"export.csv.codes: unknown field '{key}' (a table's column is written "
                                    "'table[*].column')")
        if leaf.kind not in CHOICE_KINDS:
            raise ExportSchemaError(f"export.csv.codes: field '{key}' is a {leaf.kind} field, not a choice")
        options = _option_ids(leaf)
        missing = [o for o in options if o not in table]
        unknown = sorted(set(table) - set(options))
        if missing or unknown:
            raise ExportSchemaError(f"export.csv.codes: field '{key}': "
                                    + "; ".join(p for p in (f"no code for option(s) {missing}" if missing else "",
                                                            f"unknown option(s) {unknown}" if unknown else "") if p)
                                    + f" (options: {options})")
        if len(set(table.values())) != len(table):
            raise ExportSchemaError(f"export.csv.codes: field '{key}': two options share one code")
        if leaf.kind == "multi_choice" and any(csv.multi_separator in code for code in table.values()):
            raise ExportSchemaError(f"export.csv.codes: field '{key}': a code holds the multi_separator "
                                    f"'{csv.multi_separator}'")


def _default_columns(form: FormDefinition) -> list[CsvColumn]:
    return [CsvColumn(meta="record_id")] + [
        CsvColumn(field=lf.id, header=lf.id) for lf in form.leaf_fields() if lf.sensitivity != "restricted"]


def _expand(form: FormDefinition, col: CsvColumn, leaves: dict[str, LeafField]) -> list[tuple[LeafField, str]]:
    """The leaf fields a field column stands for, each with its header."""
    assert col.field is not None
    if col.field in leaves:
        leaf = leaves[col.field]
        return [(leaf, col.header or leaf.label)]
    tables = {f.id: f for f in form.fields if f.kind == "table"}
    table = tables.get(col.field)
    if table is None:
        raise ExportSchemaError(f"export.csv.columns: unknown field '{col.field}' (fields: "
                                f"{', '.join(f.id for f in form.fields)})")
    labels = {c.id: c.label for c in table.columns}
    template = col.header or TABLE_HEADER_DEFAULT
    out = []
    for leaf in leaves.values():
        if leaf.table == table.id and leaf.row is not None:
            column = leaf.id.split(".", 1)[1]
            try:
                header = template.format(row=leaf.row + 1, label=labels[column], column=column)
            except (KeyError, IndexError, ValueError):
                raise ExportSchemaError(f"export.csv.columns: table '{table.id}': header '{template}' may use "
                                        "only {row}, {label} and {column}") from None
            out.append((leaf, header))
    if len({h for _, h in out}) != len(out):
        raise ExportSchemaError(f"export.csv.columns: table '{table.id}': header '{template}' gives two cells one "
                                "header; put {row} and {label} (or {column}) in it")
    return out


def resolve_csv_columns(form: FormDefinition) -> list[ResolvedColumn]:
    """The CSV columns of ``form``, checked (raises :class:`ExportSchemaError`)."""
    csv = form.export.csv if form.export is not None else CsvExport()
    leaves = form.leaf_index
    _check_codes(form, csv, leaves)
    columns = csv.columns or _default_columns(form)
    out: list[ResolvedColumn] = []
    used_codes: set[str] = set()
    for col in columns:
        if col.meta is not None:
            out.append(ResolvedColumn(header=col.header or col.meta, meta=col.meta))
            continue
        for leaf, header in _expand(form, col, leaves):
            if leaf.sensitivity == "restricted" and not col.restricted:
                raise ExportSchemaError(f"export.csv.columns: field '{leaf.id}' is restricted: set "
                                        "'restricted: true' on its column to hand it off in the CSV")
            key = _code_key(leaf)
            table = csv.codes.get(key)
            if table is not None:
                used_codes.add(key)
            codes = None if table is None else tuple((o, table[o]) for o in _option_ids(leaf))
            out.append(ResolvedColumn(header=header, leaf_id=leaf.id, kind=leaf.kind, codes=codes,
                                      date_style=col.date_style or csv.date_style))
    seen: set[str] = set()
    for c in out:
        if c.header in seen:
            raise ExportSchemaError(f"export.csv.columns: header '{c.header}' is used twice")
        seen.add(c.header)
    leaf_ids = [c.leaf_id for c in out if c.leaf_id is not None]
    twice = sorted({i for i in leaf_ids if leaf_ids.count(i) > 1})
    if twice:
        raise ExportSchemaError(f"export.csv.columns: field(s) {twice} exported twice")
    unused = sorted(set(csv.codes) - used_codes)
    if unused:
        raise ExportSchemaError(f"export.csv.codes: code table(s) for {unused}, which no column exports")
    _check_charset(csv, out)
    return out


def _check_charset(csv: CsvExport, columns: list[ResolvedColumn]) -> None:
    """Headers, codes and the separator are written into every CP932 file: they must fit its charset."""
    from jimu.export.charset import code_points, unencodable

    texts = [("header", c.header) for c in columns] + [("separator", csv.multi_separator)]
    texts += [("code", code) for c in columns for _, code in (c.codes or ())]
    for what, text in texts:
        bad = unencodable(text, csv.charset)
        if bad:
            raise ExportSchemaError(f"export.csv: {what} '{text}' has character(s) {code_points(bad)} that "
                                    f"{csv.charset} cannot hold")

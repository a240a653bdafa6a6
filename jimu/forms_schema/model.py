"""Pydantic models of a form definition (``jimu/forms_schema/<form_id>.yaml``).

Geometry is in millimetres on the page, origin top-left.  A field's ``box`` encloses
everything the field prints: its label cell (``label_w`` mm on the left) and its entry area.
Tables expand into *leaf fields* with ids ``table_id[row].column_id``; everything
downstream (renderer, extractor, validators, review UI) works on leaf fields.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from jimu.forms_schema.export_model import FormExport

FieldKind = Literal["text", "kana", "digits", "date", "checkbox", "single_choice", "multi_choice", "table"]
LeafKind = Literal["text", "kana", "digits", "date", "checkbox", "single_choice", "multi_choice"]
Sensitivity = Literal["normal", "restricted"]
# validators that prove a value by its own check digit
CHECK_DIGIT_VALIDATORS = frozenset({"mynumber"})
MarkStyle = Literal["tick", "circle"]

ERAS = ("meiji", "taisho", "showa", "heisei", "reiwa")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Box(Strict):
    x: float
    y: float
    w: float = Field(gt=0)
    h: float = Field(gt=0)

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Box, tol: float = 0.05) -> bool:
        return (
            self.x < other.right - tol
            and other.x < self.right - tol
            and self.y < other.bottom - tol
            and other.y < self.bottom - tol
        )

    def inside(self, width: float, height: float) -> bool:
        return self.x >= 0 and self.y >= 0 and self.right <= width + 1e-6 and self.bottom <= height + 1e-6


class Option(Strict):
    id: str
    label: str
    # where this option is printed (page mm: its tick box or the word to circle, with its label), for
    # real forms whose options are stacked, spaced or laid out 2×2; None: side by side (Jimu's layout)
    box: Box | None = None


class DateBoxes(Strict):
    """Where a real form's date parts are printed (page mm): each era to circle (any arrangement,
    e.g. T・S・H・R 2×2), and the free areas where year, month and day are written (no drawn cells:
    each area holds two digits)."""

    eras: dict[str, Box]
    year: Box
    month: Box
    day: Box


class Column(Strict):
    """One column of a table field; each row's cell becomes a leaf field."""

    id: str
    label: str
    kind: LeafKind
    width: float = Field(gt=0)
    options: list[Option] = []
    mark: MarkStyle = "circle"
    cells: int | None = None
    cell_w: float | None = Field(default=None, gt=0)  # digits: a 1文字枠's own width (mm), for real forms
    cell_pitch: float | None = Field(default=None, gt=0)  # digits: from one cell's left edge to the next's
    eras: list[str] = list(ERAS)
    validators: list[str] = []
    vocabulary: str | None = None
    charset: str | None = None
    reading_of: str | None = None  # kana column: the column whose name it reads (same row)
    required: bool = False
    sensitivity: Sensitivity = "normal"
    fill: str | None = None
    # a sub-row: this column's cell sits under column ``under``'s cell in the same row (e.g. the name
    # under its furigana), taking ``height_share`` of the row; its width must be that column's
    under: str | None = None
    height_share: float = Field(default=0.6, gt=0, lt=1)


class FormField(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    kind: FieldKind
    box: Box
    label_w: float = Field(default=30.0, ge=0)
    required: bool = False
    validators: list[str] = []
    sensitivity: Sensitivity = "normal"
    # restricted only: may be auto-accepted (no second entry) when its check digit passes and its
    # group's calibrated bound meets the target; off by default (double entry)
    auto_accept_restricted: bool = False
    # kind-specific
    cells: int | None = None  # digits: number of 1-character boxes
    cell_w: float | None = Field(default=None, gt=0)  # digits: a 1文字枠's own width (mm), for real forms
    cell_pitch: float | None = Field(default=None, gt=0)  # digits: from one cell's left edge to the next's
    options: list[Option] = []  # choices
    mark: MarkStyle = "tick"  # how a person marks a choice
    eras: list[str] = list(ERAS)  # date: eras offered
    date_boxes: DateBoxes | None = None  # date: a real form's own era and part positions
    vocabulary: str | None = None  # text: closed vocabulary to snap to (e.g. relationship)
    charset: str | None = None  # text: characters a person may write (e.g. "0123456789-" for a phone)
    reading_of: str | None = None  # kana: the field whose name this is the reading of (furigana check)
    rows: int | None = None  # table
    header_h: float = Field(default=6.0, ge=0)  # table: 0 = no header row
    row_heights: list[float] | None = None  # table: each row's own height (mm), for rows of unequal height
    columns: list[Column] = []  # table
    fill: str | None = None  # fixture generator: which sample attribute fills this field
    note: str | None = None  # small printed guide text

    @model_validator(mode="after")
    def _kind_specific(self) -> FormField:
        k = self.kind
        if k == "digits" and not self.cells:
            raise ValueError("a 'digits' field needs 'cells' (the number of 1-character boxes)")
        if k in ("single_choice", "multi_choice") and len(self.options) < 2:
            raise ValueError(f"a '{k}' field needs at least two options")
        if k == "table" and (not self.rows or not self.columns):
            raise ValueError("a 'table' field needs 'rows' and 'columns'")
        if k != "table" and self.columns:
            raise ValueError("only a 'table' field may have 'columns'")
        if self.auto_accept_restricted and (self.sensitivity != "restricted"
                                            or not set(self.validators) & CHECK_DIGIT_VALIDATORS):
            raise ValueError("'auto_accept_restricted' needs sensitivity: restricted and a check-digit validator "
                             f"({', '.join(sorted(CHECK_DIGIT_VALIDATORS))})")
        if k == "date":
            bad = [e for e in self.eras if e not in ERAS]
            if bad:
                raise ValueError(f"unknown era(s) {bad}; use {list(ERAS)}")
            if self.date_boxes is not None and set(self.date_boxes.eras) != set(self.eras):
                raise ValueError(f"date_boxes.eras {sorted(self.date_boxes.eras)} must be the field's eras {self.eras}")
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        if self.label_w >= self.box.w:
            raise ValueError("label_w leaves no room for the entry area")
        if k == "table":
            by_id = {c.id: c for c in self.columns}
            for col in self.columns:
                if col.under is None:
                    continue
                top = by_id.get(col.under)
                if top is None or top.under is not None:
                    raise ValueError(f"column '{col.id}': under '{col.under}' must name a column that is not itself under one")
                if abs(top.width - col.width) > 0.01:
                    raise ValueError(f"column '{col.id}' sits under '{col.under}' and must be as wide ({top.width} mm)")
            total = sum(c.width for c in self.columns if c.under is None)
            if total > self.box.w + 0.01:
                raise ValueError(f"table columns are {total} mm wide but the box is {self.box.w} mm")
            if self.row_heights is not None:
                if len(self.row_heights) != self.rows or any(h <= 0 for h in self.row_heights):
                    raise ValueError(f"row_heights needs {self.rows} positive heights")
                if self.header_h + sum(self.row_heights) > self.box.h + 0.01:
                    raise ValueError(f"the header and row_heights add up to more than the box's {self.box.h} mm")
        return self


class Rule(Strict):
    """A cross-field rule: ``kind`` names a function in ``jimu.validators.rules``; ``fields`` are the fields involved."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str
    fields: list[str]
    params: dict[str, object] = {}
    severity: Literal["error", "note"] = "error"
    message: str


class Heading(Strict):
    """Printed section heading: a shaded cell with (vertical if tall) text."""

    text: str
    box: Box
    body_h: float = Field(default=0.0, ge=0)  # an empty ruled area below (office use, seal)

    @property
    def full_box(self) -> Box:
        return Box(x=self.box.x, y=self.box.y, w=self.box.w, h=self.box.h + self.body_h)


class Note(Strict):
    """A line of printed guidance text (注意事項)."""

    text: str
    x: float
    y: float
    size: float = 2.8


class PageSize(Strict):
    width_mm: float = 210.0
    height_mm: float = 297.0


class TemplateImage(Strict):
    """A real form's blank scan, shipped beside its YAML: registration, classification and the
    dropout of printed ink use it instead of Jimu's own drawing of the form."""

    file: str  # relative to the YAML's folder
    dpi: float = Field(gt=0, le=1200)


class LeafField(Strict):
    """A single readable field: a non-table field, or one cell of a table."""

    id: str
    label: str
    kind: LeafKind
    entry: Box  # where the person writes (label cell excluded)
    required: bool
    validators: list[str]
    sensitivity: Sensitivity
    cells: int | None
    options: list[Option]
    mark: MarkStyle
    eras: list[str]
    vocabulary: str | None
    charset: str | None
    reading_of: str | None
    fill: str | None
    table: str | None = None
    row: int | None = None
    auto_accept_restricted: bool = False
    cell_w: float | None = None
    cell_pitch: float | None = None
    date_boxes: DateBoxes | None = None


class FormDefinition(Strict):
    form_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    title: str
    code: str  # printed form number, e.g. 千葉市様式第J-01号
    page: PageSize = PageSize()
    headings: list[Heading] = []
    notes: list[Note] = []
    fields: list[FormField]
    rules: list[Rule] = []
    template_image: TemplateImage | None = None  # the real blank; None: Jimu draws the form (with corner marks)
    export: FormExport | None = None  # the CSV hand-off (jimu/forms_schema/export_model.py); None: the default
    _source_dir: Path | None = PrivateAttr(default=None)

    def with_source_dir(self, folder: Path) -> FormDefinition:
        """Remember the folder the YAML came from (where ``template_image`` lies)."""
        self._source_dir = folder
        return self

    @property
    def source_dir(self) -> Path | None:
        """The folder the YAML was loaded from (None for a definition built in code)."""
        return self._source_dir

    @property
    def template_image_path(self) -> Path | None:
        if self.template_image is None:
            return None
        from jimu.forms_schema.loader import FORMS_DIR

        return (self._source_dir or FORMS_DIR) / self.template_image.file

    @property
    def has_corner_marks(self) -> bool:
        """Jimu's own drawings carry four corner marks; a real form's blank does not (markless registration)."""
        return self.template_image is None

    @field_validator("fields")
    @classmethod
    def _unique_ids(cls, v: list[FormField]) -> list[FormField]:
        seen: set[str] = set()
        for f in v:
            if f.id in seen:
                raise ValueError(f"field id '{f.id}' is used twice")
            seen.add(f.id)
        return v

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)

    @cached_property
    def leaf_index(self) -> dict[str, LeafField]:
        from jimu.forms_schema.layout import leaf_fields

        return {lf.id: lf for lf in leaf_fields(self)}

    def leaf_fields(self) -> list[LeafField]:
        """Every readable field, table cells expanded (computed once per form)."""
        return list(self.leaf_index.values())

    def leaf(self, leaf_id: str) -> LeafField:
        return self.leaf_index[leaf_id]

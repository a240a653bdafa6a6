"""Sub-geometry of fields, shared by the renderer, the extractor and the review UI.

Everything is in millimetres.  Nothing here is form-specific: it is derived from the
field's kind and box, so a form is fully described by its YAML.
"""

from __future__ import annotations

from dataclasses import dataclass

from jimu.forms_schema.model import Box, DateBoxes, FormDefinition, FormField, LeafField, Option

DIGIT_CELL_MAX_W = 7.0
DIGIT_CELL_PAD = 1.2
TICK_SQUARE = 4.0
ERA_CELL_W = 5.5
DATE_CELL_W = 5.0
DATE_UNIT_W = 4.5
CHAR_MM = 3.6  # width of one printed label character at the default size

ERA_LABELS = {"meiji": "明", "taisho": "大", "showa": "昭", "heisei": "平", "reiwa": "令"}
ERA_NAMES = {"meiji": "明治", "taisho": "大正", "showa": "昭和", "heisei": "平成", "reiwa": "令和"}


class LayoutError(ValueError):
    pass


def entry_box(field: FormField) -> Box:
    b = field.box
    return Box(x=b.x + field.label_w, y=b.y, w=b.w - field.label_w, h=b.h)


def label_box(field: FormField) -> Box | None:
    if field.label_w <= 0:
        return None
    b = field.box
    return Box(x=b.x, y=b.y, w=field.label_w, h=b.h)


def digit_cells(entry: Box, n: int, cell_w: float | None = None, pitch: float | None = None) -> list[Box]:
    """1-character boxes, left-aligned in the entry area: side by side and as wide as fit (Jimu's
    layout), or ``cell_w`` wide every ``pitch`` mm (a real form's cells, wider or spaced apart)."""
    w = cell_w if cell_w is not None else min((entry.w - 2 * DIGIT_CELL_PAD) / n, DIGIT_CELL_MAX_W)
    step = pitch if pitch is not None else w
    h = min(entry.h - 2 * DIGIT_CELL_PAD, 9.0 if cell_w is None else entry.h)
    if w < 3.0 or h < 3.0:
        raise LayoutError(f"{n} digit boxes do not fit in {entry.w:.1f}×{entry.h:.1f} mm")
    if step < w - 0.01:
        raise LayoutError(f"cell_pitch {step:.1f} mm is less than the cell width {w:.1f} mm")
    if DIGIT_CELL_PAD + (n - 1) * step + w > entry.w + 0.01:
        raise LayoutError(f"{n} digit boxes of {w:.1f} mm every {step:.1f} mm do not fit in {entry.w:.1f} mm")
    y = entry.y + (entry.h - h) / 2
    return [Box(x=entry.x + DIGIT_CELL_PAD + i * step, y=y, w=w, h=h) for i in range(n)]


@dataclass(frozen=True)
class DateLayout:
    eras: list[tuple[str, Box]]  # era id, area where its label is printed (and circled)
    year: list[Box]
    month: list[Box]
    day: list[Box]
    units: list[tuple[str, Box]]  # printed 年 月 日


def _two_cells(b: Box) -> list[Box]:
    return [Box(x=b.x, y=b.y, w=b.w / 2, h=b.h), Box(x=b.x + b.w / 2, y=b.y, w=b.w / 2, h=b.h)]


def date_layout(entry: Box, eras: list[str], boxes: DateBoxes | None = None) -> DateLayout:
    """Era boxes and the year/month/day cells: Jimu's own row (era circles, two cells per part and
    the printed 年 月 日), or a real form's ``boxes`` (the units are printed on the form itself)."""
    if boxes is not None:
        return DateLayout(eras=[(e, boxes.eras[e]) for e in eras], year=_two_cells(boxes.year),
                          month=_two_cells(boxes.month), day=_two_cells(boxes.day), units=[])
    h = min(entry.h - 2 * DIGIT_CELL_PAD, 8.0)
    y = entry.y + (entry.h - h) / 2
    x = entry.x + DIGIT_CELL_PAD
    era_boxes: list[tuple[str, Box]] = []
    if len(eras) == 1:  # the era is printed, not chosen
        era_boxes.append((eras[0], Box(x=x, y=y, w=9.0, h=h)))
        x += 10.5
    else:
        for e in eras:
            era_boxes.append((e, Box(x=x, y=y, w=ERA_CELL_W, h=h)))
            x += ERA_CELL_W
        x += 1.5
    parts: list[list[Box]] = []
    units: list[tuple[str, Box]] = []
    for unit in ("年", "月", "日"):
        cells = [Box(x=x + i * DATE_CELL_W, y=y, w=DATE_CELL_W, h=h) for i in range(2)]
        x += 2 * DATE_CELL_W
        units.append((unit, Box(x=x, y=y, w=DATE_UNIT_W, h=h)))
        x += DATE_UNIT_W
        parts.append(cells)
    if x > entry.right + 0.01:
        raise LayoutError(f"a date with {len(eras)} era(s) needs {x - entry.x:.1f} mm, the entry is {entry.w:.1f} mm")
    return DateLayout(eras=era_boxes, year=parts[0], month=parts[1], day=parts[2], units=units)


def option_boxes(entry: Box, options: list[Option], mark: str) -> list[tuple[Option, Box]]:
    """Options side by side; each box holds (tick square +) label. Widths follow label length.

    Options that carry their own ``box`` (a real form: stacked 男/女, 1./2./3. lists, eras 2×2) are
    where they say."""
    if options and all(o.box is not None for o in options):
        return [(o, o.box) for o in options if o.box is not None]
    extra = TICK_SQUARE + 2.5 if mark == "tick" else 3.0
    need = [len(o.label) * CHAR_MM + extra for o in options]
    total = sum(need)
    if total > entry.w - 1.0:
        raise LayoutError(f"{len(options)} options need {total:.1f} mm, the entry is {entry.w:.1f} mm")
    scale = (entry.w - 1.0) / total
    x = entry.x + 1.0
    out: list[tuple[Option, Box]] = []
    for o, n in zip(options, need, strict=True):
        w = n * min(scale, 1.8)
        out.append((o, Box(x=x, y=entry.y + 0.8, w=w, h=entry.h - 1.6)))
        x += w
    return out


def tick_square(option_box: Box) -> Box:
    s = min(TICK_SQUARE, option_box.h - 0.5)
    return Box(x=option_box.x + 0.5, y=option_box.y + (option_box.h - s) / 2, w=s, h=s)


def checkbox_square(entry: Box) -> Box:
    s = min(TICK_SQUARE, entry.h - 1.0)
    return Box(x=entry.x + 1.0, y=entry.y + (entry.h - s) / 2, w=s, h=s)


def table_cells(field: FormField) -> list[list[tuple[str, Box]]]:
    """Rows of (column id, cell box), below the header row. Rows share the height left by the header,
    or take ``row_heights``; a column ``under`` another takes the lower part of that column's cell."""
    assert field.rows
    b = field.box
    heights = field.row_heights or [(b.h - field.header_h) / field.rows] * field.rows
    lower = {c.under: c for c in field.columns if c.under is not None}
    rows = []
    y = b.y + field.header_h
    for row_h in heights:
        x = b.x
        cells = []
        for c in field.columns:
            if c.under is not None:
                continue
            sub = lower.get(c.id)
            if sub is None:
                cells.append((c.id, Box(x=x, y=y, w=c.width, h=row_h)))
            else:
                top_h = row_h * (1 - sub.height_share)
                cells.append((c.id, Box(x=x, y=y, w=c.width, h=top_h)))
                cells.append((sub.id, Box(x=x, y=y + top_h, w=c.width, h=row_h - top_h)))
            x += c.width
        rows.append(cells)
        y += row_h
    return rows


def table_header(field: FormField) -> list[tuple[str, Box]]:
    b = field.box
    out = []
    x = b.x
    for c in field.columns:
        if c.under is not None:
            continue
        out.append((c.label, Box(x=x, y=b.y, w=c.width, h=field.header_h)))
        x += c.width
    return out


def leaf_fields(form: FormDefinition) -> list[LeafField]:
    out: list[LeafField] = []
    for f in form.fields:
        if f.kind != "table":
            out.append(
                LeafField(
                    id=f.id, label=f.label, kind=f.kind, entry=entry_box(f), required=f.required,
                    validators=f.validators, sensitivity=f.sensitivity, cells=f.cells, options=f.options,
                    mark=f.mark, eras=f.eras, vocabulary=f.vocabulary, charset=f.charset, fill=f.fill,
                    reading_of=f.reading_of, auto_accept_restricted=f.auto_accept_restricted,
                    cell_w=f.cell_w, cell_pitch=f.cell_pitch, date_boxes=f.date_boxes,
                )
            )
            continue
        for r, row in enumerate(table_cells(f)):
            for col_id, cell in row:
                c = next(c for c in f.columns if c.id == col_id)
                out.append(
                    LeafField(
                        id=f"{f.id}[{r}].{c.id}", label=f"{f.label}{r + 1} {c.label}", kind=c.kind,
                        entry=cell, required=c.required and r == 0, validators=c.validators,
                        sensitivity=c.sensitivity, cells=c.cells, options=c.options, mark=c.mark,
                        eras=c.eras, vocabulary=c.vocabulary, charset=c.charset, fill=c.fill, table=f.id,
                        row=r, reading_of=f"{f.id}[{r}].{c.reading_of}" if c.reading_of else None,
                        cell_w=c.cell_w, cell_pitch=c.cell_pitch,
                    )
                )
    return out


def check_leaf_geometry(leaf: LeafField) -> None:
    """Raise LayoutError when a leaf's sub-geometry does not fit its entry box."""
    if leaf.kind == "digits":
        assert leaf.cells
        digit_cells(leaf.entry, leaf.cells, leaf.cell_w, leaf.cell_pitch)
    elif leaf.kind == "date":
        date_layout(leaf.entry, leaf.eras, leaf.date_boxes)
    elif leaf.kind in ("single_choice", "multi_choice"):
        option_boxes(leaf.entry, leaf.options, leaf.mark)

"""Draw a form's printed blank from its YAML definition: ruled boxes, labels, 1文字枠 cells, era and
option words, and the four corner registration marks, in the print font.

Registration and classification compare scans with this drawing (:mod:`jimu.extractors.templates`
renders it once per form); the test copies are written onto it (:mod:`jimu.fixtures.render`).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from jimu.forms_schema.layout import (
    ERA_LABELS,
    ERA_NAMES,
    checkbox_square,
    date_layout,
    digit_cells,
    label_box,
    option_boxes,
    table_header,
    tick_square,
)
from jimu.forms_schema.model import Box, FormDefinition, LeafField
from jimu.render.canvas import Canvas, RasterCanvas
from jimu.render.fonts import font_path

MARK_SIZE = 5.0  # registration marks: solid squares in the four corners
MARK_MARGIN = 5.0
LINE = 0.3
LABEL_FILL = 232
HEADING_FILL = 205


def registration_marks(form: FormDefinition) -> list[Box]:
    w, h = form.page.width_mm, form.page.height_mm
    m, s = MARK_MARGIN, MARK_SIZE
    return [Box(x=m, y=m, w=s, h=s), Box(x=w - m - s, y=m, w=s, h=s),
            Box(x=m, y=h - m - s, w=s, h=s), Box(x=w - m - s, y=h - m - s, w=s, h=s)]


# --------------------------------------------------------------------------- printed form
def draw_form(c: Canvas, form: FormDefinition, print_font: Path) -> None:
    w = form.page.width_mm
    for m in registration_marks(form):
        c.rect(m.x, m.y, m.w, m.h, stroke=0, fill=0)
    c.text(form.title, w / 2, 19, 6.0, print_font, anchor="mm")
    c.text(form.code, 12, 13, 2.8, print_font, anchor="lm")
    c.text("千葉市長 様", 12, 26, 3.2, print_font, anchor="lm")
    for hd in form.headings:
        b = hd.box
        c.rect(b.x, b.y, b.w, b.h, stroke=LINE, fill=HEADING_FILL)
        c.text(hd.text, b.x + 2, b.y + b.h / 2, min(3.6, b.h * 0.6), print_font, anchor="lm")
        if hd.body_h:
            c.rect(b.x, b.bottom, b.w, hd.body_h, stroke=LINE)
    for n in form.notes:
        c.text(n.text, n.x, n.y, n.size, print_font, anchor="lm")
    for f in form.fields:
        b = f.box
        lb = label_box(f)
        if f.kind == "table":
            c.rect(b.x, b.y, b.w, b.h, stroke=LINE * 1.5)
            for text, hb in table_header(f):
                c.rect(hb.x, hb.y, hb.w, hb.h, stroke=LINE, fill=LABEL_FILL)
                c.text(text, hb.x + hb.w / 2, hb.y + hb.h / 2, min(3.2, hb.h * 0.6), print_font, anchor="mm")
        else:
            c.rect(b.x, b.y, b.w, b.h, stroke=LINE)
            if lb is not None:
                c.rect(lb.x, lb.y, lb.w, lb.h, stroke=LINE, fill=LABEL_FILL)
                size = min(3.4, lb.h * 0.4)
                while size > 2.0 and c.text_width(f.label, size, print_font) > lb.w - 2:
                    size -= 0.2
                c.text(f.label, lb.x + 1.2, lb.y + lb.h / 2, size, print_font, anchor="lm")
    for leaf in form.leaf_fields():
        draw_leaf_frame(c, leaf, print_font)


def draw_leaf_frame(c: Canvas, leaf: LeafField, font: Path) -> None:
    e = leaf.entry
    if leaf.table is not None:
        c.rect(e.x, e.y, e.w, e.h, stroke=LINE)
    if leaf.kind == "digits":
        assert leaf.cells
        for cell in digit_cells(e, leaf.cells, leaf.cell_w, leaf.cell_pitch):
            c.rect(cell.x, cell.y, cell.w, cell.h, stroke=0.25)
    elif leaf.kind == "date":
        lay = date_layout(e, leaf.eras, leaf.date_boxes)
        size = min(3.4, lay.year[0].h * 0.55)
        if len(lay.eras) == 1:
            era, b = lay.eras[0]
            c.text(ERA_NAMES[era], b.x + b.w / 2, b.y + b.h / 2, size, font, anchor="mm")
        else:
            for era, b in lay.eras:
                c.text(ERA_LABELS[era], b.x + b.w / 2, b.y + b.h / 2, size, font, anchor="mm")
        for cell in lay.year + lay.month + lay.day:
            c.rect(cell.x, cell.y, cell.w, cell.h, stroke=0.25)
        for unit, b in lay.units:
            c.text(unit, b.x + b.w / 2, b.y + b.h / 2, size, font, anchor="mm")
    elif leaf.kind in ("single_choice", "multi_choice"):
        for opt, b in option_boxes(e, leaf.options, leaf.mark):
            size = min(3.4, b.h * 0.5)
            if leaf.mark == "tick":
                sq = tick_square(b)
                c.rect(sq.x, sq.y, sq.w, sq.h, stroke=0.25)
                c.text(opt.label, sq.right + 1.2, b.y + b.h / 2, size, font, anchor="lm")
            else:
                c.text(opt.label, b.x + b.w / 2, b.y + b.h / 2, size, font, anchor="mm")
    elif leaf.kind == "checkbox":
        sq = checkbox_square(e)
        c.rect(sq.x, sq.y, sq.w, sq.h, stroke=0.25)
        c.text(leaf.label, sq.right + 1.5, e.y + e.h / 2, min(3.4, e.h * 0.45), font, anchor="lm")


# --------------------------------------------------------------------------- entry points
def blank_canvas(form: FormDefinition, dpi: int = 300, print_font: Path | None = None) -> RasterCanvas:
    """A grayscale page at ``dpi`` with the form's blank on it: its real blank scan (``template_image``),
    else Jimu's drawing in ``print_font`` (default: IPA Gothic)."""
    pf = print_font or font_path("gothic")
    c = RasterCanvas(form.page.width_mm, form.page.height_mm, dpi)
    if form.template_image_path is not None:  # a real form: its blank scan
        with Image.open(form.template_image_path) as im:
            c.image.paste(im.convert("L").resize(c.image.size, Image.Resampling.LANCZOS))
    else:
        draw_form(c, form, pf)
    return c


def render_blank(form: FormDefinition, dpi: int = 300, print_font: Path | None = None) -> Image.Image:
    """The form's blank page at ``dpi``, grayscale (see :func:`blank_canvas`)."""
    return blank_canvas(form, dpi, print_font).image

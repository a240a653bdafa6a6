"""Draw a form's geometry over its blank (or over a filled scan, registered) for a person to check.

Every field's entry box is outlined and labelled with its id, with its sub-geometry: 1文字枠
cells, option boxes (tick squares), era circles and date cells, table cells. A box that sits
off the printed lines is visible at a glance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jimu.extractors.types import PX_PER_MM
from jimu.forms_schema.layout import date_layout, digit_cells, option_boxes, tick_square
from jimu.forms_schema.model import Box, FormDefinition

ENTRY = (0, 90, 255)
CELL = (0, 170, 90)
OPTION = (230, 120, 0)
LABEL = (200, 0, 60)


def _rect(d: ImageDraw.ImageDraw, b: Box, colour: tuple[int, int, int], width: int = 3) -> None:
    d.rectangle((b.x * PX_PER_MM, b.y * PX_PER_MM, b.right * PX_PER_MM, b.bottom * PX_PER_MM),
                outline=colour, width=width)


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from jimu.render.fonts import font_path

    try:
        return ImageFont.truetype(str(font_path("gothic")), 26)
    except OSError:
        return ImageFont.load_default()


def draw_preview(form: FormDefinition, page: np.ndarray) -> Image.Image:
    """``page``: the blank or a registered scan at WORK_DPI (uint8 gray). RGB out."""
    img = Image.fromarray(page).convert("RGB")
    d = ImageDraw.Draw(img)
    font = _font()
    for leaf in form.leaf_fields():
        e = leaf.entry
        _rect(d, e, ENTRY)
        if leaf.kind == "digits" and leaf.cells:
            for c in digit_cells(e, leaf.cells, leaf.cell_w, leaf.cell_pitch):
                _rect(d, c, CELL, 2)
        elif leaf.kind in ("single_choice", "multi_choice"):
            for _o, ob in option_boxes(e, leaf.options, leaf.mark):
                _rect(d, ob, OPTION, 2)
                if leaf.mark == "tick":
                    _rect(d, tick_square(ob), CELL, 2)
        elif leaf.kind == "date":
            lay = date_layout(e, leaf.eras, leaf.date_boxes)
            for _era, b in lay.eras:
                _rect(d, b, OPTION, 2)
            for b in [*lay.year, *lay.month, *lay.day]:
                _rect(d, b, CELL, 2)
        d.text((e.x * PX_PER_MM + 4, e.y * PX_PER_MM + 2), leaf.id, fill=LABEL, font=font)
    return img


def write_preview(form: FormDefinition, out: Path, scan: Path | None = None) -> Path:
    """The blank (or ``scan``, registered onto the form) with the geometry drawn; PNG at ``out``."""
    from jimu.extractors.templates import get_template

    if scan is None:
        page = get_template(form).image
    else:
        from jimu.extractors.ingest import load_documents
        from jimu.extractors.register import register_page

        doc = load_documents(scan)[0]
        page = register_page(doc.pages[0], [form.form_id]).image
    out.parent.mkdir(parents=True, exist_ok=True)
    draw_preview(form, page).save(out)
    return out

"""Drawing a form from its definition (production): the printed blank that registration and
classification compare scans with, on a raster or PDF canvas, in the fonts of :mod:`jimu.render.fonts`.

Test copies (values written on it, scans simulated) are :mod:`jimu.fixtures`' business.
"""

from jimu.render.form import blank_canvas, draw_form, registration_marks, render_blank

__all__ = ["blank_canvas", "draw_form", "registration_marks", "render_blank"]

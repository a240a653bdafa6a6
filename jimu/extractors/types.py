"""Plain data passed between the extraction stages (ingest → preprocess → classify → read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WORK_DPI = 300  # registered pages are warped onto the template at this resolution
PX_PER_MM = WORK_DPI / 25.4


@dataclass(frozen=True)
class TextWord:
    """A word of a PDF text layer, with its box in millimetres from the page's top-left corner."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Page:
    """One page as it came out of the file: a grayscale raster, and the PDF text layer if it has one."""

    image: np.ndarray  # uint8, H×W, 0 = black
    dpi: float
    page_no: int  # 0-based page number in the source file
    words: list[TextWord] | None = None  # set for PDFs with a real text layer (filled on a PC)
    width_mm: float = 210.0
    height_mm: float = 297.0
    dpi_known: bool = True  # False: the file had no usable dpi (none, or a camera's 72); ``dpi`` is a guess


@dataclass
class Document:
    """One form's worth of pages out of a source file (a feeder file holds several)."""

    source: Path
    sha256: str  # of the source file's bytes (plus '#n' for the n-th document of a feeder file)
    file_sha256: str
    index: int  # document number within the source file
    pages: list[Page] = field(default_factory=list)


@dataclass
class RegisteredPage:
    """A page warped onto its form's template at WORK_DPI: template mm × PX_PER_MM = pixel."""

    form_id: str
    image: np.ndarray  # uint8, template-sized (round(210*PX_PER_MM) × round(297*PX_PER_MM))
    rotation: int  # 0/90/180/270 clockwise that was undone
    skew_deg: float
    scale: float
    match_score: float  # how well the page matches the form's template, 0..1
    source_dpi: float
    # refinement windows of the final fit, N×4 (x, y, residual px, inlier 0/1) at WORK_DPI;
    # None = not measured (no judgement), 0 rows = the refinement found no support anywhere
    fit_points: np.ndarray | None = None
    perspective: bool = False  # registered with a homography (a photo), not an affine

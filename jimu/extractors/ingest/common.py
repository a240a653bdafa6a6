"""What the parts of ingest share: file kinds, page geometry, and the hints of the limits."""

from __future__ import annotations

from typing import Final, Literal

FileKind = Literal["png", "jpeg", "tiff", "pdf"]

MM_PER_INCH: Final = 25.4
MIN_SIDE_PX: Final = 100  # a smaller image is not a scanned page
LABEL: Final[dict[str, str]] = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "pdf": "PDF"}
PAGES_HINT: Final = "Split the batch into files of fewer pages (or raise JIMU_MAX_PAGES)."
PIXELS_HINT: Final = "Scan again at 200–400 dpi (600 at most), or raise JIMU_MAX_PAGE_PIXELS."

"""Image files (PNG, JPEG, TIFF) into pages: frames and limits, an ink-preserving gray, dpi and orientation
(see "Images" in :mod:`jimu.extractors.ingest`)."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from jimu.errors import CorruptFileError, EmptyFileError, JimuError, LimitExceededError
from jimu.extractors.ingest.common import LABEL, MIN_SIDE_PX, MM_PER_INCH, PAGES_HINT, PIXELS_HINT, FileKind
from jimu.extractors.types import Page
from jimu.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_DPI = 300.0
MIN_DPI, MAX_DPI = 72.0, 1200.0
_PIL_FORMAT: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the whole (empty, CRC'd) end chunk


@contextmanager
def _decoding(label: str, page_no: int | None = None) -> Iterator[None]:
    """Turn decoder failures into typed errors (naming the page of a multi-page file)."""
    what = f"Page {page_no + 1} of the {label} file" if page_no is not None else f"The {label} file"
    try:
        yield
    except JimuError:
        raise
    except Image.DecompressionBombError as exc:
        raise LimitExceededError(
            f"{what} declares an image far too large to open (hundreds of megapixels); it is not a normal scan.",
            hint=PIXELS_HINT,
        ) from exc
    except MemoryError as exc:
        raise LimitExceededError(f"{what} needs more memory than is available to open.") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, struct.error...
        log.debug("%s decoder failed: %s: %s", label, type(exc).__name__, exc)
        raise CorruptFileError(
            f"{what} is damaged or incomplete and cannot be read (it may have been cut off during copying)."
        ) from exc


def load_image_pages(data: bytes, kind: FileKind, settings: Settings) -> list[Page]:
    label = LABEL[kind]
    if kind == "png" and data.rfind(_PNG_IEND) == -1:
        raise CorruptFileError("The PNG file is incomplete: its end is missing, so it was probably cut off during copying.")
    with _decoding(label):
        im = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[kind]])
    with im:
        frames = _list_frames(im, kind, settings)
        pages = []
        for page_no, frame in enumerate(frames):
            with _decoding(label, page_no if len(frames) > 1 else None):
                im.seek(frame)
                pages.append(_decode_frame(im, kind, page_no, len(frames), settings))
    return pages


def _list_frames(im: Image.Image, kind: FileKind, settings: Settings) -> list[int]:
    """Frame numbers to read (TIFF thumbnails skipped), with the page-count and size limits."""
    label = LABEL[kind]
    frames: list[int] = []
    sizes: list[tuple[int, int]] = []
    if kind == "tiff":
        frame = 0
        while True:
            with _decoding(label, len(frames)):
                try:
                    im.seek(frame)
                except EOFError:
                    break
                subfile = int(getattr(im, "tag_v2", {}).get(254, 0) or 0)
            if not subfile & 1:  # bit 0: a reduced-resolution copy of another page
                frames.append(frame)
                sizes.append(im.size)
                if len(frames) > settings.max_pages:
                    raise LimitExceededError(
                        f"The TIFF file has more than {settings.max_pages} pages; "
                        f"Jimu accepts at most {settings.max_pages} pages per file.",
                        hint=PAGES_HINT,
                    )
            frame += 1
            if frame > 4 * settings.max_pages + 16:
                raise LimitExceededError(
                    f"The TIFF file holds more than {frame - 1} images; "
                    f"Jimu accepts at most {settings.max_pages} pages per file.",
                    hint=PAGES_HINT,
                )
        if not frames:
            raise EmptyFileError("The TIFF file contains no pages.")
    else:  # PNG (APNG) and JPEG (MPO): only the first image is the page
        frames, sizes = [0], [im.size]
    for page_no, (w, h) in enumerate(sizes):
        _check_pixels(w, h, page_no, len(frames), settings)
    return frames


def _check_pixels(w: int, h: int, page_no: int, pages: int, settings: Settings) -> None:
    where = f"Page {page_no + 1} of the file" if pages > 1 else "The image"
    if w * h > settings.max_page_pixels:
        raise LimitExceededError(
            f"{where} is {w}×{h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
            f"{settings.max_page_pixels / 1e6:.0f}-megapixel limit for one page (an A4 page at 600 dpi is 35).",
            hint=PIXELS_HINT,
        )
    if min(w, h) < MIN_SIDE_PX:
        raise CorruptFileError(
            f"{where} is only {w}×{h} pixels, too small to be a scanned page "
            f"(at least {MIN_SIDE_PX} pixels on each side are needed)."
        )


def _decode_frame(im: Image.Image, kind: FileKind, page_no: int, pages: int, settings: Settings) -> Page:
    im.load()
    gray = _to_gray(im)
    xdpi, ydpi = _image_dpi(im)
    known = not (math.isnan(xdpi) or math.isnan(ydpi))
    if not known:
        xdpi = ydpi = _a4_dpi(gray.shape[0], gray.shape[1]) or DEFAULT_DPI
    orientation = _orientation(im, kind)
    if orientation != 1:
        gray = _apply_orientation(gray, orientation)
        if orientation >= 5:
            xdpi, ydpi = ydpi, xdpi
    if abs(xdpi - ydpi) > 0.01 * max(xdpi, ydpi):  # non-square pixels: resample to the finer one
        dpi = max(xdpi, ydpi)
        h, w = gray.shape
        new_w, new_h = round(w * dpi / xdpi), round(h * dpi / ydpi)
        _check_pixels(new_w, new_h, page_no, pages, settings)
        gray = np.asarray(cv2.resize(gray, (new_w, new_h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    else:
        dpi = xdpi
    h, w = gray.shape
    return Page(
        image=gray,
        dpi=dpi,
        page_no=page_no,
        words=None,
        width_mm=w / dpi * MM_PER_INCH,
        height_mm=h / dpi * MM_PER_INCH,
        dpi_known=known,
    )


def _a4_dpi(h: int, w: int) -> float | None:
    """The dpi of an image that is an A4 page filling the frame (either orientation), else None."""
    by_w, by_h = min(h, w) / (210.0 / MM_PER_INCH), max(h, w) / (297.0 / MM_PER_INCH)
    return round((by_w + by_h) / 2, 1) if abs(by_w / by_h - 1) < 0.04 else None


INK_CHROMA_LO, INK_CHROMA_HI = 12.0, 48.0  # max−min of RGB: below → neutral (luma), above → coloured (red)


def ink_gray(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Gray of an RGB page that keeps pen ink and drops red ink.

    Neutral pixels (paper, black print, pencil, JPEG noise) get their luma; coloured pixels
    get their red channel: blue/black ballpoint (red channel dark) stays dark, a red seal or
    red/orange printing (red channel bright) becomes light paper.  Between the two chroma
    levels the two are blended, so there is no edge at a seal's rim.
    """
    a = rgb[..., :3]
    luma = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY).astype(np.float32)
    hi = a.max(axis=2).astype(np.float32)
    chroma = hi - a.min(axis=2).astype(np.float32)
    w = np.clip((chroma - INK_CHROMA_LO) / (INK_CHROMA_HI - INK_CHROMA_LO), 0.0, 1.0)
    red = a[..., 0].astype(np.float32)
    out = luma + w * (red - luma)
    return np.asarray(np.clip(out + 0.5, 0, 255), dtype=np.uint8)


def _to_gray(im: Image.Image) -> NDArray[np.uint8]:
    """Writable H×W uint8, 0 = black, alpha flattened onto white."""
    mode = im.mode
    if mode == "L":
        return np.array(im)
    if mode in ("RGB", "YCbCr", "CMYK", "P") and not (mode == "P" and "transparency" in im.info):
        return ink_gray(np.asarray(im.convert("RGB")))
    if mode == "1":
        return np.array(im.convert("L"))
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in im.info):
        return _flatten_on_white(np.asarray(im.convert("LA")))
    if mode.startswith("I;16"):
        return (np.asarray(im) >> 8).astype(np.uint8)
    if mode == "I":
        arr = np.asarray(im)
        if int(arr.max(initial=0)) <= 255 and int(arr.min(initial=0)) >= 0:
            return arr.astype(np.uint8)
        return (np.clip(arr, 0, 65535) >> 8).astype(np.uint8)
    if mode == "F":
        farr = np.nan_to_num(np.asarray(im, dtype=np.float32))
        top = float(farr.max(initial=0.0))
        factor = 255.0 if 0.0 < top <= 1.0 else 1.0
        return np.clip(farr * factor, 0, 255).astype(np.uint8)
    try:
        return np.array(im.convert("L"))
    except ValueError:  # modes without a direct conversion (LAB, HSV, ...)
        return np.array(im.convert("RGB").convert("L"))


def _flatten_on_white(la: NDArray[np.uint8]) -> NDArray[np.uint8]:
    lum = la[..., 0].astype(np.uint16)
    alpha = la[..., 1].astype(np.uint16)
    ink = (255 - lum) * alpha + 127
    ink //= 255
    return (255 - ink).astype(np.uint8)


def _image_dpi(im: Image.Image) -> tuple[float, float]:
    raw = im.info.get("dpi")
    values: list[float] = []
    if isinstance(raw, tuple | list) and len(raw) == 2:
        for v in raw:
            try:
                f = float(v)
            except (TypeError, ValueError, ZeroDivisionError):
                continue
            if math.isfinite(f) and MIN_DPI < f <= MAX_DPI:  # 72 = "unknown" (cameras, editors)
                nearest = round(f)
                values.append(float(nearest) if abs(f - nearest) < 0.05 else f)
            else:
                values.append(math.nan)
    good = [v for v in values if not math.isnan(v)]
    if len(good) == 2:
        return good[0], good[1]
    if len(good) == 1:
        return good[0], good[0]
    return math.nan, math.nan


def _orientation(im: Image.Image, kind: FileKind) -> int:
    try:
        if kind == "tiff":
            value = getattr(im, "tag_v2", {}).get(0x0112, 1)
        else:
            value = im.getexif().get(0x0112, 1)
        o = int(value)
    except Exception:  # a damaged EXIF block is not worth rejecting the scan
        return 1
    return o if 1 <= o <= 8 else 1


def _apply_orientation(a: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    """Same result as ``PIL.ImageOps.exif_transpose``, on the gray array."""
    ops: dict[int, Callable[[NDArray[np.uint8]], object]] = {
        2: lambda x: cv2.flip(x, 1),
        3: lambda x: cv2.rotate(x, cv2.ROTATE_180),
        4: lambda x: cv2.flip(x, 0),
        5: lambda x: cv2.transpose(x),
        6: lambda x: cv2.rotate(x, cv2.ROTATE_90_CLOCKWISE),
        7: lambda x: cv2.flip(cv2.transpose(x), -1),
        8: lambda x: cv2.rotate(x, cv2.ROTATE_90_COUNTERCLOCKWISE),
    }
    op = ops.get(orientation)
    return a if op is None else np.asarray(op(a), dtype=np.uint8)

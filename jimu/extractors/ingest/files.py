"""Reading one file: its size within the limit (the read itself capped), its type from its first bytes
(never its name), then its pages as images or as a PDF."""

from __future__ import annotations

import hashlib
import logging
import stat
from pathlib import Path

from jimu.errors import EmptyFileError, InputFileError, LimitExceededError, UnsupportedFileError
from jimu.extractors.ingest.common import LABEL, FileKind
from jimu.extractors.ingest.images import load_image_pages
from jimu.extractors.ingest.pdfs import load_pdf_pages
from jimu.extractors.types import Page
from jimu.settings import Settings

log = logging.getLogger(__name__)

_SUFFIX_KIND: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".pdf": "PDF",
}
_SIZE_HINT = "Scan in grayscale at 200–400 dpi, or split the batch into several files (or raise JIMU_MAX_FILE_BYTES)."


def read_file(path: Path, settings: Settings) -> tuple[str, list[Page]]:
    """(the sha256 of the file's bytes, its pages): every problem an :class:`~jimu.errors.InputFileError`."""
    data = _read_capped(path, settings.max_file_bytes)
    file_sha = hashlib.sha256(data).hexdigest()
    kind = sniff_file_type(data, path.suffix)
    named = _SUFFIX_KIND.get(path.suffix.lower())
    if named and named != LABEL[kind]:
        log.info("file named as %s is a %s; reading it as %s", named, LABEL[kind], LABEL[kind])
    if kind == "pdf":
        return file_sha, load_pdf_pages(data, settings)
    return file_sha, load_image_pages(data, kind, settings)


def _read_capped(path: Path, max_bytes: int) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise InputFileError(
            "The file is missing: it was moved or deleted before it could be read.",
            hint="Check the inbox folder and drop the scan in again.",
        ) from exc
    except OSError as exc:
        raise InputFileError(
            "The file cannot be opened (no permission, or the disk is unavailable).",
            hint="Check the inbox folder's permissions, then drop the scan in again.",
        ) from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError("This is not a regular file (it is a folder or a device).")
    if st.st_size == 0:
        raise EmptyFileError("The file is empty (0 bytes): the scan or the copy did not finish.")
    if st.st_size > max_bytes:
        raise LimitExceededError(
            f"The file is {_mb(st.st_size)}, larger than the {_mb(max_bytes)} limit for one scan.", hint=_SIZE_HINT
        )
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(
            "The file cannot be read (no permission, or the disk is unavailable).",
            hint="Check the inbox folder's permissions, then drop the scan in again.",
        ) from exc
    if not data:
        raise EmptyFileError("The file is empty (0 bytes): the scan or the copy did not finish.")
    if len(data) > max_bytes:  # it grew after stat()
        raise LimitExceededError(f"The file is larger than the {_mb(max_bytes)} limit for one scan.", hint=_SIZE_HINT)
    return data


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def sniff_file_type(data: bytes, suffix: str = "") -> FileKind:
    """The file type from its first bytes; ``UnsupportedFileError`` for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[:1024].find(b"%PDF-") != -1:
        return "pdf"
    what, hint = _describe_other(data)
    named = _SUFFIX_KIND.get(suffix.lower())
    note = f", although its name ends in '{suffix.lower()}'" if named else ""
    raise UnsupportedFileError(
        f"The file is not a PNG, JPEG, TIFF or PDF scan: its contents look like {what}{note}.",
        hint=hint,
    )


def _describe_other(data: bytes) -> tuple[str, str | None]:
    """(what the bytes look like, hint) for a file that is none of the four types."""
    head = data[:16]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image", "Scan the form again as PDF, TIFF, PNG or JPEG (GIF is not accepted)."
    if head.startswith(b"BM"):
        return "a BMP image", "Save the image as PNG, or scan again as PDF, TIFF, PNG or JPEG."
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image", "Save the image as PNG or JPEG, or scan again as PDF, TIFF, PNG or JPEG."
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
        return (
            "a HEIC/AVIF photo",
            "Set the camera or scanner app to save JPEG, or convert the photo to JPEG.",
        )
    if head.startswith((b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")):
        return "a JPEG 2000 image", "Save the image as PNG or JPEG, or scan again as PDF, TIFF, PNG or JPEG."
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive or an Office document (Word, Excel)", "Print the document to PDF, or scan the paper form."
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an older Office document (Word, Excel)", "Print the document to PDF, or scan the paper form."
    if head.startswith(b"%!PS"):
        return "a PostScript file", "Print the document to PDF, or scan the paper form."
    text = _as_text(data[:4096])
    if text is not None:
        start = text.lstrip("\ufeff \t\r\n").lower()
        if start.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in start[:512]:
            return "a web page (HTML)", "Download or scan the form itself, not the web page it came from."
        if start.startswith(("<?xml", "<svg")):
            return "an XML or SVG file", None
        if start.startswith("{\\rtf"):
            return "an RTF document", "Print the document to PDF, or scan the paper form."
        return "a text file", None
    return "unrecognisable data (the file may be damaged)", None


def _as_text(chunk: bytes) -> str | None:
    for encoding in ("utf-8", "cp932"):
        try:
            text = chunk.decode(encoding)
        except UnicodeDecodeError:
            # the chunk may end inside a multi-byte character
            try:
                text = chunk[:-3].decode(encoding) if len(chunk) > 3 else ""
            except UnicodeDecodeError:
                continue
        if text and sum(ch.isprintable() or ch in "\t\r\n" for ch in text) >= 0.97 * len(text):
            return text
    return None

"""Reference OCR engine: the ``tesseract`` command-line program, driven through pytesseract.

Every call starts a tesseract process (100–300 ms with the Japanese models), so single-crop calls are
slow; it is kept as the reference the in-process engine is checked against, and as a fallback when
tesserocr cannot be installed. Every process gets a timeout (``JIMU_TESSERACT_TIMEOUT_S``), and
failures come back as typed errors:

* binary missing → :class:`~jimu.errors.MissingDependencyError` with the ``apt-get install`` line,
* model missing → :class:`~jimu.errors.MissingDependencyError` naming the Debian package,
* timeout → :class:`~jimu.errors.OcrTimeoutError`,
* anything else → :class:`~jimu.errors.ExternalToolError`.

Output is hOCR with ``hocr_char_boxes=1``: it carries, in one pass, line/word boxes and per-character
boxes and confidences, which :func:`~jimu.extractors.engines.base.assemble` turns into the same text and
``char_confidences`` as tesserocr gives. (``image_to_data`` TSV only has word confidences.)

Speed
    Debian's tesseract is built with OpenMP, which on field-sized crops costs far more than it
    gains (40 one-line crops in one batch: ≈110 ms per crop with OpenMP threads, ≈15–25 ms
    without). Like OCRmyPDF, the engine runs tesseract with ``OMP_THREAD_LIMIT=1``: pytesseract
    passes ``os.environ`` to the child, so the engine sets it there with ``setdefault`` (an
    operator's own value wins). Parallelism belongs to the process pool.

Batches (:meth:`TesseractCliEngine.recognize_batch`), ``batch_mode``
    Requests are grouped by (lang, psm, whitelist, blacklist, dpi) — a tesseract run has one
    configuration — and each group of up to ``max_batch`` crops is read by one tesseract run.

    ``"pages"`` (default): the crops go in as the pages of one multi-page TIFF. Tesseract reads each
    page exactly as it reads a lone image, so results are identical to single calls (the tests check
    it), model loading is paid once per group, and psm 10/8/6 work as well as 7.

    ``"stack"``: one-line crops (psm 7/8) are stacked into one tall image with white gaps and read as
    a block (``stack_psm``, 6); each output line goes back to the crop whose band holds it; a crop
    falls back to a call of its own when its band holds no line but has ink, holds more than one
    line, or a line straddles two bands. It is about as fast as ``"pages"`` but reads a few crops
    differently from psm 7 (block-mode line finding sees other context: 38/40 the same with psm 6),
    so it is kept only for comparison.

    ``"single"``: one run per crop.

    Each run gets the full timeout; a group that fails as a whole raises, it is not retried crop by
    crop (a hung or missing tesseract would only fail again, ``len(reqs)`` times slower).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pytesseract
from PIL import Image

from jimu.errors import ExternalToolError, MissingDependencyError, OcrTimeoutError
from jimu.settings import get_settings

from .base import (
    RAW_LINE_PSM,
    OcrRequest,
    OcrResult,
    RawLine,
    RawSymbol,
    assemble,
    has_ink,
    wants_raw_line_retry,
)
from .tessdata import DEBIAN_PACKAGES, resolve_lang, tessdata_dir

APT_HINT = (
    "Install tesseract: sudo apt-get install tesseract-ocr "
    f"{DEBIAN_PACKAGES['jpn']} {DEBIAN_PACKAGES['Japanese']} (or set pytesseract's tesseract_cmd)."
)
STACKABLE_PSM = frozenset({7, 8})
BatchMode = Literal["pages", "stack", "single"]
LINE_CLASSES = frozenset({"ocr_line", "ocr_caption", "ocr_header", "ocr_textfloat"})
_BOX = tuple[int, int, int, int]


def _title(el: ET.Element) -> dict[str, str]:
    """``"bbox 1 2 3 4; x_wconf 92"`` → ``{"bbox": "1 2 3 4", "x_wconf": "92"}``."""
    out: dict[str, str] = {}
    for part in (el.get("title") or "").split(";"):
        key, _, value = part.strip().partition(" ")
        if key:
            out[key] = value.strip()
    return out


def _bbox(value: str | None) -> _BOX | None:
    if not value:
        return None
    nums = value.split()
    if len(nums) < 4:
        return None
    return int(nums[0]), int(nums[1]), int(nums[2]), int(nums[3])


def _text(el: ET.Element) -> str:
    return "".join(el.itertext())


def parse_hocr_pages(hocr: bytes) -> dict[int, list[RawLine]]:
    """Tesseract's hOCR (with ``hocr_char_boxes=1``) → page number (0-based) → lines of symbols."""
    try:
        root = ET.fromstring(hocr)
    except ET.ParseError as e:
        raise ExternalToolError(f"tesseract wrote hOCR that does not parse: {e}") from e
    pages: dict[int, list[RawLine]] = {}
    for n, page in enumerate(p for p in root.iter() if p.get("class") == "ocr_page"):
        pageno = _title(page).get("ppageno", "")
        pages[int(pageno) if pageno.isdigit() else n] = _page_lines(page)
    return pages


def parse_hocr(hocr: bytes) -> list[RawLine]:
    """All lines of all pages."""
    return [line for _, page in sorted(parse_hocr_pages(hocr).items()) for line in page]


def _page_lines(page: ET.Element) -> list[RawLine]:
    lines: list[RawLine] = []
    for line_el in page.iter():
        if line_el.get("class") not in LINE_CLASSES:
            continue
        lbox = _bbox(_title(line_el).get("bbox")) or (0, 0, 0, 1)
        line = RawLine(box=lbox, symbols=[])
        for word_el in line_el.iter():
            if word_el.get("class") != "ocrx_word":
                continue
            wt = _title(word_el)
            wconf = float(wt.get("x_wconf", "0"))
            chars = [c for c in word_el.iter() if c.get("class") == "ocrx_cinfo"]
            first = True
            if chars:
                for c in chars:
                    ct = _title(c)
                    text = _text(c)
                    if not text.strip():
                        continue
                    line.symbols.append(
                        RawSymbol(
                            text=text,
                            conf=float(ct.get("x_conf", wconf)),
                            box=_bbox(ct.get("x_bboxes")),
                            word_start=first,
                        )
                    )
                    first = False
            else:  # no per-character output: the word's confidence for each of its characters
                wbox = _bbox(wt.get("bbox"))
                for ch in _text(word_el).strip():
                    line.symbols.append(RawSymbol(text=ch, conf=wconf, box=wbox, word_start=first))
                    first = False
        lines.append(line)
    return lines


@dataclass
class _Stack:
    image: np.ndarray
    bands: list[tuple[int, int]]  # per crop, [y0, y1) of the stripe of the stacked image that is its own


def stack_crops(crops: list[np.ndarray], margin: int = 20) -> _Stack:
    """Crops one under another, left-aligned on white, with gaps about one crop high between them."""
    max_h = max(c.shape[0] for c in crops)
    max_w = max(c.shape[1] for c in crops)
    gap = max(32, min(max_h, 200))
    height = 2 * margin + sum(c.shape[0] for c in crops) + gap * (len(crops) - 1)
    out = np.full((height, max_w + 2 * margin), 255, dtype=np.uint8)
    bands: list[tuple[int, int]] = []
    y = margin
    for i, c in enumerate(crops):
        h, w = c.shape
        out[y : y + h, margin : margin + w] = c
        top = 0 if i == 0 else y - gap // 2
        bottom = height if i == len(crops) - 1 else y + h + (gap - gap // 2)
        bands.append((top, bottom))
        y += h + gap
    return _Stack(image=out, bands=bands)


class TesseractCliEngine:
    """:class:`~jimu.extractors.engines.base.OcrEngine` running the tesseract program through pytesseract."""

    name = "pytesseract"

    def __init__(
        self,
        tessdata: Path | None = None,
        timeout_s: float | None = None,
        *,
        oem: int = 1,
        batch_mode: BatchMode = "pages",
        max_batch: int = 64,
        stack_psm: int = 6,
        omp_thread_limit: int | None = 1,
    ) -> None:
        self.tessdata = tessdata if tessdata is not None else tessdata_dir()
        self.timeout_s = timeout_s if timeout_s is not None else get_settings().tesseract_timeout_s
        self.oem = oem
        self.batch_mode: BatchMode = batch_mode
        self.max_batch = max(1, max_batch)
        self.stack_psm = stack_psm
        if omp_thread_limit is not None:
            os.environ.setdefault("OMP_THREAD_LIMIT", str(omp_thread_limit))  # tesseract's variable (module docstring)
        self._versions: dict[str, str] = {}  # tesseract_cmd → version, probed once

    # ---------------------------------------------------------------------------------------------

    def version(self) -> str:
        """``tesseract --version`` of the binary pytesseract runs, e.g. ``"5.3.0"``.

        Run directly rather than through ``pytesseract.get_tesseract_version()``, which has no
        timeout and raises ``SystemExit`` on an unparseable version.
        """
        cmd = str(pytesseract.pytesseract.tesseract_cmd)
        if cmd in self._versions:
            return self._versions[cmd]
        try:
            proc = subprocess.run(
                [cmd, "--version"],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=self.timeout_s,
                check=False,
            )
        except FileNotFoundError as e:
            raise MissingDependencyError(f"the tesseract program was not found ({cmd!r})", hint=APT_HINT) from e
        except subprocess.TimeoutExpired as e:
            raise OcrTimeoutError(f"`tesseract --version` did not answer within {self.timeout_s:g} s") from e
        except OSError as e:
            raise ExternalToolError(f"cannot run {cmd!r}: {e}", hint=APT_HINT) from e
        raw = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        m = re.search(r"tesseract\s+v?(\d+\.\d+(?:\.\d+)?)", raw)
        if proc.returncode != 0 or m is None:
            raise ExternalToolError(
                f"`{cmd} --version` failed (exit {proc.returncode}): {raw.strip()[:200]!r}", hint=APT_HINT
            )
        version = m.group(1)
        if int(version.split(".")[0]) < 4:
            raise MissingDependencyError(f"tesseract {version} is too old; Jimu needs ≥ 4", hint=APT_HINT)
        self._versions[cmd] = version
        return version

    def recognize(self, req: OcrRequest) -> OcrResult:
        gray = req.gray
        if gray.size == 0:
            return OcrResult.empty()
        result = assemble(self._run(gray, req, req.psm), whitelist=req.whitelist)
        if wants_raw_line_retry(req, result, gray):
            result = assemble(self._run(gray, req, RAW_LINE_PSM), whitelist=req.whitelist)
        return result

    def recognize_batch(self, reqs: list[OcrRequest]) -> list[OcrResult]:
        results: list[OcrResult | None] = [None] * len(reqs)
        groups: dict[tuple[str, int, str | None, str | None, int], list[int]] = {}
        for i, req in enumerate(reqs):
            stackable = req.psm in STACKABLE_PSM or self.batch_mode != "stack"
            if self.batch_mode == "single" or not stackable or req.gray.size == 0:
                results[i] = self.recognize(req)
            else:
                psm = self.stack_psm if self.batch_mode == "stack" else req.psm
                groups.setdefault((req.lang, psm, req.whitelist, req.blacklist, req.dpi), []).append(i)
        for idxs in groups.values():
            for start in range(0, len(idxs), self.max_batch):
                chunk = idxs[start : start + self.max_batch]
                batch = [reqs[i] for i in chunk]
                if len(chunk) == 1:
                    out = [self.recognize(batch[0])]
                elif self.batch_mode == "stack":
                    out = self._stacked(batch)
                else:
                    out = self._paged(batch)
                for i, res in zip(chunk, out, strict=True):
                    results[i] = res
        return [r if r is not None else OcrResult.empty() for r in results]

    def close(self) -> None:
        """Nothing to release: each call is its own process."""

    # ---------------------------------------------------------------------------------------------

    def _paged(self, reqs: list[OcrRequest], psm: int | None = None) -> list[OcrResult]:
        """All crops (same lang/psm/whitelist) as the pages of one TIFF, read by one tesseract run."""
        crops = [r.gray for r in reqs]
        psm = reqs[0].psm if psm is None else psm
        with tempfile.TemporaryDirectory(prefix="jimu_ocr_") as tmp:
            path = Path(tmp) / "crops.tif"
            pages = [Image.fromarray(c, "L") for c in crops]
            dpi = (reqs[0].dpi, reqs[0].dpi)
            pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_lzw", dpi=dpi)
            per_page = parse_hocr_pages(self._tesseract(str(path), reqs[0], psm, crops[0].shape))
        out: list[OcrResult] = []
        retry: list[int] = []
        for i, req in enumerate(reqs):
            if i not in per_page:  # tesseract skipped the page: read this crop on its own
                out.append(self.recognize(req))
                continue
            res = assemble(per_page[i], whitelist=req.whitelist)
            if psm != RAW_LINE_PSM and wants_raw_line_retry(req, res, crops[i]):
                retry.append(i)
            out.append(res)
        if len(retry) == 1:
            out[retry[0]] = assemble(
                self._run(crops[retry[0]], reqs[retry[0]], RAW_LINE_PSM), whitelist=reqs[retry[0]].whitelist
            )
        elif retry:
            for i, res in zip(retry, self._paged([reqs[i] for i in retry], RAW_LINE_PSM), strict=True):
                out[i] = res
        return out

    def _stacked(self, reqs: list[OcrRequest]) -> list[OcrResult]:
        crops = [r.gray for r in reqs]
        st = stack_crops(crops)
        lines = self._run(st.image, reqs[0], self.stack_psm)
        per_band: list[list[RawLine]] = [[] for _ in reqs]
        bad: set[int] = set()
        for line in lines:
            if not any(s.text.strip() for s in line.symbols):
                continue
            y0, y1 = line.box[1], line.box[3]
            hit = [i for i, (b0, b1) in enumerate(st.bands) if y0 < b1 and y1 > b0]
            if len(hit) == 1:
                per_band[hit[0]].append(line)
            else:
                bad.update(hit)
        out: list[OcrResult] = []
        for i, req in enumerate(reqs):
            n = len(per_band[i])
            if i in bad or n > 1 or (n == 0 and has_ink(crops[i])):
                out.append(self.recognize(req))  # the stack did not split cleanly: read this crop alone
            else:
                out.append(assemble(per_band[i], whitelist=req.whitelist))
        return out

    def _config(self, req: OcrRequest, psm: int) -> str:
        args = [
            "--tessdata-dir", str(self.tessdata),
            "--psm", str(psm),
            "--oem", str(self.oem),
            "--dpi", str(int(req.dpi)),
            "-c", "hocr_char_boxes=1",
        ]  # fmt: skip
        if req.whitelist:
            args += ["-c", f"tessedit_char_whitelist={req.whitelist}"]
        if req.blacklist:
            args += ["-c", f"tessedit_char_blacklist={req.blacklist}"]
        return " ".join(shlex.quote(a) for a in args)

    def _run(self, gray: np.ndarray, req: OcrRequest, psm: int) -> list[RawLine]:
        return parse_hocr(self._tesseract(Image.fromarray(gray, "L"), req, psm, gray.shape))

    def _tesseract(self, image: Image.Image | str, req: OcrRequest, psm: int, shape: tuple[int, ...]) -> bytes:
        """One tesseract run → hOCR bytes, every failure mapped to a typed error."""
        self.version()  # probed once per binary: a clear error instead of a failing OCR call
        lang = resolve_lang(self.tessdata, req.lang)
        what = f"a {shape[1]}×{shape[0]} px image" if isinstance(image, Image.Image) else "a batch of crops"
        try:
            hocr = pytesseract.image_to_pdf_or_hocr(
                image, lang=lang, config=self._config(req, psm), extension="hocr", timeout=self.timeout_s
            )
        except pytesseract.TesseractNotFoundError as e:
            cmd = pytesseract.pytesseract.tesseract_cmd
            raise MissingDependencyError(f"the tesseract program was not found ({cmd!r})", hint=APT_HINT) from e
        except pytesseract.TesseractError as e:
            msg = str(getattr(e, "message", e))[:300]
            if "Failed loading language" in msg or "Error opening data file" in msg:
                raise MissingDependencyError(
                    f"tesseract could not load the model {lang!r}: {msg}", hint=APT_HINT
                ) from e
            raise ExternalToolError(f"tesseract failed on {what}: {msg}") from e
        except RuntimeError as e:  # pytesseract's timeout is a bare RuntimeError
            if "timeout" in str(e).lower():
                raise OcrTimeoutError(f"tesseract did not finish {what} within {self.timeout_s:g} s") from e
            raise ExternalToolError(f"tesseract failed on {what}: {e}") from e
        except OSError as e:
            raise ExternalToolError(f"cannot run tesseract: {e}", hint=APT_HINT) from e
        return bytes(hocr)

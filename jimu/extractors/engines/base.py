"""What every OCR engine takes and gives back, and the layout → text rules the engines share.

Both engines turn tesseract's output into the same intermediate form (:class:`RawLine` →
:class:`RawSymbol`) and call :func:`assemble` on it, so that the text of a crop does not depend on
which engine read it. The rules:

* Tesseract splits Japanese lines into arbitrary "words" and prints a space between them
  (``"千葉 市 中 央 区"``). Those spaces are dropped. A space is kept only between two words whose
  facing characters are both narrow (Latin letters, digits, ASCII punctuation), where tesseract's
  word break is reliable. Spaces between Japanese words are not reconstructed: the LSTM's symbol
  boxes are too rough to tell a typed space from the gap after a narrow kanji (tried: ~1 in 8 crops
  got a false space), so ``"山田 太郎"`` reads as ``"山田太郎"``.
* If the request has a whitelist without a space in it, no spaces are put in at all.
* Lines are joined with ``"\n"`` (only block modes, psm 6/4, give more than one line).
* ``char_confidences[i]`` belongs to ``text[i]``; an inserted space or newline carries the lower
  confidence of its two neighbours. ``confidence`` is the mean over the recognised symbols only.
* Symbols are NFC-normalised.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

VALID_PSM = frozenset({3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})  # 0-2 are layout/OSD only
INK_LEVEL = 128  # pixels darker than this are ink
MIN_INK_PIXELS = 12  # a crop with fewer ink pixels than this is blank
RAW_LINE_PSM = 13  # "raw line": the crop is one text line, no line finding at all


@dataclass(frozen=True)
class OcrRequest:
    """One crop to read.

    ``image`` is uint8 grayscale (H×W, 0 = ink) at ``dpi``; an H×W×3 RGB array is converted.
    ``lang`` is a tesseract language: ``"Japanese"`` (script model, the default for form fields),
    ``"jpn"``, ``"eng"`` or a ``+`` combination. ``psm`` is tesseract's page segmentation mode:
    7 single line, 8 single word, 10 single character, 6 uniform block. ``whitelist`` /
    ``blacklist`` restrict the characters tesseract may output. ``alternatives`` asks for the
    runner-up characters of every output character (tesserocr only).
    """

    image: np.ndarray
    lang: str = "Japanese"
    psm: int = 7
    whitelist: str | None = None
    blacklist: str | None = None
    dpi: int = 300
    alternatives: bool = False

    def __post_init__(self) -> None:
        if self.psm not in VALID_PSM:
            raise ValueError(f"psm {self.psm} is not a recognition mode (use 6, 7, 8 or 10)")
        if not isinstance(self.image, np.ndarray):
            raise TypeError("OcrRequest.image must be a numpy array")

    @property
    def gray(self) -> np.ndarray:
        """The crop as a C-contiguous uint8 H×W array."""
        return to_gray(self.image)


@dataclass
class OcrResult:
    """What an engine read in one crop.

    ``confidence`` is in [0, 1]: the mean of the per-symbol confidences, 0 when nothing was read.
    ``char_confidences`` has one value in [0, 1] per character of ``text`` (empty if the engine
    cannot tell). ``alternatives``, when asked for and available, has one list per character of
    ``text`` of ``(character, confidence)`` pairs, best first.
    """

    text: str
    confidence: float
    char_confidences: list[float] = field(default_factory=list)
    alternatives: list[list[tuple[str, float]]] | None = None

    @classmethod
    def empty(cls) -> OcrResult:
        return cls(text="", confidence=0.0, char_confidences=[])


@runtime_checkable
class OcrEngine(Protocol):
    """An OCR engine. Instances are meant to live for the whole process (see ``get_engine``)."""

    name: str

    def version(self) -> str:
        """The tesseract version behind the engine, e.g. ``"5.3.0"``; raises if it is missing."""
        ...

    def recognize(self, req: OcrRequest) -> OcrResult: ...

    def recognize_batch(self, reqs: list[OcrRequest]) -> list[OcrResult]:
        """One result per request, in order; same text as calling :meth:`recognize` on each."""
        ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------------------------------
# shared helpers


@dataclass
class RawSymbol:
    text: str
    conf: float  # tesseract's 0..100
    box: tuple[int, int, int, int] | None  # x0, y0, x1, y1 in pixels
    word_start: bool
    alternatives: list[tuple[str, float]] | None = None  # confidences 0..100


@dataclass
class RawLine:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels
    symbols: list[RawSymbol]


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 H×W, C-contiguous. Accepts H×W, H×W×1, H×W×3 (RGB) and H×W×4 (RGBA on white)."""
    if image.dtype != np.uint8:
        raise TypeError(f"OCR crops must be uint8, not {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        mode = "RGB" if image.shape[2] == 3 else "RGBA"
        pil = Image.fromarray(np.ascontiguousarray(image), mode)
        if mode == "RGBA":
            bg = Image.new("RGB", pil.size, (255, 255, 255))
            bg.paste(pil, mask=pil.getchannel("A"))
            pil = bg
        image = np.asarray(pil.convert("L"))
    if image.ndim != 2:
        raise ValueError(f"OCR crops must be H×W grayscale, not shape {image.shape}")
    return np.ascontiguousarray(image)


def has_ink(gray: np.ndarray) -> bool:
    return gray.size > 0 and int(np.count_nonzero(gray < INK_LEVEL)) >= MIN_INK_PIXELS


def wants_raw_line_retry(req: OcrRequest, result: OcrResult, gray: np.ndarray) -> bool:
    """Psm 7/8 came back empty although the crop has ink: read it again as a raw line (psm 13).

    Tesseract's line finder (5.3 and 5.5 alike) sometimes drops a whole one-line crop: with IPA
    Mincho at 9–12.5 pt every line starting with 緑 (as in 緑区) reads as nothing in psm 7, while psm
    13 reads it correctly. Psm 13 is worse in general (127 vs 178 of 200 test crops exact), so it is
    only the fallback.
    """
    return req.psm in (7, 8) and not result.text and has_ink(gray)


def _narrow(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("Na", "N") and not ch.isspace()


def _clip01(v: float) -> float:
    return min(1.0, max(0.0, v))


def assemble(lines: list[RawLine], *, whitelist: str | None = None, alternatives: bool = False) -> OcrResult:
    """Tesseract layout → :class:`OcrResult`, with the spacing rules of the module docstring."""
    spaces_allowed = not whitelist or " " in whitelist
    chars: list[str] = []
    confs: list[float] = []
    alts: list[list[tuple[str, float]]] = []
    symbol_confs: list[float] = []

    def sep(ch: str) -> None:
        left = confs[-1] if confs else 0.0
        chars.append(ch)
        confs.append(left)  # fixed up to min(left, right) when the next character arrives
        alts.append([])

    for line in lines:
        syms = [s for s in line.symbols if s.text.strip()]
        if not syms:
            continue
        if chars:
            sep("\n")
        prev: RawSymbol | None = None
        for sym in syms:
            text = unicodedata.normalize("NFC", sym.text.strip())
            if prev is not None and spaces_allowed and sym.word_start and _narrow(chars[-1]) and _narrow(text[0]):
                sep(" ")
            c = _clip01(sym.conf / 100.0)
            if chars and chars[-1] in (" ", "\n"):
                confs[-1] = min(confs[-1], c)
            symbol_confs.append(c)
            sym_alts = [(a, _clip01(ac / 100.0)) for a, ac in (sym.alternatives or [])]
            for ch in text:
                chars.append(ch)
                confs.append(c)
                alts.append(list(sym_alts))
            prev = sym

    if not symbol_confs:
        return OcrResult.empty()
    return OcrResult(
        text="".join(chars),
        confidence=sum(symbol_confs) / len(symbol_confs),
        char_confidences=confs,
        alternatives=alts if alternatives else None,
    )

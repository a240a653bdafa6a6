"""The fonts Jimu draws with, all from Debian packages (see README, 'Quick start' and 'Capture profiles').

``PRINT_FONTS`` maps a short name to ``(Debian package, file)``: the print fonts of the forms and
the fonts test copies are filled in (the pools the capture profiles draw from are in
:mod:`jimu.fixtures.fonts`). A font that lacks a character is replaced for that character by the
first of ``FALLBACK_FONTS`` that has it (:func:`font_for_char`), so a value never comes out as a
missing-glyph box.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path

from jimu.errors import MissingDependencyError

_YOZ = "/usr/share/fonts/truetype/yozvox-yozfont"
PRINT_FONTS: dict[str, tuple[str, str]] = {
    "gothic": ("fonts-ipafont-gothic", "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    "mincho": ("fonts-ipafont-mincho", "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf"),
    "seto": ("fonts-seto", "/usr/share/fonts/truetype/seto/setofont.ttf"),
    # hand-lettered
    "yoz-standard": ("fonts-yozvox-yozfont-standard-kana", f"{_YOZ}/YOzRSF.ttf"),
    "yoz-new-kana": ("fonts-yozvox-yozfont-new-kana", f"{_YOZ}/YOzRNF.ttf"),
    "yoz-edu": ("fonts-yozvox-yozfont-edu", f"{_YOZ}/YOzREF.ttf"),
    "yoz-cute": ("fonts-yozvox-yozfont-cute", f"{_YOZ}/YOzRCF.ttf"),
    "yoz-antique": ("fonts-yozvox-yozfont-antique", f"{_YOZ}/YOzRAF.ttf"),
    "aoyagi-soseki": ("fonts-aoyagi-soseki", "/usr/share/fonts/truetype/aoyagi-soseki/aoyagi-soseki.ttf"),
    # print
    "ipaex-gothic": ("fonts-ipaexfont-gothic", "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    "ipaex-mincho": ("fonts-ipaexfont-mincho", "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
    "takao-gothic": ("fonts-takao-gothic", "/usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf"),
    "takao-mincho": ("fonts-takao-mincho", "/usr/share/fonts/truetype/takao-mincho/TakaoMincho.ttf"),
    "vlgothic": ("fonts-vlgothic", "/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf"),
    "umeplus-gothic": ("fonts-umeplus", "/usr/share/fonts/truetype/umeplus/umeplus-gothic.ttf"),
    "hanazono": ("fonts-hanazono", "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
    "konatu": ("fonts-konatu", "/usr/share/fonts/truetype/konatu/Konatu.ttf"),
    "maruberi": ("fonts-motoya-l-maruberi", "/usr/share/fonts/truetype/motoya-l-maruberi/MTLmr3m.ttf"),
    "cedar": ("fonts-motoya-l-cedar", "/usr/share/fonts/truetype/motoya-l-cedar/MTLc3m.ttf"),
}
FALLBACK_FONTS: tuple[str, ...] = ("gothic", "mincho", "ipaex-gothic", "hanazono", "seto")


def font_path(name: str) -> Path:
    """Path of a named font, or a MissingDependencyError naming the Debian package to install."""
    if name not in PRINT_FONTS:
        p = Path(name)
        if p.exists():
            return p
        raise MissingDependencyError(f"font file '{name}' not found", hint=f"Use one of {list(PRINT_FONTS)}.")
    package, path = PRINT_FONTS[name]
    p = Path(path)
    if not p.exists():
        raise MissingDependencyError(
            f"font '{name}' is missing ({path})", hint=f"Install it: apt-get install -y {package}"
        )
    return p


def available(names: tuple[str, ...]) -> tuple[str, ...]:
    """The fonts of ``names`` that are installed (the profiles draw only from these)."""
    return tuple(n for n in names if Path(PRINT_FONTS[n][1]).exists())


@lru_cache(maxsize=64)
def codepoints(path: Path) -> frozenset[int]:
    """Code points the font's Unicode ``cmap`` maps to a real glyph (formats 4 and 12; TTC: first face)."""
    data = Path(path).read_bytes()
    off = struct.unpack(">I", data[12:16])[0] if data[:4] == b"ttcf" else 0
    tables = {}
    for i in range(struct.unpack(">H", data[off + 4 : off + 6])[0]):
        rec = off + 12 + 16 * i
        tables[data[rec : rec + 4]] = struct.unpack(">I", data[rec + 8 : rec + 12])[0]
    base = tables[b"cmap"]
    cps: set[int] = set()
    for i in range(struct.unpack(">H", data[base + 2 : base + 4])[0]):
        pid, _eid, sub = struct.unpack(">HHI", data[base + 4 + 8 * i : base + 12 + 8 * i])
        st = base + sub
        fmt = struct.unpack(">H", data[st : st + 2])[0]
        if pid not in (0, 3):
            continue
        if fmt == 4:
            cps |= _format4(data, st)
        elif fmt == 12:
            for k in range(struct.unpack(">I", data[st + 12 : st + 16])[0]):
                s, e, _g = struct.unpack(">III", data[st + 16 + 12 * k : st + 28 + 12 * k])
                cps.update(range(s, e + 1))
    return frozenset(cps)


def _format4(data: bytes, st: int) -> set[int]:
    segx2 = struct.unpack(">H", data[st + 6 : st + 8])[0]
    seg = segx2 // 2
    ends = struct.unpack(f">{seg}H", data[st + 14 : st + 14 + segx2])
    starts = struct.unpack(f">{seg}H", data[st + 16 + segx2 : st + 16 + 2 * segx2])
    deltas = struct.unpack(f">{seg}h", data[st + 16 + 2 * segx2 : st + 16 + 3 * segx2])
    roff_pos = st + 16 + 3 * segx2
    roffs = struct.unpack(f">{seg}H", data[roff_pos : roff_pos + segx2])
    out: set[int] = set()
    for k in range(seg):
        for c in range(starts[k], ends[k] + 1):
            if c == 0xFFFF:
                continue
            if roffs[k] == 0:
                g = (c + deltas[k]) & 0xFFFF
            else:
                gp = roff_pos + 2 * k + roffs[k] + 2 * (c - starts[k])
                g = struct.unpack(">H", data[gp : gp + 2])[0]
                g = (g + deltas[k]) & 0xFFFF if g else 0
            if g:
                out.add(c)
    return out


def has_glyph(font: Path, ch: str) -> bool:
    return ch.isspace() or ord(ch) in codepoints(font)


def font_for_char(font: Path, ch: str, fallbacks: tuple[Path, ...] = ()) -> Path:
    """``font`` when it has ``ch``, else the first fallback (or of ``FALLBACK_FONTS``) that has it."""
    if has_glyph(font, ch):
        return font
    extra = tuple(Path(PRINT_FONTS[n][1]) for n in available(FALLBACK_FONTS))
    for fb in fallbacks + extra:
        if has_glyph(fb, ch):
            return fb
    return font


def missing_chars(font: Path, text: str) -> str:
    """The characters of ``text`` that ``font`` has no glyph for (in order, once each)."""
    return "".join(dict.fromkeys(c for c in text if not has_glyph(font, c)))

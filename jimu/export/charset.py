"""Which characters a CP932 (Shift_JIS) file can hold, checked per character — never replaced.

``jis_x0208`` (the default) is what a core system in Shift_JIS holds: ASCII, half-width katakana and
JIS X 0208 (rows 1–8 and 16–84). ``cp932`` adds Windows' NEC and IBM extensions (①, ㈱, 髙, 﨑, …),
which a Windows client shows but many core systems do not hold. Neither allows the user-defined area
(外字, U+E000–), and a character is taken only when it comes back unchanged: Python's codec writes
〜 (U+301C) and − (U+2212) as the bytes of ～ and －, which would be a silent replacement.
IVS variation selectors (U+E0100–) and everything outside Shift_JIS are refused by both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

Charset = Literal["jis_x0208", "cp932"]
CHARSETS: tuple[Charset, ...] = ("jis_x0208", "cp932")

# lead bytes of JIS X 0208 in Shift_JIS: rows 1–8 (0x81–0x84) and kanji rows 16–84 (0x88–0x9F, 0xE0–0xEA)
_JIS_LEADS = frozenset([*range(0x81, 0x85), *range(0x88, 0xA0), *range(0xE0, 0xEB)])
_USER_DEFINED_LEADS = frozenset(range(0xF0, 0xFA))  # 外字 (Unicode private use area)


@lru_cache(maxsize=65536)
def holds(ch: str, charset: Charset = "jis_x0208") -> bool:
    """Whether one character is written to and read back from a CP932 file unchanged, within ``charset``."""
    try:
        raw = ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    if raw.decode("cp932") != ch:
        return False
    if len(raw) == 1:
        return raw[0] < 0x80 or 0xA1 <= raw[0] <= 0xDF
    if raw[0] in _USER_DEFINED_LEADS:
        return False
    return charset == "cp932" or raw[0] in _JIS_LEADS


def unencodable(text: str, charset: Charset = "jis_x0208") -> list[str]:
    """The characters of ``text`` that ``charset`` cannot hold, each once, in order of appearance."""
    out: list[str] = []
    for ch in text:
        if not holds(ch, charset) and ch not in out:
            out.append(ch)
    return out


def code_point(ch: str) -> str:
    """``U+9AD9``: how a character is named in logs and manifests (never the text it stands in)."""
    return f"U+{ord(ch):04X}"


def code_points(chars: list[str]) -> list[str]:
    return [code_point(c) for c in chars]

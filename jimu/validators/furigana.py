"""The furigana cross-check: does the katakana reading agree with the kanji name?

When a dictionary reading of the OCR'd kanji name equals the OCR'd katakana, two independent
readings agree, which is strong evidence that both are right. Given names have many readings,
so disagreement is *not* evidence of an error; only agreement counts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jimu.validators.japanese import to_katakana


@lru_cache(maxsize=1)
def _kakasi() -> Any:
    import pykakasi

    return pykakasi.kakasi()


def warm() -> None:
    """Load the reading dictionary now (about 0.7 s) rather than on the first name."""
    _kakasi()


@lru_cache(maxsize=4096)
def readings(name: str) -> frozenset[str]:
    """Plausible katakana readings of a kanji name (pykakasi's, with and without rendaku-free joins)."""
    parts = [to_katakana(p["kana"]) for p in _kakasi().convert(name) if p["kana"]]
    joined = "".join(parts)
    return frozenset({joined}) if joined else frozenset()


# characters whose legitimate variant (髙, 﨑) the recogniser cannot write and the reading cannot tell
# apart (both タカ): agreement vouches for the kana, not for which form of the name was written
UNTOLD_VARIANTS = frozenset("高崎")


def vouches_for_name(name: str | None) -> bool:
    """Whether a furigana agreement may raise the kanji name's confidence too."""
    return bool(name) and not (set(name or "") & UNTOLD_VARIANTS)


def agrees(name: str | None, kana: str | None) -> bool:
    if not name or not kana:
        return False
    return to_katakana(kana) in readings(name)

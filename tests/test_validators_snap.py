from __future__ import annotations

import pytest

from jimu.validators.glyphs import font_available
from jimu.validators.snap import VOCABULARIES, edit_distance, snap

REL = VOCABULARIES["relationship"]
ERA = VOCABULARIES["era"]

needs_font = pytest.mark.skipif(not font_available(), reason="no CJK font for glyph similarity")


def test_vocabularies() -> None:
    for word in "世帯主 妻 夫 子 父 母 孫 祖父 祖母 兄 弟 姉 妹 同居人 本人".split():
        assert word in REL
    assert ERA == ["明治", "大正", "昭和", "平成", "令和"]


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("", "", 0), ("abc", "abc", 0), ("世帯生", "世帯主", 1), ("kitten", "sitting", 3), ("", "ab", 2)],
)
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d
    assert edit_distance(b, a) == d


@pytest.mark.parametrize(
    ("value", "vocab", "expected", "snapped"),
    [
        ("世帯主", REL, "世帯主", False),  # exact
        (" 世帯主 ", REL, "世帯主", False),  # exact after normalisation
        ("世帯生", REL, "世帯主", True),
        ("世帯", REL, "世帯主", True),
        ("同居", REL, "同居人", True),
        ("本入", REL, "本人", True),
        ("x", REL, "x", False),  # every one-letter word is as near: ambiguous
        ("祖", REL, "祖", False),  # 祖父 or 祖母?
        ("ABCDE", REL, "ABCDE", False),  # too far
        ("", REL, "", False),
        ("平成", ERA, "平成", False),
        ("平戌", ERA, "平成", True),
        ("大止", ERA, "大正", True),
        ("xyz", [], "xyz", False),
    ],
)
def test_snap(value: str, vocab: list[str], expected: str, snapped: bool) -> None:
    r = snap(value, vocab)
    assert (r.value, r.snapped) == (expected, snapped)


@needs_font
def test_snap_tie_broken_by_look_alike_glyphs() -> None:
    # 只和 is one edit from both 昭和 and 令和; 只 looks like 昭, not 令
    r = snap("只和", ERA)
    assert r.value == "昭和" and r.snapped
    assert "令和" in r.candidates


def test_snap_candidates_for_review() -> None:
    r = snap("xyz", REL)
    assert not r.snapped and 0 < len(r.candidates) <= 3

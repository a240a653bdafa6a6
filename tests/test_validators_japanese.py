from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from jimu.validators.japanese import (
    ERA_BY_ID,
    ERAS,
    WarekiError,
    date_to_wareki,
    digits_only,
    int_to_kanji,
    is_katakana,
    kanji_to_int,
    nfkc_compact,
    parse_era_name,
    parse_wareki_text,
    to_katakana,
    wareki_to_date,
    wareki_to_iso,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("山田　太郎", "山田太郎"),
        (" 千葉市 中央区\t中央\n", "千葉市中央区中央"),
        ("ＡＢＣ１２３", "ABC123"),
        ("ﾔﾏﾀﾞ", "ヤマダ"),
        ("", ""),
    ],
)
def test_nfkc_compact(raw: str, expected: str) -> None:
    assert nfkc_compact(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("やまだ　たろう", "ヤマダタロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｰ", "ヤマダタロー"),
        ("スズキ・イチロー", "スズキ・イチロー"),
        ("すず-き", "スズーキ"),
        ("ゔぁ", "ヴァ"),
        ("カタカナ", "カタカナ"),
    ],
)
def test_to_katakana(raw: str, expected: str) -> None:
    assert to_katakana(raw) == expected
    assert is_katakana(to_katakana(raw))


@pytest.mark.parametrize(
    ("s", "ok"),
    [
        ("ヤマダタロウ", True),
        ("イチロー", True),
        ("スズキ・ハナコ", True),
        ("やまだ", False),
        ("ﾔﾏﾀﾞ", False),
        ("ヤマダ タロウ", False),
        ("ヤマダ　タロウ", False),
        ("山田", False),
        ("ABC", False),
        ("", False),
    ],
)
def test_is_katakana(s: str, ok: bool) -> None:
    assert is_katakana(s) is ok


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("０９０－１２３４－５６７８", "09012345678"),
        ("043(245)5111", "0432455111"),
        ("260ー0013", "2600013"),
        ("〒260-0013", "2600013"),
        ("1234 5678 9012", "123456789012"),
        ("12O4", "12O4"),  # a letter is kept so a validator can reject it
    ],
)
def test_digits_only(raw: str, expected: str) -> None:
    assert digits_only(raw) == expected


@pytest.mark.parametrize(
    ("s", "n"),
    [("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("四十五", 45), ("二〇", 20), ("7", 7), ("７", 7)],
)
def test_kanji_to_int(s: str, n: int) -> None:
    assert kanji_to_int(s) == n


@pytest.mark.parametrize("s", ["", "abc", "三a", "元"])
def test_kanji_to_int_rejects(s: str) -> None:
    assert kanji_to_int(s) is None


@pytest.mark.parametrize("n", [1, 3, 9, 10, 11, 20, 45, 99])
def test_int_to_kanji_round_trip(n: int) -> None:
    assert kanji_to_int(int_to_kanji(n)) == n


def test_era_table_matches_forms_md() -> None:
    assert [e.id for e in ERAS] == ["meiji", "taisho", "showa", "heisei", "reiwa"]
    assert ERA_BY_ID["meiji"].start == date(1868, 10, 23)
    assert ERA_BY_ID["meiji"].end == date(1912, 7, 29)
    assert ERA_BY_ID["taisho"].start == date(1912, 7, 30)
    assert ERA_BY_ID["taisho"].end == date(1926, 12, 24)
    assert ERA_BY_ID["showa"].start == date(1926, 12, 25)
    assert ERA_BY_ID["showa"].end == date(1989, 1, 7)
    assert ERA_BY_ID["heisei"].start == date(1989, 1, 8)
    assert ERA_BY_ID["heisei"].end == date(2019, 4, 30)
    assert ERA_BY_ID["reiwa"].start == date(2019, 5, 1)
    assert ERA_BY_ID["reiwa"].end is None
    for prev, nxt in pairwise(ERAS):
        assert prev.end is not None and prev.end + timedelta(days=1) == nxt.start


@pytest.mark.parametrize(
    ("era", "y", "m", "d", "expected"),
    [
        ("showa", 64, 1, 7, date(1989, 1, 7)),
        ("heisei", 1, 1, 8, date(1989, 1, 8)),
        ("reiwa", 1, 5, 1, date(2019, 5, 1)),
        ("heisei", 31, 4, 30, date(2019, 4, 30)),
        ("showa", 45, 3, 7, date(1970, 3, 7)),
        ("showa", 1, 12, 25, date(1926, 12, 25)),
        ("taisho", 15, 12, 24, date(1926, 12, 24)),
        ("meiji", 1, 10, 23, date(1868, 10, 23)),
        ("meiji", 45, 7, 29, date(1912, 7, 29)),
        ("taisho", 1, 7, 30, date(1912, 7, 30)),
        ("heisei", 4, 2, 29, date(1992, 2, 29)),
        ("reiwa", 6, 12, 31, date(2024, 12, 31)),
    ],
)
def test_wareki_to_date_valid(era: str, y: int, m: int, d: int, expected: date) -> None:
    assert wareki_to_date(era, y, m, d) == expected
    assert date_to_wareki(expected) == (era, y, m, d)


@pytest.mark.parametrize(
    ("era", "y", "m", "d", "reason"),
    [
        ("showa", 64, 1, 8, "after"),
        ("heisei", 1, 1, 7, "before"),
        ("heisei", 31, 5, 1, "after"),
        ("reiwa", 1, 4, 30, "before"),
        ("showa", 1, 12, 24, "before"),
        ("taisho", 15, 12, 25, "after"),
        ("meiji", 1, 10, 22, "before"),
        ("showa", 65, 1, 1, "past the end"),
        ("heisei", 32, 1, 1, "past the end"),
        ("showa", 0, 5, 5, "1 or more"),
        ("heisei", 3, 2, 29, "no such"),
        ("showa", 45, 13, 1, "no such"),
        ("showa", 45, 4, 31, "no such"),
        ("edo", 1, 1, 1, "unknown era"),
    ],
)
def test_wareki_to_date_invalid(era: str, y: int, m: int, d: int, reason: str) -> None:
    with pytest.raises(WarekiError, match=reason):
        wareki_to_date(era, y, m, d)


def test_wareki_error_is_value_error() -> None:
    assert issubclass(WarekiError, ValueError)


def test_date_to_wareki_before_meiji() -> None:
    with pytest.raises(WarekiError):
        date_to_wareki(date(1868, 10, 22))


@pytest.mark.parametrize(
    ("text", "era"),
    [
        ("明治", "meiji"),
        ("大正", "taisho"),
        ("昭和", "showa"),
        ("平成", "heisei"),
        ("令和", "reiwa"),
        ("明", "meiji"),
        ("大", "taisho"),
        ("昭", "showa"),
        ("平", "heisei"),
        ("令", "reiwa"),
        ("M", "meiji"),
        ("T", "taisho"),
        ("S", "showa"),
        ("H", "heisei"),
        ("R", "reiwa"),
        ("ｓ", "showa"),
        (" 昭和 ", "showa"),
        ("㍻", "heisei"),
    ],
)
def test_parse_era_name(text: str, era: str) -> None:
    assert parse_era_name(text) == era


@pytest.mark.parametrize("text", ["", "西暦", "X", "昭平", "只和"])
def test_parse_era_name_unknown(text: str) -> None:
    assert parse_era_name(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昭和45年3月7日", date(1970, 3, 7)),
        ("昭和４５年３月７日", date(1970, 3, 7)),
        ("昭和 45 年 3 月 7 日", date(1970, 3, 7)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("昭和四十五年三月七日", date(1970, 3, 7)),
        ("S45.3.7", date(1970, 3, 7)),
        ("H31/4/30", date(2019, 4, 30)),
        ("R2-1-31", date(2020, 1, 31)),
        ("1970-03-07", date(1970, 3, 7)),
        ("2020/1/31", date(2020, 1, 31)),
        ("2020年1月31日", date(2020, 1, 31)),
    ],
)
def test_parse_wareki_text(text: str, expected: date) -> None:
    assert parse_wareki_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "平成元年1月7日",
        "昭和64年1月8日",
        "平成31年5月1日",
        "昭和0年1月1日",
        "2021-02-29",
        "江戸3年1月1日",
        "昭和45年",
        "",
        "hello",
    ],
)
def test_parse_wareki_text_invalid(text: str) -> None:
    with pytest.raises(WarekiError):
        parse_wareki_text(text)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        (("showa", 45, 3, 7), "1970-03-07"),
        (("heisei", 1, 1, 8), "1989-01-08"),
        (("heisei", 1, 1, 7), None),  # still 昭和64年
        (("reiwa", 2, 2, 30), None),
        (("showa", None, 3, 7), None),
        ((None, 45, 3, 7), None),
        (None, None),
        ((), None),
    ],
)
def test_wareki_to_iso(raw: tuple[object, ...] | None, iso: str | None) -> None:
    assert wareki_to_iso(raw) == iso

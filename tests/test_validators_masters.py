from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from jimu.errors import MissingDependencyError
from jimu.validators import masters
from jimu.validators.masters import (
    AddressParts,
    bank_exists,
    bank_name,
    branch_exists,
    chiba_towns,
    format_town,
    norm_ward,
    postal_lookup,
    split_chiba_address,
    split_chome,
    town_exists,
    towns_by_ward,
    zip_matches_address,
    zips_for_town,
)

CHUO = "千葉市中央区"


def test_master_loaded() -> None:
    towns = chiba_towns()
    assert len(towns) == 6
    assert set(towns) >= {CHUO, "千葉市美浜区", "千葉市花見川区"}
    assert "中央三丁目" in towns_by_ward()[CHUO]
    assert "今井町" in towns_by_ward()[CHUO]


@pytest.mark.parametrize(
    ("town", "expected"),
    [
        ("中央三丁目", ("中央", 3)),
        ("中央3丁目", ("中央", 3)),
        ("中央３丁目", ("中央", 3)),
        ("あすみが丘東一丁目", ("あすみが丘東", 1)),
        ("今井町", ("今井町", None)),
        ("五十土町", ("五十土町", None)),
        ("松ヶ丘町", ("松ケ丘町", None)),
    ],
)
def test_split_chome(town: str, expected: tuple[str, int | None]) -> None:
    assert split_chome(town) == expected


def test_format_town() -> None:
    assert format_town("中央", 3) == "中央三丁目"
    assert format_town("今井町", None) == "今井町"


@pytest.mark.parametrize("ward", ["中央区", "千葉市中央区", "千葉県千葉市中央区", " 中央区 "])
def test_norm_ward(ward: str) -> None:
    assert norm_ward(ward) == CHUO


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("千葉市中央区中央3丁目4番5号", (CHUO, "中央", 3, "4番5号")),
        ("千葉市中央区中央三丁目4-5", (CHUO, "中央", 3, "4-5")),
        ("千葉県千葉市中央区中央三丁目4-5", (CHUO, "中央", 3, "4-5")),
        ("千葉県 千葉市 中央区 中央３丁目４－５", (CHUO, "中央", 3, "4-5")),
        ("千葉市中央区中央3-4-5", (CHUO, "中央", 3, "4-5")),
        ("千葉市中央区中央港1丁目2番", (CHUO, "中央港", 1, "2番")),  # longest town wins
        ("千葉市中央区今井町12番地", (CHUO, "今井町", None, "12番地")),
        ("千葉市中央区今井2-1-1", (CHUO, "今井", 2, "1-1")),
        ("千葉市中央区都町3-4-5", (CHUO, "都町", 3, "4-5")),  # 都町 has 丁目 and a part without
        ("千葉市中央区都町12-3", (CHUO, "都町", None, "12-3")),
        ("千葉市中央区松ヶ丘町1", (CHUO, "松ケ丘町", None, "1")),
        ("千葉市緑区あすみが丘東一丁目2番3号", ("千葉市緑区", "あすみが丘東", 1, "2番3号")),
        ("千葉市中央区中央9丁目1番", (CHUO, "中央", 9, "1番")),  # parsed; 丁目 checked separately
    ],
)
def test_split_chiba_address(addr: str, expected: tuple[str, str, int | None, str]) -> None:
    parts = split_chiba_address(addr)
    assert parts == AddressParts(*expected)


@pytest.mark.parametrize(
    "addr",
    [
        "船橋市本町1-1",
        "東京都千代田区千代田1-1",
        "千葉市中区中央3-4-5",
        "千葉市中央区存在しない町1",
        "",
        "千葉県",
    ],
)
def test_split_chiba_address_none(addr: str) -> None:
    assert split_chiba_address(addr) is None


@pytest.mark.parametrize(
    ("ward", "town", "chome", "ok"),
    [
        ("中央区", "中央三丁目", None, True),
        ("中央区", "中央3丁目", None, True),
        ("千葉市中央区", "中央", 3, True),
        ("中央区", "中央", None, True),
        ("中央区", "今井町", None, True),
        ("中央区", "中央九丁目", None, False),
        ("中央区", "中央", 9, False),
        ("緑区", "中央", None, False),
        ("中央区", "存在町", None, False),
        ("港区", "中央", None, False),
    ],
)
def test_town_exists(ward: str, town: str, chome: int | None, ok: bool) -> None:
    assert town_exists(ward, town, chome) is ok


def test_csv_with_digit_chome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    csv = tmp_path / "chiba_city_towns.csv"
    csv.write_text("ward,town,koaza,zip\r\n千葉市中央区,中央3丁目,,\r\n中央区,今井町,,\r\n", encoding="utf-8")
    monkeypatch.setattr(masters, "get_settings", lambda: SimpleNamespace(towns_csv=csv))
    assert town_exists("中央区", "中央三丁目")
    assert town_exists("中央区", "今井町")
    assert not town_exists("中央区", "中央四丁目")
    assert split_chiba_address("千葉市中央区中央三丁目4-5") == AddressParts(CHUO, "中央", 3, "4-5")


def test_missing_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(masters, "get_settings", lambda: SimpleNamespace(towns_csv=tmp_path / "nope.csv"))
    with pytest.raises(MissingDependencyError):
        town_exists("中央区", "中央")


@pytest.mark.parametrize(
    ("zip7", "expected"),
    [
        ("2600013", [("千葉県", "千葉市中央区", "中央")]),
        ("260-0013", [("千葉県", "千葉市中央区", "中央")]),
        ("1000001", [("東京都", "千代田区", "千代田")]),
        ("2600000", [("千葉県", "千葉市中央区", "")]),
    ],
)
def test_postal_lookup(zip7: str, expected: list[tuple[str, str, str]]) -> None:
    assert postal_lookup(zip7) == expected


def test_postal_lookup_alternates() -> None:
    towns = {t for _, _, t in postal_lookup("2600822")}
    assert {"蘇我", "蘇我町"} <= towns


@pytest.mark.parametrize("zip7", ["0000000", "260001", "26000133", "abcdefg", ""])
def test_postal_lookup_unknown(zip7: str) -> None:
    assert postal_lookup(zip7) == []


def test_postal_lookup_from_another_thread() -> None:
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(postal_lookup("2610023")))
    t.start()
    t.join()
    assert out == [[("千葉県", "千葉市美浜区", "中瀬")]]


@pytest.mark.parametrize(
    ("ward", "town", "expected"),
    [
        ("中央区", "中央三丁目", ["2600013"]),
        ("千葉市中央区", "中央", ["2600013"]),
        ("中央区", "蘇我町", ["2600822"]),
        ("中央区", "今井町", ["2600815"]),
        ("中央区", "道場北町", ["2600000"]),  # in the master, not listed by Japan Post: ward catch-all
        ("中央区", "存在町", []),
        ("緑区", "中央", []),
    ],
)
def test_zips_for_town(ward: str, town: str, expected: list[str]) -> None:
    assert zips_for_town(ward, town) == expected


WARDS = ["千葉市中央区", "千葉市稲毛区", "千葉市緑区", "千葉市美浜区", "千葉市花見川区", "千葉市若葉区"]


def test_the_wards_are_the_masters_wards() -> None:
    assert sorted(chiba_towns()) == sorted(WARDS)


@pytest.mark.parametrize("ward", WARDS)
def test_every_master_town_has_a_zip(ward: str) -> None:
    towns = chiba_towns()[ward]
    assert towns
    without = [town for town in towns if not zips_for_town(ward, town)]
    assert without == []
    unknown = [(town, c) for town in towns for c in zips_for_town(ward, town) if not postal_lookup(c)]
    assert unknown == []


@pytest.mark.parametrize(
    ("zip7", "addr", "ok"),
    [
        ("2600013", "千葉市中央区中央3丁目4番5号", True),
        ("2600013", "千葉県千葉市中央区中央三丁目4-5", True),
        ("260-0013", "千葉市中央区中央3-4-5", True),
        ("2600014", "千葉市中央区中央3-4-5", False),
        ("2600834", "千葉市中央区今井2-1-1", True),
        ("2600815", "千葉市中央区今井2-1-1", False),  # 今井町's code, not 今井's
        ("2600822", "千葉市中央区蘇我町1", True),
        ("1000001", "東京都千代田区千代田1-1", True),
        ("1000001", "千代田区千代田1-1", True),
        ("1000001", "東京都港区芝公園4-2-8", False),
        ("0000000", "千葉市中央区中央3-4-5", False),
        ("abc", "千葉市中央区中央3-4-5", False),
    ],
)
def test_zip_matches_address(zip7: str, addr: str, ok: bool) -> None:
    assert zip_matches_address(zip7, addr) is ok


@pytest.mark.parametrize(("code", "ok"), [("0001", True), ("0005", True), ("9999", False), ("001", False), ("", False)])
def test_bank_exists(code: str, ok: bool) -> None:
    assert bank_exists(code) is ok


@pytest.mark.parametrize(
    ("bank", "branch", "ok"),
    [("0001", "001", True), ("0001", "999", False), ("9999", "001", False), ("0001", "01", False)],
)
def test_branch_exists(bank: str, branch: str, ok: bool) -> None:
    assert branch_exists(bank, branch) is ok


def test_bank_name() -> None:
    assert bank_name("0001") == "みずほ"
    assert bank_name("9999") is None

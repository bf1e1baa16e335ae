"""Plausible applicants and their families, from the name pools in ``data/names.json`` and the
Chinese characters in ``data/hanzi.json`` (read once, relative to this module).

Shared by the curated demo stories and the bulk loader.
"""

from __future__ import annotations

import json
import random
import unicodedata
from bisect import bisect
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate
from pathlib import Path

from backoffice.core.identity import hkid_check_digit

DATA_DIR = Path(__file__).with_name("data")


def load_data(name: str) -> dict:
    """One of the demo's data files (``data/<name>.json``)."""
    with (DATA_DIR / f"{name}.json").open(encoding="utf-8") as file:
        return json.load(file)


@dataclass(frozen=True)
class Nation:
    """Name pools and document formats for one nationality (ISO 3166-1 alpha-2)."""

    code: str
    family: tuple[str, ...]
    male: tuple[str, ...]
    female: tuple[str, ...]
    passport: str  # 'A' a letter, '9' a digit, anything else literal
    phone: str  # international prefix
    # Chinese-name style: None, "pinyin" (simplified), "taiwan" or "cantonese" (traditional)
    chinese: str | None = None


_NAMES = load_data("names")
NATIONS: dict[str, Nation] = {
    code: Nation(code, tuple(n["family"]), tuple(n["male"]), tuple(n["female"]), n["passport"],
                 n["phone"], n["chinese"])
    for code, n in _NAMES["nations"].items()}
# Chinese characters for the romanised names (simplified for pinyin, traditional for Taiwan and
# Cantonese). A romanisation without an entry simply gets no Chinese name.
HANZI: dict[str, dict[str, str]] = load_data("hanzi")
CANTONESE_FAMILY = tuple(_NAMES["cantonese"]["family"])
CANTONESE_MALE = tuple(_NAMES["cantonese"]["male"])
CANTONESE_FEMALE = tuple(_NAMES["cantonese"]["female"])
# Second-generation applicants abroad often carry an English name before the Chinese one.
ENGLISH_MALE = tuple(_NAMES["english"]["male"])
ENGLISH_FEMALE = tuple(_NAMES["english"]["female"])
# Countries where the ASSG's "emigrated overseas" families most often settled.
ASSG_NATIONS = tuple(_NAMES["assg_nations"])
HKID_PREFIXES = tuple(_NAMES["hkid_prefixes"])
# Weights for who applies: heaviest from the Mainland, then a long, realistic tail.
NATION_WEIGHTS: dict[str, int] = _NAMES["nation_weights"]
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_DIGITS = "0123456789"
_NATIONS_LIST = list(NATION_WEIGHTS)
_NATIONS_CUM = list(accumulate(NATION_WEIGHTS.values()))
_NATIONS_TOTAL = _NATIONS_CUM[-1] + 0.0
_NATIONS_LAST = len(_NATIONS_CUM) - 1


@dataclass(frozen=True, slots=True)
class Person:
    family_name: str
    given_names: str
    chinese_name: str | None
    date_of_birth: date
    nationality: str
    passport_number: str
    hkid: str | None


def _pattern(rng: random.Random, pattern: str) -> str:
    return "".join(rng.choice(_LETTERS) if ch == "A" else rng.choice(_DIGITS) if ch == "9"
                   else ch for ch in pattern)


def make_hkid(rng: random.Random) -> str:
    """A random HKID with a valid check digit, in the canonical 'A123456(3)' form."""
    prefix = rng.choice(HKID_PREFIXES)
    digits = f"{rng.randrange(1_000_000):06d}"
    return f"{prefix}{digits}({hkid_check_digit(prefix, digits)})"


def _dob(rng: random.Random, on: date, age: int) -> date:
    """A date of birth that makes someone ``age`` or ``age - 1`` on ``on`` (never older)."""
    return date(on.year - age, rng.randint(1, 12), rng.randint(1, 28))


def make_person(rng: random.Random, nationality: str, *, on: date, age: int,
                female: bool | None = None, family_name: str | None = None,
                cantonese: bool = False, hkid_share: float = 0.1) -> Person:
    """A plausible person of ``nationality`` aged ``age`` (or one less) on ``on``.

    ``cantonese`` gives a Hong Kong family name, an English plus a Cantonese given name and
    the Chinese name in traditional characters (second-generation applicants and their kin).
    """
    nation = NATIONS[nationality]
    female = rng.random() < 0.45 if female is None else female
    if cantonese:
        family = family_name or rng.choice(CANTONESE_FAMILY)
        chinese_given = rng.choice(CANTONESE_FEMALE if female else CANTONESE_MALE)
        english = rng.choice(ENGLISH_FEMALE if female else ENGLISH_MALE)
        given = f"{english} {chinese_given}"
        table = HANZI["cantonese"]
        chinese = table[family] + table[chinese_given] if family in table else None
    else:
        family = family_name or rng.choice(nation.family)
        given = rng.choice(nation.female if female else nation.male)
        if nation.chinese is None and rng.random() < 0.2:
            given = f"{given} {rng.choice(nation.female if female else nation.male)}"
            if given.split(" ")[0] == given.split(" ")[-1]:
                given = given.split(" ")[0]
        chinese = None
        table = HANZI.get(nation.chinese or "", {})
        if family in table and given in table:
            chinese = table[family] + table[given]
    return Person(
        family_name=family, given_names=given, chinese_name=chinese,
        date_of_birth=_dob(rng, on, age), nationality=nationality,
        passport_number=_pattern(rng, nation.passport),
        hkid=make_hkid(rng) if rng.random() < hkid_share else None)


@cache
def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == " "))
    return kept.lower().replace(" ", "")


def email_for(person: Person, n: int, domain: str) -> str:
    return (f"{_ascii(person.given_names.split(' ')[0])}.{_ascii(person.family_name)}{n}"
            f"@{domain}")


def phone_for(rng: random.Random, nationality: str) -> str:
    if rng.random() < 0.5:  # a Hong Kong mobile number
        return f"+852 {rng.choice('569')}{rng.randrange(1000):03d} {rng.randrange(10000):04d}"
    return f"{NATIONS[nationality].phone} {rng.randrange(10**8, 10**9)}"


def pick_nationality(rng: random.Random) -> str:
    # What rng.choices(_NATIONS_LIST, cum_weights=_NATIONS_CUM)[0] draws, from the same
    # random(), without its checks of the weights on every call (2.3 us, now 0.3).
    return _NATIONS_LIST[bisect(_NATIONS_CUM, rng.random() * _NATIONS_TOTAL, 0, _NATIONS_LAST)]


def language_of(person: Person) -> str:
    """The language a made-up applicant is written to in: Chinese for one with a Chinese
    name (no random draw, so the other made-up values stay as they were)."""
    return "zh_Hant_HK" if person.chinese_name else "en"

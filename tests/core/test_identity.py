"""Identity data rules: HKID check digits, passports, masking, nationalities.

Known-valid HKID numbers, derived by hand with the published algorithm
(pad a one-letter prefix with a space = 36; A=10 ... Z=35; weights 9..2;
check = (11 - total % 11) % 11, 10 written as 'A'):

  A123456: 36*9 + 10*8 + 1*7 + 2*6 + 3*5 + 4*4 + 5*3 + 6*2
         = 324 + 80 + 7 + 12 + 15 + 16 + 15 + 12 = 481;   481 % 11 = 8  -> 11 - 8 = 3
  AB987654: 10*9 + 11*8 + 9*7 + 8*6 + 7*5 + 6*4 + 5*3 + 4*2
         = 90 + 88 + 63 + 48 + 35 + 24 + 15 + 8 = 371;     371 % 11 = 8  -> 3
  G123456: 36*9 + 16*8 + 77 (the digits as for A123456)
         = 324 + 128 + 77 = 529;                           529 % 11 = 1  -> 10 -> 'A'
  A123452: the A123456 total with the last digit 6 -> 2 (weight 2): 481 - 8 = 473 = 43*11,
         473 % 11 = 0 -> (11 - 0) % 11 = 0
  Z683365: 36*9 + 35*8 + 6*7 + 8*6 + 3*5 + 3*4 + 6*3 + 5*2
         = 324 + 280 + 42 + 48 + 15 + 12 + 18 + 10 = 749;  749 % 11 = 1  -> 'A'
  XA000000: 33*9 + 10*8 = 297 + 80 = 377;                  377 % 11 = 3  -> 8
"""

from __future__ import annotations

import unicodedata

import pytest

from backoffice.core.identity import (
    country_choices,
    country_name,
    hkid_check_digit,
    mask_hkid,
    mask_passport,
    normalise_country,
    normalise_hkid,
    normalise_passport,
)


def _fullwidth(text: str) -> str:
    """Return ``text`` as a Chinese input method types it: ASCII shifted to full-width forms."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


# --- HKID ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "digits", "check"),
    [
        ("A", "123456", "3"),
        ("AB", "987654", "3"),
        ("G", "123456", "A"),
        ("A", "123452", "0"),
        ("Z", "683365", "A"),
        ("XA", "000000", "8"),
    ],
)
def test_hkid_check_digit_hand_derived(prefix, digits, check):
    assert hkid_check_digit(prefix, digits) == check


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("A123456(3)", "A123456(3)"),
        ("a1234563", "A123456(3)"),
        ("A123456 (3)", "A123456(3)"),
        (" a 123 456 ( 3 ) ", "A123456(3)"),
        ("AB987654(3)", "AB987654(3)"),
        ("ab 987654 3", "AB987654(3)"),
        ("AB 987 654 (3)", "AB987654(3)"),
        ("G123456(A)", "G123456(A)"),
        ("g123456a", "G123456(A)"),
        ("A123452(0)", "A123452(0)"),
        ("Z683365(A)", "Z683365(A)"),
        ("XA000000(8)", "XA000000(8)"),
        # Full-width characters, as a Chinese input method types them.
        (_fullwidth("A123456(3)"), "A123456(3)"),
        ("A123456\t(3)\n", "A123456(3)"),
    ],
)
def test_normalise_hkid_accepts(raw, canonical):
    assert normalise_hkid(raw) == canonical
    # Canonical form is a fixed point.
    assert normalise_hkid(canonical) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "A12345(3)",  # five digits
        "A1234567(3)",  # seven digits
        "123456(3)",  # no letter
        "ABC123456(3)",  # three letters
        "A123456",  # no check digit
        "A123456(3",  # unbalanced brackets
        "A123456)3(",
        "A123456(B)",  # check digit must be 0-9 or A
        "A123456(33)",
        "A-123456(3)",
        "A12345٦(3)",  # Arabic-Indic six: a digit to Python, not to an HKID
        "1A23456(3)",
    ],
)
def test_normalise_hkid_wrong_shape(raw):
    with pytest.raises(ValueError, match="one or two letters, six digits and a check digit"):
        normalise_hkid(raw)


@pytest.mark.parametrize(
    ("raw", "correct"),
    [
        ("A123456(4)", "3"),
        ("A123456(A)", "3"),
        ("AB987654(0)", "3"),
        ("G123456(1)", "A"),
        ("A123452(9)", "0"),
        ("XA000000(A)", "8"),
    ],
)
def test_normalise_hkid_wrong_check_digit_does_not_leak(raw, correct):
    with pytest.raises(ValueError, match="check digit does not match") as excinfo:
        normalise_hkid(raw)
    message = str(excinfo.value)
    # The message must not be a check-digit oracle: no digit, and not the expected one.
    assert correct not in message.replace("HKID", "")
    assert not any(ch.isdigit() for ch in message)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("A123456(3)", "A123***(*)"),
        ("AB987654(3)", "AB987***(*)"),
        ("G123456(A)", "G123***(*)"),
        ("a1234563", "A123***(*)"),
        # A stored legacy value with a bad check digit still masks, never raises.
        ("A123456(4)", "A123***(*)"),
        ("garbage", "*******(*)"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_hkid(value, masked):
    assert mask_hkid(value) == masked


# --- passport -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("K12345678", "K12345678"),
        ("k1234 5678", "K12345678"),
        (" e 1234567 ", "E1234567"),
        ("12345", "12345"),  # shortest allowed
        ("A" * 20, "A" * 20),  # longest allowed
        (_fullwidth("k12345"), "K12345"),  # full-width input
    ],
)
def test_normalise_passport_accepts(raw, canonical):
    assert normalise_passport(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "    ",
        "1234",  # too short
        "A" * 21,  # too long
        "K1234-5678",
        "K1234/5678",
        "K1234567É",
        "护照12345",
        "stra\u00dfe1",  # "ß" must not be upper-cased into "SS"
        "\u24602345",  # a circled one is not a digit
    ],
)
def test_normalise_passport_rejects(raw):
    with pytest.raises(ValueError, match="5 to 20 letters"):
        normalise_passport(raw)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("K12345678", "•••••678"),
        ("12345", "•••••345"),
        ("A" * 17 + "XYZ", "•••••XYZ"),
        ("abc", "••••••••"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_passport(value, masked):
    assert mask_passport(value) == masked


def test_mask_passport_hides_length():
    # Constant shape: numbers of different lengths mask to strings of the same length.
    assert len({len(mask_passport(v)) for v in ("12345", "K12345678", "A" * 20)}) == 1


# --- countries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [("GB", "GB"), ("gb", "GB"), (" ph ", "PH"), ("la", "LA"), ("VN", "VN"), ("Hk", "HK")],
)
def test_normalise_country_accepts(raw, code):
    assert normalise_country(raw) == code


@pytest.mark.parametrize(
    "raw",
    ["", "G", "GBR", "UK", "ZZ", "XK", "United Kingdom", "G1", "ÉÉ"],
)
def test_normalise_country_rejects(raw):
    with pytest.raises(ValueError, match="two-letter ISO 3166-1 country code"):
        normalise_country(raw)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("LA", "Laos"),
        ("VN", "Vietnam"),
        ("GB", "United Kingdom"),
        ("hk", "Hong Kong"),
        ("PH", "Philippines"),
    ],
)
def test_country_name(code, name):
    assert country_name(code) == name


def test_country_name_unknown():
    with pytest.raises(ValueError, match="ISO 3166-1"):
        country_name("ZZ")


@pytest.mark.parametrize(("code", "locale", "name"), [
    ("JP", "en", "Japan"), ("JP", "zh_Hant_HK", "日本"), ("JP", "en", "Japan"),
    ("ZZ", "en", None), ("ZZ", "zh_Hant_HK", None),
])
def test_country_names_are_kept_per_code_and_language(code, locale, name):
    # Twice each: the second answer comes from the cache and must be the first's.
    for _ in range(2):
        if name is None:
            with pytest.raises(ValueError):
                country_name(code, locale)
        else:
            assert country_name(code, locale) == name


def test_country_choices_sorted_by_name_and_complete():
    choices = country_choices()
    assert len(choices) >= 249
    codes = [code for code, _ in choices]
    assert len(codes) == len(set(codes))
    assert ("LA", "Laos") in choices
    names = [name for _, name in choices]
    # Accents do not push a country to the end of the list.
    assert names.index("Åland Islands") < names.index("Albania")
    assert names[0] == "Afghanistan"
    assert names.index("Côte d'Ivoire") < names.index("Croatia")

    def without_accents(name: str) -> str:
        decomposed = unicodedata.normalize("NFKD", name)
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()

    assert names == sorted(names, key=without_accents)


def test_country_choices_returns_a_fresh_list():
    choices = country_choices()
    choices.insert(0, ("", "— choose —"))
    assert country_choices()[0] != ("", "— choose —")

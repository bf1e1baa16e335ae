"""Identity data rules: HKID and passport numbers, their masked forms, and nationalities.

Every ``normalise_*`` function takes what a person typed and returns the one canonical form
the database stores, or raises ``ValueError`` whose message can be shown on the form as is.
The messages never echo what the correct value would have been (for an HKID that would turn
the form into a check-digit oracle).

No database. Country names are in the reader's language: the locale Flask-Babel chose for
the request (English outside one), or the one a caller names. Safe to import anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pycountry
from babel import Locale, UnknownLocaleError
from flask_babel import get_locale

__all__ = [
    "country_choices",
    "country_name",
    "hkid_check_digit",
    "mask_hkid",
    "mask_passport",
    "normalise_country",
    "normalise_hkid",
    "normalise_passport",
]

# Full-width forms U+FF01..U+FF5E mirror ASCII "!".."~" at a fixed offset; Chinese input methods
# type them. Only these are mapped: a general NFKC pass would also turn "①" into "1" and
# upper-casing non-ASCII would turn "ß" into "SS", quietly accepting what nobody typed.
_FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _compact(raw: str | None) -> str:
    """Return ``raw`` with full-width forms made ASCII, whitespace removed, ASCII upper-cased."""
    text = "".join((raw or "").translate(_FULLWIDTH_TO_ASCII).split())
    if text.isascii():  # nearly every stored value: skip the per-character walk
        return text.upper()
    return "".join(ch.upper() if ch.isascii() else ch for ch in text)


# --- HKID -------------------------------------------------------------------------------------

# One or two prefix letters, six digits, then the check digit with or without brackets.
# [0-9] rather than \d: \d also matches Arabic-Indic and full-width digits.
_HKID_RE = re.compile(r"([A-Z]{1,2})([0-9]{6})(?:\(([0-9A])\)|([0-9A]))")
_HKID_SHAPE_MESSAGE = (
    "An HKID number is one or two letters, six digits and a check digit (0-9 or A), "
    "for example A123456(3)."
)
_HKID_CHECK_MESSAGE = "The HKID number's check digit does not match; please check the number."

_HKID_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
# A single-letter prefix is padded on the left with a space, which the algorithm values at 36.
_HKID_SPACE_VALUE = 36


def _letter_value(letter: str) -> int:
    # A=10 ... Z=35, the same values as base-36 digits.
    return ord(letter) - ord("A") + 10


def hkid_check_digit(prefix: str, digits: str) -> str:
    """Return the check digit ('0'-'9' or 'A') for an HKID ``prefix`` and six ``digits``.

    The published algorithm: pad a one-letter prefix with a leading space (value 36), value the
    letters A=10..Z=35 and digits at face value, weight the eight values 9, 8, ..., 2, and take
    ``(11 - total % 11) % 11``, writing 10 as 'A'. ``prefix`` must be one or two upper-case
    letters and ``digits`` six ASCII digits; anything else raises ``ValueError``.
    """
    if not re.fullmatch(r"[A-Z]{1,2}", prefix) or not re.fullmatch(r"[0-9]{6}", digits):
        raise ValueError(_HKID_SHAPE_MESSAGE)
    values = [_letter_value(ch) for ch in prefix]
    if len(values) == 1:
        values.insert(0, _HKID_SPACE_VALUE)
    values.extend(int(ch) for ch in digits)
    total = sum(w * v for w, v in zip(_HKID_WEIGHTS, values, strict=True))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def _parse_hkid(raw: str) -> tuple[str, str, str] | None:
    """Split ``raw`` into (prefix, digits, check) if it has the HKID shape, else None."""
    compact = _compact(raw)
    match = _HKID_RE.fullmatch(compact)
    if match is None:
        return None
    prefix, digits, bracketed, bare = match.groups()
    return prefix, digits, bracketed or bare


def normalise_hkid(raw: str) -> str:
    """Return the canonical form 'A123456(3)' / 'AB987654(3)' of an HKID number.

    Accepts lower case, spaces anywhere, and the check digit with or without brackets
    ('a1234563', ' AB 987654 (3) '). Raises ``ValueError`` with a message in words when the
    shape is wrong or the check digit does not match; the message never reveals the
    expected check digit.
    """
    parsed = _parse_hkid(raw or "")
    if parsed is None:
        raise ValueError(_HKID_SHAPE_MESSAGE)
    prefix, digits, check = parsed
    if hkid_check_digit(prefix, digits) != check:
        raise ValueError(_HKID_CHECK_MESSAGE)
    return f"{prefix}{digits}({check})"


def mask_hkid(value: str | None) -> str:
    """Return an HKID for lists: prefix letter(s) and first three digits, e.g. 'A123***(*)'.

    The check digit is not validated here: masking is for display of stored values, and a
    legacy row with a bad check digit must still render (masked) rather than break a list.
    A value without the HKID shape is masked completely; ``None`` or '' gives ''.
    """
    if not value:
        return ""
    parsed = _parse_hkid(value)
    if parsed is None:
        # Unknown shape: show nothing of it rather than guess which part is safe.
        return "*******(*)"
    prefix, digits, _check = parsed
    return f"{prefix}{digits[:3]}***(*)"


# --- Passport -----------------------------------------------------------------------------------

_PASSPORT_RE = re.compile(r"[A-Z0-9]{5,20}")
_PASSPORT_MESSAGE = "A passport number is 5 to 20 letters (A-Z) and digits, without punctuation."
# Shown before the last three characters whatever the real length, so the masked form does not
# leak how long the number is.
_PASSPORT_MASK = "•••••"


def normalise_passport(raw: str) -> str:
    """Return a passport number upper-cased with all whitespace removed.

    The result must be 5 to 20 characters of A-Z and 0-9; anything else raises ``ValueError``
    with a message in words. No checksum is applied: formats differ by issuing country.
    """
    compact = _compact(raw)
    if not _PASSPORT_RE.fullmatch(compact):
        raise ValueError(_PASSPORT_MESSAGE)
    return compact


def mask_passport(value: str | None) -> str:
    """Return a passport number for lists: a fixed mask then the last three characters.

    E.g. 'K12345678' -> '•••••678'. The mask has the same length for every number. Values
    shorter than four characters (never valid) are masked completely; ``None`` or '' gives ''.
    """
    if not value:
        return ""
    compact = _compact(value)
    if len(compact) < 4:
        return _PASSPORT_MASK + "•••"
    return _PASSPORT_MASK + compact[-3:]


# --- Countries ----------------------------------------------------------------------------------

_COUNTRY_MESSAGE = "Nationality must be a two-letter ISO 3166-1 country code, for example GB or PH."


def _lookup_country(code: str) -> object | None:
    # pycountry.countries.get(alpha_2=...) is case-insensitive and returns None when unknown;
    # reject other lengths first so an alpha-3 code is not quietly accepted.
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return None
    return pycountry.countries.get(alpha_2=code)


def _display_name(country: object) -> str:
    # Prefer the everyday name ("Laos", "Vietnam", "Taiwan") over the formal ISO one
    # ("Lao People's Democratic Republic"): caseworkers and applicants read these.
    return str(getattr(country, "common_name", None) or country.name)  # type: ignore[attr-defined]


def normalise_country(raw: str) -> str:
    """Return ``raw`` as an upper-case ISO 3166-1 alpha-2 code, e.g. ' gb ' -> 'GB'.

    Raises ``ValueError`` with a message in words when it is not an assigned alpha-2 code.
    Country names and alpha-3 codes are not accepted: the form offers a list of codes.
    """
    code = (raw or "").strip().upper()
    if _lookup_country(code) is None:
        raise ValueError(_COUNTRY_MESSAGE)
    return code


def _reader_locale(locale: str | None) -> str:
    if locale:
        return locale
    current = get_locale()  # None outside a request or app context
    return str(current) if current else "en"


@lru_cache(maxsize=8)
def _territories(locale: str) -> dict[str, str]:
    """Babel's country names in ``locale``; none for English, which keeps pycountry's everyday
    names, nor for a locale Babel does not know."""
    if locale.split("_")[0] == "en":
        return {}
    try:
        return dict(Locale.parse(locale).territories)
    except (UnknownLocaleError, ValueError):
        return {}


def _name_in(country: object, locale: str) -> str:
    code = country.alpha_2  # type: ignore[attr-defined]
    return _territories(locale).get(code) or _display_name(country)


def country_name(alpha2: str, locale: str | None = None) -> str:
    """Return the everyday name for an ISO 3166-1 alpha-2 code in the reader's language
    ('LA' -> 'Laos', '老撾'), or in ``locale`` (a Babel locale such as 'zh_Hant_HK').

    English names are pycountry's everyday ones; other languages' come from Babel (CLDR),
    falling back to the English name for a code CLDR lacks. Raises ``ValueError`` when the
    code is unknown.
    """
    name = _country_name_in((alpha2 or "").strip().upper(), _reader_locale(locale))
    if name is None:
        raise ValueError(_COUNTRY_MESSAGE)
    return name


# A queue page names forty-odd countries; pycountry's lookup costs more than the rest of a
# row. A few hundred codes in two languages: a small cache.
@lru_cache(maxsize=1024)
def _country_name_in(code: str, locale: str) -> str | None:
    country = _lookup_country(code)
    return None if country is None else _name_in(country, locale)


def _sort_key(name: str) -> str:
    # Sort "Åland Islands" with the A's and "Côte d'Ivoire" with the C's: strip accents, fold
    # case. Locale-independent, so every process orders the list the same way.
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# One list per language (two today): building and sorting ~250 names costs about a
# millisecond, and every case form shows the list.
@lru_cache(maxsize=8)
def _country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    pairs = ((c.alpha_2, _name_in(c, locale)) for c in pycountry.countries)
    # Chinese names sort by code point (radical, then strokes): the order a reader of a
    # dictionary expects more than any other one Python has without ICU.
    return tuple(sorted(pairs, key=lambda pair: (_sort_key(pair[1]), pair[0])))


def country_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """Return ``[(alpha2, name), ...]`` for every ISO 3166-1 country, named in the reader's
    language (or ``locale``'s) and sorted by name.

    Ready for a select field's ``choices``. A fresh list each call, so a caller may prepend a
    blank choice without changing what the next caller gets.
    """
    return list(_country_choices(_reader_locale(locale)))

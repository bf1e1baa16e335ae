"""The catalogues: every marked string is in them, the Chinese one is complete and careful,
and what the app loads is what the catalogues say.

``make translations-update`` re-extracts the strings and updates both catalogues; a string
marked in code but missing here, an entry left untranslated or fuzzy, or a translation that
drops or renames a placeholder fails these tests.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "backoffice" / "translations"
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdf]|%%")
LOCALES = ["en", "zh_Hant_HK"]


def catalogue(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


def extracted_ids() -> set[str]:
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def entries(locale: str):
    return [m for m in catalogue(locale) if m.id]


def first_id(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_marked_string_is_in_the_catalogue(locale):
    missing = extracted_ids() - {first_id(m) for m in entries(locale)}
    assert not missing, f"run `make translations-update`; not in {locale}: {sorted(missing)[:20]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogue_has_no_entry_the_code_no_longer_marks(locale):
    stale = {first_id(m) for m in entries(locale)} - extracted_ids()
    assert not stale, f"run `make translations-update`; gone from the code: {sorted(stale)[:20]}"
    assert not catalogue(locale).obsolete


def test_every_chinese_entry_is_translated_and_not_fuzzy():
    untranslated = [first_id(m) for m in entries("zh_Hant_HK")
                    if not m.string or (not isinstance(m.string, str) and not all(m.string))]
    fuzzy = [first_id(m) for m in entries("zh_Hant_HK") if m.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:15]}"
    assert not fuzzy, f"fuzzy entries (check and clear the flag): {fuzzy[:15]}"


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text)) - {""}


def test_chinese_translations_keep_every_placeholder():
    """A translation must use exactly the values its message is given (a dropped %(date)s
    hides the date; an unknown one is a KeyError at render time)."""
    wrong = []
    for message in entries("zh_Hant_HK"):
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = _placeholders(ids[-1]) | _placeholders(ids[0])
        for string in strings:
            if string and _placeholders(string) - wanted:
                wrong.append((ids[0], string))
            if string and wanted - _placeholders(string):
                wrong.append((ids[0], string))
    assert not wrong, wrong[:10]


def test_chinese_entries_are_chinese():
    """No English sentence left as the 'translation' (codes and data-like words are fine)."""
    english = []
    for message in entries("zh_Hant_HK"):
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for string in strings:
            bare = PLACEHOLDER.sub("", string or "")
            if re.search(r"[a-z]{3,}\s+[a-z]{3,}", bare) or (
                    bare.strip() and not re.search(r"[\u3400-\u9fff\uff00-\uffef]", bare)
                    and re.search(r"[a-z]{2,}", bare)):
                english.append((first_id(message), string))
    assert not english, english[:10]


def test_babel_finds_no_format_errors_in_the_chinese_catalogue():
    errors = [(first_id(m), [str(e) for e in errs]) for m, errs in catalogue("zh_Hant_HK").check()]
    assert not errors, errors[:10]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_is_the_current_one(locale):
    """The app reads the .mo: it must be compiled from the .po as it is now (`make
    translations`; `make run` and `make test` do it)."""
    compiled = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert compiled.exists(), "run `make translations`"
    fresh = io.BytesIO()
    write_mo(fresh, catalogue(locale))
    assert compiled.read_bytes() == fresh.getvalue(), "run `make translations`"


def test_the_plural_rule_is_each_languages_own():
    assert catalogue("zh_Hant_HK").num_plurals == 1
    assert catalogue("en").num_plurals == 2

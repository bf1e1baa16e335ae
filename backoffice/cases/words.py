"""The pieces the case rules' messages are made of, rendered in the reader's language.

A rule refuses with a whole sentence and its values (``lazy_gettext("... %(on)s ...",
on=LazyDate(d))``); the sentence, and each value in it, is rendered when ``str()`` is called
at the edge (a page, a flash, an email), in the language being rendered then. Nothing here
is rendered when it is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from babel import Locale

# The lazy messages are core's (escaped on a page, looked up through the request's catalogue).
from backoffice.core.i18n import (
    DEFAULT_LANGUAGE,
    current_language,
    format_date,
    format_number,
    lazy_gettext,
    lazy_ngettext,
)
from backoffice.core.identity import country_name

__all__ = ["LazyCountry", "LazyDate", "LazyList", "LazyNumber", "Sentences",
           "lazy_gettext", "lazy_ngettext"]


def _in_default_language() -> bool:
    return current_language().code == DEFAULT_LANGUAGE


class LazyDate:
    """A date inside a sentence, in the reader's format when rendered ("3 Dec 2026",
    "2026年12月3日")."""

    __slots__ = ("value",)

    def __init__(self, value: date) -> None:
        self.value = value

    def __str__(self) -> str:
        return format_date(self.value)

    def __repr__(self) -> str:
        return f"LazyDate({self.value.isoformat()})"


class LazyNumber:
    """A number inside a sentence, with the reader's grouping when rendered (4,000)."""

    __slots__ = ("value",)

    def __init__(self, value: int | Decimal) -> None:
        self.value = value

    def __str__(self) -> str:
        return format_number(self.value)


class LazyCountry:
    """A country named by its ISO code, in the reader's language when rendered: the
    everyday English name ("Laos") in English, Babel's (CLDR's) name in Chinese ("老撾")."""

    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code

    def __str__(self) -> str:
        english = country_name(self.code)
        if _in_default_language():
            return english
        return Locale.parse(current_language().locale).territories.get(self.code, english)


class LazyList:
    """Items named in a sentence ("missing: employer, salary"), each rendered when the
    sentence is, joined the reader's way (", " in English, "、" in Chinese)."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[object]) -> None:
        self.items = tuple(items)

    def __str__(self) -> str:
        separator = ", " if _in_default_language() else "、"
        return separator.join(str(item) for item in self.items)


class Sentences:
    """Whole sentences shown one after another (the reasons a case cannot be submitted):
    a space between them in English, none in Chinese."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[object]) -> None:
        self.items = tuple(items)

    def __str__(self) -> str:
        separator = " " if _in_default_language() else ""
        return separator.join(str(item) for item in self.items)

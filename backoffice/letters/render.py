"""A letter's PDF, from the data it says (``data.letter_data``) and nothing else.

Each letter has one template file per language, ``letters/<kind>.<language>.html``: the
English and the Chinese letters are each written in their own language in their own file
(the one place in the back office whose words are not gettext messages, because a letter is
a text read as a whole, not a page assembled from labels). Each extends its language's
layout (``letters/_letter.<language>.html``: the fixed words, the fonts), which extends the
shared ``letters/_letter.html`` (the print stylesheet: A4, the letterhead, the reference
block, the signature). WeasyPrint turns the HTML into a PDF; a letter in both languages is
the Chinese letter followed by the English one, in one PDF.

Rendering needs an app (its Jinja environment) but no request and no database. Nothing is
fetched over the network: the stylesheet is inline, the fonts are the system's (Noto CJK),
and any URL a template names other than a ``data:`` one or a file of this package stops the
rendering with an error rather than being fetched.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

from babel.dates import format_date
from flask import current_app
from jinja2 import Environment
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from backoffice.core.i18n import LANGUAGES
from backoffice.letters import bp
from backoffice.letters.data import DATA_FORMAT
from backoffice.letters.kinds import LetterKind

__all__ = ["BOTH", "BOTH_ORDER", "LETTER_LANGUAGES", "LocalOnlyFetcher", "letter_filename",
           "letter_html", "long_date", "render_letter"]

BOTH = "both"
# A letter in both languages: the Chinese letter first, then the English one.
BOTH_ORDER = ("zh_Hant_HK", "en")
LETTER_LANGUAGES = (*LANGUAGES, BOTH)
_PACKAGE = Path(__file__).resolve().parent


class LocalOnlyFetcher(URLFetcher):
    """WeasyPrint's fetcher, for ``data:`` URLs and this package's own files only.

    Any other URL (the internet, a file elsewhere on the machine) raises a fatal error, which
    WeasyPrint lets through: a template that names one is a mistake to fix, not a resource
    to go without (WeasyPrint would otherwise leave it out with a warning)."""

    def fetch(self, url: str, headers: dict | None = None):
        if url.startswith("data:") or (url.startswith("file:") and _in_package(url)):
            return super().fetch(url, headers)
        raise FatalURLFetchingError(f"Letters fetch nothing from outside the app: {url}")


def _in_package(url: str) -> bool:
    return Path(unquote(urlsplit(url).path)).resolve().is_relative_to(_PACKAGE)


def letter_html(kind: LetterKind | str, language: str, data: dict) -> str:
    """The letter of ``kind`` in ``language`` ("en" or "zh_Hant_HK") as HTML, from ``data``.

    The templates see ``letter`` (the data) and its parts ``office``, ``applicant`` and
    ``scheme``, ``lang`` (the language code), ``lang_tag`` (its BCP 47 tag) and ``day`` (an
    ISO date in the language's long form: "1 December 2026", "2026年12月1日")."""
    kind = LetterKind(kind)
    if language not in LANGUAGES:
        raise ValueError(f"A letter is written in one of {', '.join(LANGUAGES)}; "
                         f"not {language!r}.")
    if data.get("format") != DATA_FORMAT or data.get("kind") != kind.value:
        raise ValueError(f"The data is of a {data.get('kind')!r} letter in format "
                         f"{data.get('format')!r}, not a {kind.value!r} letter in format "
                         f"{DATA_FORMAT}.")
    template = _environment(current_app.jinja_env).get_template(
        f"letters/{kind.value}.{language}.html")
    return template.render(letter=data, office=data["office"], applicant=data["applicant"],
                           scheme=data["scheme"], lang=language,
                           lang_tag=LANGUAGES[language].tag,
                           day=partial(long_date, locale=LANGUAGES[language].locale))


def render_letter(kind: LetterKind | str, language: str, data: dict) -> bytes:
    """The letter of ``kind`` as a PDF (A4), in ``language``: "en", "zh_Hant_HK", or
    "both" (the Chinese letter, then the English one, each with its own page numbers).

    ``data`` is what :func:`backoffice.letters.data.letter_data` made (or the same read back
    from JSON): the letter says exactly that, so the same data gives the same letter."""
    languages = BOTH_ORDER if language == BOTH else (language,)
    documents = [HTML(string=letter_html(kind, code, data), base_url=str(_PACKAGE) + "/",
                      url_fetcher=LocalOnlyFetcher()).render()
                 for code in languages]
    # WeasyPrint's way of joining documents: the pages of all, in the first one's metadata.
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()


def letter_filename(kind: LetterKind | str, language: str, data: dict) -> str:
    """A name for the letter's file: its reference, kind and language
    ("QMAS-2026-000001-approval-en.pdf")."""
    return f"{data['reference']}-{LetterKind(kind).value}-{language}.pdf"


def long_date(iso: str | None, *, locale: str) -> str:
    """An ISO date as a letter writes it in ``locale`` ("" for None)."""
    if not iso:
        return ""
    return format_date(date.fromisoformat(iso), "long", locale=locale)


@lru_cache(maxsize=8)
def _environment(app_environment: Environment) -> Environment:
    """The app's Jinja environment (its escaping and finalize), reading the letters'
    templates straight from this package: letters are rendered by tasks and services too,
    and need no blueprint registered to find them. One per app, kept for its template cache."""
    return app_environment.overlay(loader=bp.jinja_loader)

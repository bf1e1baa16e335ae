"""The two languages of the back office: which one a request is read in, and how dates and
numbers are written in it (Flask-Babel; the catalogues live in ``backoffice/translations``).

A language is stored by its code (``en``, ``zh_Hant_HK``) on an account and on an applicant;
Babel formats with the Hong Kong variant of each locale, so English dates read "3 Dec 2026"
(en_HK), not the American "Dec 3, 2026". The page's ``<html lang>`` is the BCP 47 tag.

Choosing, in order: the signed-in account's preference, then the language a visitor chose
with the header's switcher (a cookie), then the browser's Accept-Language, then English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_decimal as _babel_format_decimal
from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request
from flask.globals import _cv_app  # Flask's own app-context variable (tests pin its meaning)
from flask_babel import Babel, Domain, force_locale, get_locale, refresh
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import escape

from backoffice.core.dates import HK_TZ, hk_holiday_name

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Language",
    "babel",
    "force_language",
    "format_date",
    "format_datetime",
    "format_number",
    "html_lang",
    "language_choices",
    "language_for",
]


@dataclass(frozen=True)
class Language:
    code: str  # stored on accounts and applicants, and the catalogue's folder
    locale: str  # what Babel formats with
    tag: str  # BCP 47, for <html lang> and hreflang
    name: str  # in its own language, as a switcher shows it


LANGUAGES: dict[str, Language] = {
    "en": Language("en", "en_HK", "en-HK", "English"),
    "zh_Hant_HK": Language("zh_Hant_HK", "zh_Hant_HK", "zh-Hant-HK", "繁體中文"),
}
DEFAULT_LANGUAGE = "en"
# The cookie the header's switcher sets for a visitor who is not signed in (a signed-in
# user's choice is saved on the account instead).
LANGUAGE_COOKIE = "lang"
# Accept-Language tags answered in Chinese: this office writes Traditional Chinese only, so a
# reader who asks for any Chinese gets it rather than English.
_ACCEPTED = {"en": "en", "zh": "zh_Hant_HK", "zh-hant": "zh_Hant_HK", "zh-hk": "zh_Hant_HK",
             "zh-tw": "zh_Hant_HK", "zh-mo": "zh_Hant_HK", "zh-hant-hk": "zh_Hant_HK",
             "zh-hans": "zh_Hant_HK", "zh-cn": "zh_Hant_HK"}


def _kept_catalogue(state) -> NullTranslations | None:
    """The catalogue kept on a context's Babel state, if it was kept for the locale the
    state now has (a forced or refreshed locale finds none)."""
    kept = getattr(state, "catalogue", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]
    return None


class RequestCachedDomain(Domain):
    """Flask-Babel's message domain, with the catalogue it finds kept on the context's Babel
    state for the locale it was found for (forcing another locale finds the other one).

    A page asks for the catalogue once per word (every label, every ``_()``: a few hundred on
    a queue page), and each of Flask-Babel's own lookups reads several context locals: about
    1 ms of a 10 ms page. This answers a repeat with one read.
    """

    def get_translations(self):
        state = g.get("_flask_babel")
        if state is None:
            return super().get_translations()
        kept = _kept_catalogue(state)
        if kept is not None:
            return kept
        translations = super().get_translations()  # chooses the locale if not yet chosen
        state.catalogue = (state.babel_locale, translations)
        return translations


babel = Babel()
_NOTHING_TO_LOOK_UP = NullTranslations()


def _catalogue() -> NullTranslations:
    """The catalogue of the language being rendered; outside any app, none (as Flask-Babel).

    Read straight off the app context's Babel state (one context-variable read) when
    :class:`RequestCachedDomain` has kept it there for the current locale: a page looks up
    a few hundred words, and the ``g`` proxy alone costs a microsecond a read.
    """
    app_context = _cv_app.get(None)
    if app_context is None:
        return _NOTHING_TO_LOOK_UP
    kept = _kept_catalogue(getattr(app_context.g, "_flask_babel", None))
    return kept if kept is not None else babel.domain_instance.get_translations()


def _gettext(string: str, **variables) -> str:
    # flask_babel.gettext's meaning (values only when given), through our domain directly.
    translated = _catalogue().ugettext(string)
    return translated % variables if variables else translated


def _ngettext(singular: str, plural: str, num: int, **variables) -> str:
    # flask_babel.ngettext's meaning: ``num`` is always a value of the message.
    variables.setdefault("num", num)
    return _catalogue().ungettext(singular, plural, num) % variables


class LazyText(LazyString):
    """A message and its values, worded when shown, in the language being rendered then.

    Flask-Babel's own LazyString declares itself safe HTML (``__html__`` returns its text as
    is), and messages carry what people typed (names, employers): a page escapes this one
    like any text. It also looks its words up through :class:`RequestCachedDomain` directly.
    """

    def __html__(self) -> str:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> LazyText:
    """A message id and its values, translated when shown (import time, services' refusals).

    Every module takes lazy messages from here, never from flask_babel
    (tests/test_structure.py checks it)."""
    return LazyText(_gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> LazyText:
    """The plural form of :func:`lazy_gettext`; ``%(num)d`` is ``num``."""
    return LazyText(_ngettext, singular, plural, num, **variables)


def language_for(code: str | None) -> Language:
    """The language stored as ``code``, or the default for an unknown or missing one."""
    return LANGUAGES.get(code or "", LANGUAGES[DEFAULT_LANGUAGE])


def language_choices() -> list[tuple[str, str]]:
    """(code, name) pairs for a form's select, each name in its own language."""
    return [(lang.code, lang.name) for lang in LANGUAGES.values()]


def requested_language() -> str:
    """The language code this request is read in (see the module's docstring for the order)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    for tag, _quality in request.accept_languages:
        code = _ACCEPTED.get(tag.lower()) or _ACCEPTED.get(tag.lower().split("-")[0])
        if code:
            return code
    return DEFAULT_LANGUAGE


def _select_locale() -> str:
    return language_for(requested_language()).locale


def force_language(code: str | None):
    """Render in the language stored as ``code`` (an email to its recipient, say), whatever
    the request's; a context manager."""
    return force_locale(language_for(code).locale)


def _locale() -> str:
    """The name of the locale being rendered in (the default outside any app context).

    Kept beside the chosen locale on the context's Babel state: every date on a page asks,
    and Babel builds the name afresh each time (about a microsecond). A repeat is read
    straight off that state (one context-variable read, as ``_catalogue`` does): through
    ``get_locale`` each ask read several context locals, a third of a millisecond of a
    queue page's 150 dates."""
    app_context = _cv_app.get(None)
    state = getattr(app_context.g, "_flask_babel", None) if app_context is not None else None
    kept = getattr(state, "locale_name", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]
    locale = get_locale()
    if locale is None:
        return LANGUAGES[DEFAULT_LANGUAGE].locale
    state = g._flask_babel  # get_locale() answered, so the state exists
    kept = getattr(state, "locale_name", None)
    if kept is None or kept[0] is not locale:
        kept = state.locale_name = (locale, str(locale))
    return kept[1]


def current_language() -> Language:
    locale = _locale()
    for lang in LANGUAGES.values():
        if lang.locale == locale:
            return lang
    return LANGUAGES[DEFAULT_LANGUAGE]


def html_lang() -> str:
    return current_language().tag


@lru_cache(maxsize=8)
def _datetime_pattern(locale: str) -> str:
    """The locale's medium date with its short time, joined the locale's own way."""
    parsed = Locale.parse(locale)
    return (str(parsed.datetime_formats["medium"])
            .replace("{1}", parsed.date_formats["medium"].pattern)
            .replace("{0}", parsed.time_formats["short"].pattern))


# Dates repeat across a page (a queue shows a few distinct days for fifty rows) and Babel's
# formatting costs tens of microseconds each: one cache per (day, locale) keeps pages free of it.
@lru_cache(maxsize=4096)
def _format_date(value: date, locale: str) -> str:
    return _babel_format_date(value, "medium", locale=locale)


def format_date(value: date | None) -> str:
    """A calendar date in the reader's language: "3 Dec 2026", "2026年12月3日"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return _format_date(value, _locale())


def format_datetime(value: datetime | None) -> str:
    """A stored (UTC) timestamp in Hong Kong time, in the reader's language."""
    if value is None:
        return ""
    locale = _locale()
    return _babel_format_datetime(value, _datetime_pattern(locale), tzinfo=HK_TZ, locale=locale)


def format_number(value: int | float | Decimal | None) -> str:
    """A number with the locale's grouping: 4,000."""
    if value is None:
        return ""
    return _babel_format_decimal(value, locale=_locale())


def format_size(size: int | None) -> str:
    """A file's size as people read it: 830 bytes, 12.4 KB, 3.1 MB (1 KB = 1,024 bytes)."""
    if size is None:
        return ""
    if size < 1024:
        return str(lazy_ngettext("%(num)d byte", "%(num)d bytes", size))
    if size < 1024 * 1024:
        return str(lazy_gettext("%(size)s KB", size=_babel_format_decimal(
            round(size / 1024, 1), locale=_locale())))
    return str(lazy_gettext("%(size)s MB", size=_babel_format_decimal(
        round(size / 1048576, 1), locale=_locale())))


# The `holidays` package's name for each language's holiday names.
_HOLIDAY_LANGUAGES = {"en": "en_HK", "zh_Hant_HK": "zh_HK"}


def holiday_name(day: date) -> str | None:
    """The Hong Kong general holiday on ``day``, named in the reader's language, or None."""
    return hk_holiday_name(day, _HOLIDAY_LANGUAGES[current_language().code])


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[DEFAULT_LANGUAGE].locale)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Hong_Kong")
    babel.init_app(app, locale_selector=_select_locale)
    # Babel.domain_instance is a cached property of our own Babel object: set, it is ours.
    babel.domain_instance = RequestCachedDomain()
    # Templates look words up through the same domain, without Flask-Babel's detour through
    # the current app's extension registry for each one.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True)
    # Flask-Babel keeps the chosen locale on the app context, which a test (or a CLI command)
    # may share across requests: each request chooses afresh.
    app.before_request(refresh)
    app.jinja_env.globals.update(html_lang=html_lang, languages=LANGUAGES.values(),
                                 current_language=current_language)
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "hk_datetime")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_size, "filesize")



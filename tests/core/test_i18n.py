"""Which language a page is read in, the header's switcher, and dates and numbers by locale."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.auth.models import Role, User
from backoffice.core import i18n
from backoffice.extensions import db as _db

HTML_LANG = {"en": '<html lang="en-HK">', "zh_Hant_HK": '<html lang="zh-Hant-HK">'}


@pytest.mark.parametrize(("accept_language", "expected"), [
    (None, "en"),
    ("en-GB,en;q=0.9", "en"),
    ("zh-HK,zh;q=0.9,en;q=0.8", "zh_Hant_HK"),
    ("zh-TW", "zh_Hant_HK"),
    ("zh-Hant-HK", "zh_Hant_HK"),
    ("zh-CN", "zh_Hant_HK"),  # the office writes Traditional Chinese only
    ("zh", "zh_Hant_HK"),
    ("fr-FR,de;q=0.8", "en"),  # neither: the default
    ("fr-FR,zh-HK;q=0.5,en;q=0.4", "zh_Hant_HK"),  # the first one we write, by preference
    ("*", "en"),
])
def test_a_visitor_is_first_answered_in_the_browsers_language(client, accept_language, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    html = client.get("/login", headers=headers).get_data(as_text=True)
    assert HTML_LANG[expected] in html


def test_a_visitors_choice_beats_the_browser_and_is_kept_in_a_cookie(client):
    token = client.csrf_token("/login")
    response = client.post("/language", data={"csrf_token": token, "language": "zh_Hant_HK",
                                              "next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    cookie = response.headers["Set-Cookie"]
    assert "lang=zh_Hant_HK" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert HTML_LANG["zh_Hant_HK"] in html
    # The switcher offers the other language, by its own name, marked as written in it.
    assert 'lang="en-HK"' in html and ">English</button>" in html


@pytest.mark.parametrize(("cookie", "accept_language", "expected"), [
    ("en", "zh-HK", "en"),
    ("zh_Hant_HK", "en", "zh_Hant_HK"),
    ("klingon", "zh-HK", "zh_Hant_HK"),  # a cookie nobody set is ignored
    ("", "en", "en"),
])
def test_the_cookie_is_read_only_when_it_names_a_language(client, cookie, accept_language,
                                                          expected):
    client.set_cookie("lang", cookie)
    html = client.get("/login", headers={"Accept-Language": accept_language}).get_data(
        as_text=True)
    assert HTML_LANG[expected] in html


def test_a_signed_in_users_preference_beats_cookie_and_browser(client, as_role):
    user = as_role(Role.CASEWORKER)
    _db.session.get(User, user.id).language = "zh_Hant_HK"
    _db.session.commit()
    client.set_cookie("lang", "en")
    html = client.get("/cases/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert HTML_LANG["zh_Hant_HK"] in html


def test_the_switcher_saves_a_signed_in_users_choice_on_the_account(client, as_role):
    user = as_role(Role.SUPERVISOR)
    token = client.csrf_token("/account/password")
    response = client.post("/language", data={"csrf_token": token, "language": "zh_Hant_HK",
                                              "next": "/cases/?q=chan"})
    assert response.headers["Location"] == "/cases/?q=chan"
    _db.session.expire_all()
    assert _db.session.get(User, user.id).language == "zh_Hant_HK"
    # Another browser, no cookie: the account remembers.
    client.delete_cookie("lang")
    assert HTML_LANG["zh_Hant_HK"] in client.get("/cases/").get_data(as_text=True)


@pytest.mark.parametrize(("language", "next_url", "location"), [
    ("zh_Hant_HK", "https://evil.example/", "/"),  # never off the site
    ("zh_Hant_HK", "//evil.example/", "/"),
    ("zh_Hant_HK", "/\\evil.example", "/"),
    ("zh_Hant_HK", "", "/"),
    ("xx", "/login", "/login"),  # an unknown language changes nothing
    ("zh_Hant_HK\x00", "/login", "/login"),
    ("z" * 5000, "/login", "/login"),
])
def test_the_switcher_refuses_what_it_cannot_use(client, language, next_url, location):
    token = client.csrf_token("/login")
    response = client.post("/language", data={"csrf_token": token, "language": language,
                                              "next": next_url})
    assert response.status_code == 302
    assert response.headers["Location"] == location
    if language != "zh_Hant_HK":
        assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_the_switcher_needs_the_forms_token(client):
    response = client.post("/language", data={"language": "zh_Hant_HK", "next": "/login"})
    assert response.status_code == 400
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_an_unknown_language_leaves_the_account_as_it_was(client, as_role):
    user = as_role(Role.CASEWORKER)
    token = client.csrf_token("/account/password")
    client.post("/language", data={"csrf_token": token, "language": "fr"})
    _db.session.expire_all()
    assert _db.session.get(User, user.id).language == "en"


@pytest.mark.parametrize(("language", "day", "moment", "number"), [
    ("en", "3 Dec 2026", "3 Dec 2026, 2:05\u202fpm", "4,000"),
    ("zh_Hant_HK", "2026年12月3日", "2026年12月3日 下午2:05", "4,000"),
])
def test_dates_and_numbers_are_written_the_locales_way(app, language, day, moment, number):
    with app.test_request_context("/"), i18n.force_language(language):
        assert i18n.format_date(date(2026, 12, 3)) == day
        # Stored in UTC, shown in Hong Kong time (06:05 UTC is 14:05 in Hong Kong).
        assert i18n.format_datetime(datetime(2026, 12, 3, 6, 5, tzinfo=UTC)) == moment
        assert i18n.format_datetime(datetime(2026, 12, 3, 6, 5)) == moment  # naive is UTC
        assert i18n.format_number(4000) == number
        assert i18n.format_number(Decimal("4000.5")).startswith("4,000.5")
        assert i18n.format_date(None) == i18n.format_datetime(None) == ""


def test_the_date_cache_answers_each_language_apart(app):
    with app.test_request_context("/"):
        with i18n.force_language("en"):
            english = i18n.format_date(date(2027, 2, 10))
        with i18n.force_language("zh_Hant_HK"):
            chinese = i18n.format_date(date(2027, 2, 10))
    assert (english, chinese) == ("10 Feb 2027", "2027年2月10日")


def test_a_kept_locale_name_follows_a_forced_language_and_its_end(app):
    """The locale's name is read off the context once kept: forcing another language and
    leaving it each give that language's dates, never the kept name of the other."""
    day = date(2027, 2, 10)
    with app.test_request_context("/"):
        before = [i18n.format_date(day) for _ in range(2)]  # the second reads the kept name
        with i18n.force_language("zh_Hant_HK"):
            forced = [i18n.format_date(day) for _ in range(2)]
            with i18n.force_language("en"):
                inner = i18n.format_date(day)
            again = i18n.format_date(day)
        after = i18n.format_date(day)
    assert before == ["10 Feb 2027"] * 2 and after == "10 Feb 2027" and inner == "10 Feb 2027"
    assert forced == ["2027年2月10日"] * 2 and again == "2027年2月10日"


def test_outside_any_request_the_default_language_is_used(app):
    with app.app_context():
        assert i18n.format_date(date(2026, 1, 5)) == "5 Jan 2026"
        with i18n.force_language("zh_Hant_HK"):
            assert i18n.format_date(date(2026, 1, 5)) == "2026年1月5日"
    assert i18n.requested_language() == "en"


@pytest.mark.parametrize(("code", "locale"), [("en", "en_HK"), ("zh_Hant_HK", "zh_Hant_HK"),
                                              (None, "en_HK"), ("xx", "en_HK")])
def test_a_stored_code_names_a_language_or_the_default(code, locale):
    assert i18n.language_for(code).locale == locale


@pytest.mark.parametrize("template", [
    "{{ message }}",
    "<p title=\"{{ message }}\">{{ message }}</p>",
    "{% for m in [message] %}{{ m }}{% endfor %}",
])
def test_a_lazy_message_carrying_a_name_is_escaped_like_any_text(app, template):
    """Flask-Babel's lazy strings call themselves safe HTML; ours are escaped, so a name in a
    refusal never becomes markup on the page."""
    from flask import render_template_string

    from backoffice.core.i18n import lazy_gettext

    message = lazy_gettext("The case already has a spouse (%(name)s).",
                           name='<script>alert("x")</script>')
    with app.test_request_context("/"):
        html = render_template_string(template, message=message)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(("language", "day", "name"), [
    ("en", date(2026, 12, 25), "Christmas Day"),
    ("zh_Hant_HK", date(2026, 12, 25), "聖誕節"),
    ("zh_Hant_HK", date(2026, 10, 1), "國慶日"),
    ("en", date(2026, 12, 3), None),
])
def test_holidays_are_named_in_the_readers_language(app, language, day, name):
    with app.app_context(), i18n.force_language(language):
        assert i18n.holiday_name(day) == name


def _catalogue_messages():
    from babel.messages.pofile import read_po

    with open(Path(i18n.__file__).parent.parent / "translations" / "zh_Hant_HK" / "LC_MESSAGES"
              / "messages.po", "rb") as po:
        return [m for m in read_po(po) if m.id]


@pytest.mark.parametrize("language", ["en", "zh_Hant_HK"])
def test_our_lookups_word_every_message_as_flask_babel_does(app, language):
    """The request's kept catalogue and the lazy messages give exactly what Flask-Babel's own
    gettext and ngettext give, for every message of the catalogue."""
    import flask_babel

    with app.test_request_context("/"), i18n.force_language(language):
        for message in _catalogue_messages():
            if isinstance(message.id, str):
                ours = str(i18n.lazy_gettext(message.id))
                assert ours == flask_babel.gettext(message.id)
            else:
                singular, plural = message.id
                for n in (1, 2, 5):
                    values = {name: 1 for name in _names(singular + plural) - {"num"}}
                    ours = str(i18n.lazy_ngettext(singular, plural, n, **values))
                    assert ours == flask_babel.ngettext(singular, plural, n, **values)


def _names(text: str) -> set[str]:
    import re

    return set(re.findall(r"%\((\w+)\)", text))


def test_the_kept_catalogue_follows_a_forced_language_and_back(app):
    message = i18n.lazy_gettext("Sign out")
    with app.test_request_context("/"), i18n.force_language("en"):
        assert str(message) == "Sign out"
        with i18n.force_language("zh_Hant_HK"):
            assert str(message) == "登出"
        assert str(message) == "Sign out"
    with app.test_request_context("/", headers={"Accept-Language": "zh-HK"}):
        assert str(message) == "登出"
    with app.app_context():
        assert str(message) == "Sign out"  # no request: the default language


def test_the_app_context_variable_is_the_one_flask_g_reads(app):
    """_catalogue reads Flask's own context variable instead of the ``g`` proxy; it must be
    the same object the proxy answers with, or words would come from another context."""
    from flask import g
    from flask.globals import _cv_app

    assert _cv_app.get(None) is None
    with app.app_context():
        assert _cv_app.get().g is g._get_current_object()
        with app.test_request_context("/"):
            assert _cv_app.get().g is g._get_current_object()

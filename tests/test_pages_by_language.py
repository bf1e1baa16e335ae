"""Every page of every role, in each language: no 500, no placeholder left unfilled, and in
Chinese no English words that are not data.

The pages are the route table the security tests use (``tests/test_routes_by_role.py``): each
GET a role may open, and each form it may post empty (the 422 page with its messages), plus
the refusal pages (403). A new page joins by its row there.

The Chinese scan reads what a person sees (text, titles, labels, placeholders, button text),
takes out every value stored in the database (names, references, e-mail addresses: data is
shown as entered) and what is written in another language on purpose (an element with its own
``lang``, such as the switcher's "English"), and then fails on any run of Latin words left.
Words in capitals (QMAS, HKID, CSV) are codes and stay.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Enum, String, Text, select

from backoffice.auth.models import User
from backoffice.core import i18n
from backoffice.extensions import db as _db
from tests.test_routes_by_role import ALL_ROLES, ROUTES, _case_with_dependant

pytestmark = pytest.mark.one_backend  # the words on a page do not depend on the database

LANGUAGES = ["en", "zh_Hant_HK"]
HTML_LANG = {"en": "en-HK", "zh_Hant_HK": "zh-Hant-HK"}
# What a page that rendered but lost a value would show.
UNFILLED = re.compile(r"%\([a-z_]+\)[sd]|\{\{|\}\}|\{%|%\}")
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'\u2019]*(?:[ \-][A-Za-z][A-Za-z'\u2019]*)*")
# InvestHK's programme is 「StartmeupHK創業計劃」 in the government's own Chinese.
PROPER_NAMES = ("StartmeupHK",)
SEEN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "aria-description")

PAGES = [
    pytest.param(method, url, role, language,
                 id=f"{language} {method} {url} {role.value if role else 'anonymous'}")
    for method, url, statuses in ROUTES
    for role in ALL_ROLES
    if statuses[role] in (200, 403, 422, 404) and not url.endswith((".csv", ".ics"))
    and url not in ("/healthz", "/readyz")
    for language in LANGUAGES
]


def visible_text(html: str) -> list[str]:
    """The pieces of text a person reads on the page, with elements written in another
    language on purpose left out."""
    soup = BeautifulSoup(html, "html.parser")
    # Code (a command to type) is not words to translate.
    for hidden in soup(["script", "style", "template", "code", "kbd", "samp"]):
        hidden.decompose()
    page_lang = (soup.html.get("lang") if soup.html else "") or ""
    for other in soup.select("[lang]"):
        if other.name != "html" and other.get("lang") != page_lang:
            other.decompose()
    pieces = [text for text in soup.stripped_strings]
    for tag in soup.find_all(True):
        pieces += [tag[name] for name in SEEN_ATTRIBUTES if tag.get(name)]
        if tag.name == "input" and tag.get("type") in ("submit", "button") and tag.get("value"):
            pieces.append(tag["value"])
    return pieces


def stored_values() -> list[str]:
    """Every text value in the database, longest first (data is shown as entered)."""
    values: set[str] = set()
    for table in _db.metadata.sorted_tables:
        # Codes (enum columns, a language code) are not data shown as entered: a page shows
        # their label, which must be translated.
        columns = [c for c in table.columns
                   if isinstance(c.type, String | Text) and not isinstance(c.type, Enum)]
        if not columns:
            continue
        for row in _db.session.execute(select(*columns)):
            values.update(v for v in row if isinstance(v, str) and len(v) > 2)
    # A name is also shown as "FAMILY, Given (中文)".
    for user in _db.session.scalars(select(User)):
        values.add(user.full_name)
    # Each language is offered by its own name, in its own language ("English").
    values.update(language.name for language in i18n.LANGUAGES.values())
    # Proper names the government keeps in Latin script in its Chinese text.
    values.update(PROPER_NAMES)
    return sorted(values, key=len, reverse=True)


def untranslated(pieces: list[str], data: list[str]) -> list[str]:
    """Runs of Latin words left in the pieces once data and codes are taken out."""
    found = []
    for piece in pieces:
        for value in data:
            if value in piece:
                piece = piece.replace(value, " ")
        for run in LATIN_RUN.findall(piece):
            words = re.split(r"[ \-]", run)
            if all(word.isupper() or len(word) == 1 for word in words):
                continue  # codes (QMAS, HKID, GEP) and single letters (a HKID's prefix)
            found.append(run)
    return found


def test_the_scan_finds_english_and_spares_data_and_codes():
    html = ('<html lang="zh-Hant-HK"><head><title>個案 · Case</title></head><body>'
            '<p>申請人 CHAN, Tai Man 的 QMAS 個案</p><button lang="en-HK">English</button>'
            '<input type="submit" value="Save"><a title="Open the case">開啟</a></body></html>')
    assert untranslated(visible_text(html), ["CHAN, Tai Man"]) == ["Case", "Save",
                                                                    "Open the case"]


def read_as(client, user: User | None, language: str, method: str, path: str):
    """The page at ``path`` as ``user`` (None: a visitor) reads it in ``language``: a GET, or
    a POST of the form's token alone (its refusal page)."""
    if user is not None:
        user = _db.session.get(User, user.id)
        user.language = language
        _db.session.commit()
        # The sign-in's own confirmation was written in the language of that moment; read it.
        client.get("/account/password")
    else:
        client.set_cookie("lang", language)
    if method == "GET":
        return client.get(path)
    token_from = "/login" if user is None else "/account/password"
    return client.post_form(path, {}, token_from=token_from)


@pytest.mark.parametrize(("method", "url", "role", "language"), PAGES)
def test_every_page_renders_in_each_language(client, make_user, as_role, method, url, role,
                                             language):
    user = as_role(role)
    target = make_user() if "{" in url else None
    path = url.replace("{user}", str(target.id)) if target else url
    if "{case}" in url:
        case, dependant = _case_with_dependant(target)
        path = path.replace("{case}", str(case.id)).replace("{dependant}", str(dependant.id))
    response = read_as(client, user, language, method, path)

    assert response.status_code < 500
    html = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG[language]}">' in html
    assert not UNFILLED.findall(" ".join(visible_text(html)))
    if language == "zh_Hant_HK":
        _db.session.rollback()
        left = untranslated(visible_text(html), stored_values())
        assert not left, f"English left on {method} {path} in Chinese: {sorted(set(left))}"

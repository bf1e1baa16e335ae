"""The header search: every case a caseworker may view, by reference, by the applicant's name,
passport, HKID, email or phone, and by a dependant's name, passport or HKID, each result
saying why it matched; identity numbers masked; bad queries explained (422).

A removed dependant is still found (the person was on the file, and a caseworker looking for
them needs that case), and the result says the dependant was removed from the case.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from flask import url_for

from backoffice.auth.models import Role
from backoffice.cases import search, services
from backoffice.cases.models import Relationship, phone_key
from backoffice.cases.schemes import Scheme
from backoffice.extensions import db as _db
from tests.cases.factories import dependant_data, make_case

# The people of the scene (``scene``): the applicant of "chan" and her family, a second
# applicant on a colleague's case, and a case whose spouse was taken off it.
SPOUSE = dependant_data(family_name="Wong", given_names="Mei", chinese_name="黃美",
                        date_of_birth=dependant_data().date_of_birth.replace(year=1988),
                        passport_number="SP7654321", hkid="Z683365(A)")
CHILD = dependant_data(family_name="Chan", given_names="Ka Ho", passport_number="CH1111111",
                       hkid="K111111(6)")
REMOVED = dependant_data(family_name="Ho", given_names="Siu Fan", passport_number="RM5555555",
                         date_of_birth=dependant_data().date_of_birth.replace(year=1985))

TYPE_SOMETHING = ("Type what to search for: a reference, a name, a passport or HKID number, "
                  "an email address or a phone number.")
TOO_SHORT = ("Type at least 2 letters of a name, or a whole reference, passport or HKID "
             "number, email address or phone number.")
TOO_LONG = "Field cannot be longer than 100 characters."
CONTROL = "Remove the invisible control characters from this field."


@pytest.fixture
def scene(db, make_user):
    """Three cases of one caseworker, searched for by another (who may view any case)."""
    owner = make_user(Role.CASEWORKER, full_name="Owner Worker")
    chan = make_case(owner, hkid="A123456(3)", phone="+852 9123 4567")
    services.add_dependant(owner, chan, Relationship.SPOUSE, SPOUSE, None, chan.version)
    services.add_dependant(owner, chan, Relationship.CHILD, CHILD, False, chan.version)
    lee = make_case(owner, Scheme.GEP_PRO, family_name="Au Yeung", given_names="Tai Man",
                    chinese_name="歐陽大文", passport_number="XY9876543", hkid="AB987654(3)",
                    email="Tai.Man@Example.org", phone="+1 604 555 0100")
    ho = make_case(owner, family_name="Ho", given_names="Ka Yan", chinese_name=None,
                   passport_number="HY2222222", email=None, phone=None)
    spouse = services.add_dependant(owner, ho, Relationship.SPOUSE, REMOVED, None, ho.version)
    services.remove_dependant(owner, ho, spouse, "Divorced before the application.", ho.version)
    _db.session.commit()
    return {"searcher": make_user(Role.CASEWORKER), "chan": chan, "lee": lee, "ho": ho}


def wide(text: str) -> str:
    """``text`` as a Chinese input method types it: in full-width forms (U+FF01-U+FF5E)."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def found(scene, query: str) -> dict[str, list[str]]:
    """{case: [why it matched, ...]} for the query, the cases named as in ``scene``."""
    names = {case.id: name for name, case in scene.items() if name != "searcher"}
    results = search.search(scene["searcher"], query)
    return {names[r.case.id]: [r.words + (" [removed]" if r.removed else "") for r in r.reasons]
            for r in results.results}


def spouse_of(scene, case: str, what: str, name: str) -> str:
    return f"{what} of spouse {name} (spouse of {scene[case].reference})"


# (query, {case: reasons}), None for a query refused; {chan}, {lee}, {ho} stand for those
# cases' references.
SEARCHES = [
    # The reference, exactly, whatever its case and spacing.
    ("{chan}", {"chan": ["Reference"]}),
    ("{chan_lower}", {"chan": ["Reference"]}),
    ("  {chan}  ", {"chan": ["Reference"]}),
    # The applicant's passport: case, spaces, full-width digits and letters.
    ("AB1234567", {"chan": ["Applicant's passport"]}),
    ("ab1234567", {"chan": ["Applicant's passport"]}),
    (" AB 1234 567 ", {"chan": ["Applicant's passport"]}),
    (wide("AB1234567"), {"chan": ["Applicant's passport"]}),
    ("XY9876543", {"lee": ["Applicant's passport"]}),
    # The applicant's HKID, with or without brackets, any case, full-width.
    ("A123456(3)", {"chan": ["Applicant's HKID"]}),
    ("a1234563", {"chan": ["Applicant's HKID"]}),
    (wide("ab987654(3)"), {"lee": ["Applicant's HKID"]}),
    # Email, exactly, whatever its case.
    ("TAI.MAN@example.ORG", {"lee": ["Email"]}),
    ("mei.ling.chan@example.com", {"chan": ["Email"]}),
    ("tai.man@example", {}),  # not a part of one
    # Phone by its digits, with or without the country code.
    ("+852 9123 4567", {"chan": ["Phone"]}),
    ("9123-4567", {"chan": ["Phone"]}),
    ("(604) 555-0100", {"lee": ["Phone"]}),
    (wide("6045550100"), {"lee": ["Phone"]}),
    # The applicant's name, in part, Latin or Chinese, any case, full-width; a dependant's too.
    ("tai man", {"lee": ["Applicant name"]}),
    ("YEUNG  TAI", {"lee": ["Applicant name"]}),
    (wide("yeung"), {"lee": ["Applicant name"]}),
    ("歐陽大文", {"lee": ["Applicant name"]}),
    ("陽大文", {"lee": ["Applicant name"]}),  # three characters or more: anywhere in the name
    ("歐陽", {"lee": ["Applicant name"]}),  # two Chinese characters: the start of a Chinese name
    ("陳美", {"chan": ["Applicant name"]}),
    ("美玲", {}),
    ("黃美", {"chan": ["Name of spouse WONG, Mei (黃美) (spouse of {chan})"]}),
    ("ka ho", {"chan": ["Name of child CHAN, Ka Ho (child of {chan})"]}),
    # One case matched several ways shows once, with every reason.
    ("chan", {"chan": ["Applicant name", "Name of child CHAN, Ka Ho (child of {chan})"]}),
    ("mei", {"chan": ["Applicant name", "Name of spouse WONG, Mei (黃美) (spouse of {chan})"]}),
    # A dependant's passport and HKID.
    ("sp 765 4321", {"chan": ["Passport of spouse WONG, Mei (黃美) (spouse of {chan})"]}),
    ("CH1111111", {"chan": ["Passport of child CHAN, Ka Ho (child of {chan})"]}),
    ("z683365a", {"chan": ["HKID of spouse WONG, Mei (黃美) (spouse of {chan})"]}),
    ("K111111(6)", {"chan": ["HKID of child CHAN, Ka Ho (child of {chan})"]}),
    # A removed dependant is still found, marked removed.
    ("RM5555555", {"ho": ["Passport of spouse HO, Siu Fan (spouse of {ho}) [removed]"]}),
    ("siu fan", {"ho": ["Name of spouse HO, Siu Fan (spouse of {ho}) [removed]"]}),
    # Two letters: a family name (many Hong Kong surnames are two letters), not a part.
    ("ho", {"ho": ["Applicant name", "Name of spouse HO, Siu Fan (spouse of {ho}) [removed]"]}),
    ("HO ", {"ho": ["Applicant name", "Name of spouse HO, Siu Fan (spouse of {ho}) [removed]"]}),
    ("ka", {}),
    ("an", {}),
    # Nothing found; characters LIKE would read as wildcards.
    ("nobody here", {}),
    ("%%%", None),  # no letter, no number: refused, with a message (see below)
    ("c_an", {}),
]


def _expand(scene, text: str) -> str:
    return text.format(chan=scene["chan"].reference, chan_lower=scene["chan"].reference.lower(),
                       lee=scene["lee"].reference, ho=scene["ho"].reference)


@pytest.mark.parametrize(("query", "expected"), SEARCHES, ids=[ascii(q) for q, _ in SEARCHES])
def test_every_field_finds_its_case_and_says_why(scene, query, expected):
    query = _expand(scene, query)
    try:
        got = found(scene, query)
    except search.SearchRefused:
        got = None  # the page says why: test_a_bad_query_is_explained
    if expected is not None:
        expected = {case: [_expand(scene, r) for r in reasons]
                    for case, reasons in expected.items()}
    assert got == expected


def test_one_statement_serves_every_query_of_its_shape_with_its_own_values(scene):
    # The statement is built once per shape (search.statement): the values must not be in it.
    assert search.statement(search.Terms.read("chan"))[0] is \
        search.statement(search.Terms.read("mei"))[0]
    for query, expected in [("chan", {"chan"}), ("tai man", {"lee"}), ("siu fan", {"ho"}),
                            ("chan", {"chan"})]:
        assert set(found(scene, query)) == expected


@pytest.mark.parametrize(("query", "searched"), [
    ("  Chan   Mei ", "Chan Mei"),
    (wide("CHAN") + "\u3000" + wide("MEI"), "CHAN MEI"),  # and an ideographic space
    ("\tqmas-2026-000001\n", "qmas-2026-000001"),
])
def test_the_query_is_normalised(query, searched):
    assert search.normalise(query) == searched


@pytest.mark.parametrize(("phone", "key"), [
    ("+852 9123 4567", "76543219258"), ("(604) 555-0100", "0010555406"), ("", None),
    (None, None), ("ext.", None),
])
def test_a_phone_is_kept_by_its_digits_last_first(phone, key):
    assert phone_key(phone) == key


def test_a_common_name_shows_the_first_results_and_says_there_are_more(db, make_user):
    owner = make_user(Role.CASEWORKER)
    cases = [make_case(owner) for _ in range(3)]
    results = search.search(owner, "chan", limit=2)
    assert results.more is True
    assert [r.case.id for r in results.results] == [cases[2].id, cases[1].id]  # newest first
    assert search.search(owner, "chan", limit=3).more is False


def test_an_admin_finds_nothing(scene, make_user):
    assert search.search(make_user(Role.ADMIN), "chan").results == []


# --- The page ------------------------------------------------------------------------------

def _page(client, query: str):
    response = client.get("/cases/search?q=" + quote(query))
    return response, BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_results_mask_identity_numbers_and_link_to_the_case(client, login, scene):
    login(scene["searcher"])
    response, soup = _page(client, "sp7654321")
    assert response.status_code == 200
    table = soup.select_one("table")
    row = table.select("tbody tr")
    assert len(row) == 1
    cells = [td.get_text(" ", strip=True) for td in row[0].select("td")]
    reference = scene["chan"].reference
    assert cells[0] == reference
    assert row[0].select_one("a")["href"] == f"/cases/{scene['chan'].id}"
    assert "•••••567" in cells and "A123***(*)" in cells
    text = table.get_text(" ", strip=True)
    for number in ("AB1234567", "A123456(3)", "SP7654321", "Z683365(A)"):
        assert number not in text
    assert f"Passport of spouse WONG, Mei (黃美) (spouse of {reference})" in text
    assert "One case found." in soup.get_text()


def test_a_removed_dependant_is_marked_on_the_page(client, login, scene):
    login(scene["searcher"])
    _response, soup = _page(client, "RM5555555")
    assert "Removed from the case" in soup.select_one("table").get_text()


def test_no_result_says_so_and_how_to_search_otherwise(client, login, scene):
    login(scene["searcher"])
    response, soup = _page(client, "nobody here")
    assert response.status_code == 200
    assert soup.select_one("table") is None
    assert "No case matches “nobody here”." in soup.get_text(" ")


def test_more_results_than_shown_says_refine(client, login, scene, monkeypatch):
    monkeypatch.setattr(search, "LIMIT", 1)
    login(scene["searcher"])
    _response, soup = _page(client, "mei")  # the applicant and her spouse: two reasons, 1 case
    assert "Refine the search" not in soup.get_text()
    make_case(scene["searcher"], family_name="Mei", given_names="Ling", chinese_name=None)
    _response, soup = _page(client, "mei")
    assert len(soup.select("tbody tr")) == 1
    assert "Showing the first 1 cases found. Refine the search to see the others." \
        in soup.get_text(" ")


@pytest.mark.parametrize(("query", "message"), [
    ("", TYPE_SOMETHING), ("   ", TYPE_SOMETHING), ("\u3000", TYPE_SOMETHING),
    ("x", TOO_SHORT), ("陳", TOO_SHORT), ("12", TOO_SHORT), ("%_", TOO_SHORT),
    ("x" * 101, TOO_LONG), ("Chan\x00", CONTROL),
])
def test_a_bad_query_is_explained(client, login, scene, query, message):
    login(scene["searcher"])
    response, soup = _page(client, query)
    assert response.status_code == 422
    assert message in soup.get_text(" ")
    box = soup.select_one("#search-q")
    assert box["aria-invalid"] == "true"


def test_the_page_without_a_query_is_the_form_and_its_help(client, login, scene):
    login(scene["searcher"])
    response = client.get("/cases/search")
    assert response.status_code == 200
    text = BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ")
    assert "Notes are searched on each case's page, not here." in text


def test_a_signed_out_visitor_is_sent_to_sign_in(client, db):
    response = client.get("/cases/search?q=chan")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("role", "has_box"), [
    (Role.CASEWORKER, True), (Role.SUPERVISOR, True), (Role.ADMIN, False)])
def test_the_header_search_is_on_every_page_of_those_who_work_cases(client, as_role, role,
                                                                    has_box):
    as_role(role)
    page = "/admin/users" if role is Role.ADMIN else "/cases/due-soon"
    soup = BeautifulSoup(client.get(page).get_data(as_text=True), "html.parser")
    form = soup.select_one("nav form[role=search]")
    assert (form is not None) is has_box
    if has_box:
        assert form["action"] == "/cases/search" and form["method"] == "get"
        box = form.select_one("input[name=q]")
        assert box["aria-keyshortcuts"] == "/"
        assert soup.select_one(f"label[for={box['id']}]").get_text() == "Search all cases"


def test_slash_focuses_the_search_in_the_served_script(client, app):
    with app.test_request_context():
        address = url_for("core.static", filename="app.js")
    script = client.get(address).get_data(as_text=True)
    assert "aria-keyshortcuts='/'" in script
    assert 'closest("input, textarea, select, [contenteditable]")' in script

"""Every form of a case, refused every way it can be: the answer is the page it came from
again (422) with the reason written on it, and nothing saved. That page is the case page
(whichever forms it still offers) for the case page's forms and the steps taken there, and
the step's own page (its heading the step's name) for a step that has one.

Each form is posted as the page showed it: the token and the version taken when the page was
opened, the submission tests/test_bad_input.py FORMS accepts. Between opening and posting:

* ``not_yours``: nothing; the case is another caseworker's (a caseworker may read it, not
  change it; taking it is refused because it has an owner; reassigning is for supervisors);
* ``ended``: a supervisor ends the case (withdraws it, or closes a stay);
* ``stale``: a supervisor changes the case (adds a child), so the form's version is old.

``not_yours`` and ``ended`` are also posted empty (only the version): the form the page no
longer offers cannot show its field errors, so the reason it is not offered is what is said.
"""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from bs4 import BeautifulSoup

from backoffice.auth.models import Role
from backoffice.cases import services
from backoffice.cases.models import Relationship
from tests.cases.factories import dependant_data, make_case
from tests.conftest import Client
from tests.test_bad_input import FORMS, case_in, placeholders

NOT_YOURS = ("Only the caseworker assigned to this case or a supervisor can change it. Take "
             "the case first if it is unassigned.")
WITHDRAWN = "This case was withdrawn; it can no longer be changed."
CLOSED = "This case is closed; it can no longer be changed."
LAPSED = "This case has lapsed; it can no longer be changed."
STALE = ("This case was changed by someone else while you were working on it. Nothing was "
         "saved: reload the case to see the changes, then try again.")
ROLE_403 = "Your role does not give you access to this page."
TAKEN = "This case is already assigned to {owner}."

# form (a FORMS name) -> the step that ends its case, and what the page says then.
CASE_FORMS = {
    "withdraw": ("withdraw", WITHDRAWN),
    "submit": ("withdraw", WITHDRAWN),
    "refuse": ("withdraw", WITHDRAWN),
    "approve": ("withdraw", WITHDRAWN),
    "issue visa": ("withdraw", WITHDRAWN),
    "record arrival": ("withdraw", WITHDRAWN),
    "request extension": ("close", CLOSED),
    "grant extension": ("lapse", LAPSED),
    "add dependant": ("withdraw", WITHDRAWN),
    "remove dependant": ("withdraw", WITHDRAWN),
    "correct date": ("close", CLOSED),
    "job offer": ("close", CLOSED),
    "take": ("withdraw", WITHDRAWN),
    "reassign": ("withdraw", WITHDRAWN),
}
# What "not yours" means for the forms that are not the assignee's.
NOT_YOURS_BY_FORM = {"take": (422, TAKEN), "reassign": (403, ROLE_403)}


def _rows() -> list:
    return list(_row_iter())


def _row_iter():
    for name, (_, ended_message) in CASE_FORMS.items():
        status, not_yours = NOT_YOURS_BY_FORM.get(name, (422, NOT_YOURS))
        for typed in ("valid", "empty"):
            yield pytest.param(name, "not_yours", typed, status, not_yours,
                               id=f"{name}-not_yours-{typed}")
            yield pytest.param(name, "ended", typed, 422, ended_message,
                               id=f"{name}-ended-{typed}")
        yield pytest.param(name, "stale", "valid", 422, STALE, id=f"{name}-stale-valid")


def _open(client: Client, page: str) -> str:
    """Open ``page`` as a browser does (a step's page the user may not take goes back to
    the case) and return the token of the page shown."""
    shown = client.get(page, follow_redirects=True).get_data(as_text=True)
    match = Client._token_re.search(shown)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def _step_of(url: str, case) -> object | None:
    """The step a form's address takes, if it is a step's."""
    if "/step/" not in url:
        return None
    return case.policy.transition(url.rsplit("/", 1)[-1])


@pytest.mark.parametrize(("form_name", "meanwhile", "typed", "status", "message"), _rows())
def test_a_refused_case_form_says_why_on_the_case_page(client, as_role, make_user, db,
                                                       form_name, meanwhile, typed, status,
                                                       message):
    form = FORMS[form_name]
    owner = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    other = make_user(Role.CASEWORKER)
    case, values = case_in(form.case, owner)
    if meanwhile == "not_yours":
        me = as_role(Role.CASEWORKER)
        case.assignee_id = owner.id  # taking it too is refused: it has an owner
        db.session.commit()
    else:
        me = as_role(form.role)
        if form.role is Role.CASEWORKER and form.case != "unassigned":
            case.assignee_id = me.id
            db.session.commit()
    assert me.id != owner.id
    values |= placeholders() | {"version": str(case.version), "user": str(other.id)}
    url = form.url.format(**values)
    token = _open(client, form.token_from.format(**values))  # the page is opened

    if meanwhile == "ended":
        step, _ = CASE_FORMS[form_name]
        services.transition(case, step, supervisor, reason="The applicant asked.")
        db.session.commit()
    elif meanwhile == "stale":
        services.add_dependant(supervisor, case, Relationship.CHILD,
                               dependant_data(given_names="Bo", date_of_birth=date(2016, 1, 1),
                                              passport_number="P2222222"),
                               False, case.version)
        db.session.commit()
        assert str(case.version) != values["version"]
    version = case.version

    data = ({key: value.format(**values) for key, value in form.valid.items()}
            if typed == "valid" else {"version": values["version"]})
    response = client.post(url, data={**data, "csrf_token": token})

    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, text[:3000]
    message = message.format(owner=owner.full_name)
    assert message in text, text[:3000]
    if status == 422:  # said at the top of the page it came from
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        step = _step_of(url, case)
        if step is not None and step.has_own_page:
            assert page.find("h1").get_text(strip=True) == step.label
            said = page.find(id="step-error")
        else:
            assert page.find("h1").get_text(" ", strip=True).startswith(case.reference)
            said = page.find(id="case-error")
        assert said is not None and message in " ".join(said.get_text().split())
    db.session.expire_all()
    db.session.refresh(case)
    assert case.version == version, "refused, but the case changed"


def test_a_refused_form_comes_back_open_as_typed_with_its_reason_said_once(client, as_role, db):
    """A rule's refusal is said at the top of the page (once, where the focus goes), and the
    form it refused is open again with what was typed, to be corrected."""
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    services.add_dependant(me, case, Relationship.SPOUSE,
                           dependant_data(given_names="Tom", date_of_birth=date(1989, 1, 1)),
                           False, case.version)
    db.session.commit()
    data = {key: value.format(case=case.id, version=case.version)
            for key, value in FORMS["add dependant"].valid.items()}
    response = client.post_form(f"/cases/{case.id}/dependants", data,
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert text.count("already has a spouse") == 1
    assert 'id="case-error"' in text
    assert re.search(r"<details open>\s*<summary[^>]*>Add a spouse or child", text)
    assert 'value="Wing"' in text

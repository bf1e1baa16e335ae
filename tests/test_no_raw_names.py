"""No page of any role shows a raw name where a label belongs: a model's column name
(``submitted_on``, ``passport_number``), a code of an enum (``under_review``, ``GEP_ENT``,
``dependant_added``) or a step's name (``start_review``).

The pages are the route table's (``tests/test_routes_by_role.py``), each GET a role may open
and each form it may post empty, as ``tests/test_pages_by_language.py`` renders them, but on a
case with a history: a change of scheme, edits of many kinds of field, a dependant added and
one removed, the steps to an arrival, an arrival corrected and a job offer, and beside it
cases waiting for a quota place, refused and withdrawn. What is scanned is what a person reads
(``visible_text``): a form field's ``name`` or ``id`` is an attribute nobody reads, and a CSV
export is a file for other programs (its headers are columns on purpose).

A raw name is a snake_case word (``word_word``): every such word on a page fails, unless it is
a value stored in the database (data is shown as entered, an e-mail address may hold one).
That is every column and code with two words or more; a one-word column (``phone``) cannot be
told from a word by a scan, so the history's labels for those are tested where they are made
(``tests/cases/test_services.py``, the edit's old and new values).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backoffice.auth.models import Role
from backoffice.cases import services, stay
from backoffice.cases.models import Relationship
from backoffice.cases.schemes import CaseStatus, GovernmentProgramme, Scheme
from backoffice.extensions import db as _db
from tests.cases.factories import (
    NOW,
    SUBMITTED_ON,
    TODAY,
    applicant_data,
    case_facts,
    correct_step_date,
    dependant_data,
    make_case,
    prepare_step,
)
from tests.test_pages_by_language import (
    PAGES,
    read_as,
    stored_values,
    untranslated,
    visible_text,
)

pytestmark = pytest.mark.one_backend  # the words on a page do not depend on the database

SNAKE_CASE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")



def raw_names_in(pieces: list[str], data: list[str]) -> list[str]:
    """The snake_case words in the pieces once the stored values are taken out."""
    found = []
    for piece in pieces:
        for value in data:
            if "_" in value and value in piece:
                piece = piece.replace(value, " ")
        found += SNAKE_CASE.findall(piece)
    return found


def test_the_scan_finds_raw_names_and_spares_attributes_and_data():
    html = ('<html lang="en-HK"><body><p>Edited</p><p>(changed: submitted_on)</p>'
            '<span title="Status: under_review">Under review</span>'
            '<input name="family_name" id="passport_number" value="x">'
            '<td>mei_ling@example.org</td><td>GEP_ENT</td></body></html>')
    assert raw_names_in(visible_text(html), ["mei_ling@example.org"]) == [
        "submitted_on", "GEP_ENT", "under_review"]


def case_with_history(owner) -> tuple:
    """A GEP (Professionals) case in its stay with every kind of event, and cases in other
    states beside it; returns (the case, its dependant)."""
    case = services.create_case(owner, Scheme.GEP_ENT, applicant_data(),
                                case_facts(Scheme.GEP_ENT), today=TODAY)
    # Begun under another scheme: the change's history names both, and the facts it cleared.
    services.change_scheme(owner, case, Scheme.GEP_PRO, case_facts(Scheme.GEP_PRO),
                           "The job offer came with the application.", case.version,
                           today=TODAY)
    spouse = services.add_dependant(owner, case, Relationship.SPOUSE,
                                    dependant_data(given_names="Siu Ming",
                                                   date_of_birth=date(1988, 1, 1)),
                                    None, case.version, today=TODAY)
    child = services.add_dependant(owner, case, Relationship.CHILD, dependant_data(), False,
                                   case.version, today=TODAY)
    services.remove_dependant(owner, case, spouse, "Divorced in 2025.", case.version)
    services.update_case(
        owner, case,
        applicant_data(family_name="Chen", passport_number="XY7654321", hkid="A123456(3)",
                       nationality="PH", email=None, email_consent=False,
                       language="zh_Hant_HK"),
        case_facts(Scheme.GEP_PRO, submitted_on=SUBMITTED_ON - timedelta(days=1),
                   job_salary=Decimal("70000"), programme=GovernmentProgramme.HKSTP_INCU_APP,
                   has_hk_parent=True, business_plan="A plan"),
        case.version, today=TODAY)
    steps = ("submit", "start_review", "approve", "issue_visa", "record_arrival")
    for days_ago, step in zip(range(len(steps) + 1, 1, -1), steps, strict=True):
        extra, at = prepare_step(case, step, owner, NOW - timedelta(days=days_ago))
        services.transition(case, step, owner, now=at, **extra)
    correct_step_date(owner, case, "record_arrival", TODAY - timedelta(days=1),
                      "Arrived a day earlier.")
    stay.record_job_offer(owner, case, stay.JobOfferData(
        employer="Harbour Analytics Ltd", post="Data engineer", salary=Decimal("70000"),
        start_date=TODAY), now=NOW)
    _db.session.commit()
    for scheme, status in ((Scheme.QMAS, CaseStatus.AWAITING_QUOTA),
                           (Scheme.GEP_ENT, CaseStatus.REFUSED),
                           (Scheme.ASSG, CaseStatus.WITHDRAWN),
                           (Scheme.QMAS, CaseStatus.UNDER_REVIEW)):
        make_case(owner, scheme, status)
    return case, child


@pytest.mark.parametrize(("method", "url", "role", "language"), PAGES)
def test_no_page_shows_a_raw_name(client, make_user, as_role, method, url, role, language):
    """In each language; in Chinese, the history's words are checked for English left too
    (``tests/test_pages_by_language.py`` sees a case without a history)."""
    user = as_role(role)
    target = make_user(Role.CASEWORKER)
    # Every page, not only the case's own, sees these cases (lists, queues, deadlines).
    case, dependant = case_with_history(target)
    if user is not None and user.can_work_cases():
        make_case(user, Scheme.QMAS, CaseStatus.AWAITING_QUOTA)
    path = (url.replace("{user}", str(target.id)).replace("{case}", str(case.id))
            .replace("{dependant}", str(dependant.id)))
    response = read_as(client, user, language, method, path)

    assert response.status_code < 500
    _db.session.rollback()
    if response.status_code in (302, 303):
        # A redirect is never read: its body is Werkzeug's, not a page of ours.
        assert response.headers["Location"]
        return
    pieces, data = visible_text(response.get_data(as_text=True)), stored_values()
    found = raw_names_in(pieces, data)
    assert not found, f"raw names on {method} {path}: {sorted(set(found))}"
    if language != "en":
        left = untranslated(pieces, data)
        assert not left, f"English left on {method} {path} in Chinese: {sorted(set(left))}"

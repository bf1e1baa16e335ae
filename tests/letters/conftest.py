"""Real cases in the state each letter follows, made through the services, and their letters'
data: the tests of ``letter_data`` use them one by one, the rendering tests once per module.

Every case is the factories' applicant (CHAN Mei Ling, 陳美玲), QMAS unless said, taken
through its steps on the factories' fixed dates: submitted 2 March 2026, steps on 16 March
2026, arrival on 16 March 2026 (a stay to 16 March 2027), an extension requested on 9 March
2027 and granted (to 16 March 2029) or refused that day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from backoffice.auth import services as accounts
from backoffice.auth.models import Role, User
from backoffice.cases import services
from backoffice.cases.models import Case, Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from backoffice.letters.data import letter_data
from backoffice.letters.kinds import LetterKind
from backoffice.quota.models import QuotaPeriod
from tests.cases.factories import (
    NOW,
    dependant_data,
    hk_morning,
    make_case,
    path_to,
    prepare_step,
)
from tests.conftest import PASSWORD

REFUSAL_REASON = "The applicant was under 18 on the date the application was received."
EXTENSION_REFUSAL_REASON = "The job offer recorded is not with a Hong Kong employer."
# A request for documents as the documents feature words it: labels in both languages.
DOCUMENT_ITEMS = [
    {"label": {"en": "Degree certificates", "zh_Hant_HK": "學位證書"},
     "hint": {"en": "Certificates of each degree claimed, with transcripts.",
              "zh_Hant_HK": "所申報各學位的證書及成績單。"}},
    {"label": {"en": "Proof of relationship", "zh_Hant_HK": "關係證明"},
     "person": "CHAN Ka Ho"},
]
DOCUMENTS_DUE = date(2026, 4, 13)
SPOUSE = {"family_name": "Wong", "given_names": "Siu Ming", "chinese_name": "黃小明",
          "date_of_birth": date(1988, 1, 9), "passport_number": "AB5550001"}
QUOTA_YEARS = range(2025, 2031)


def open_quota(setter: User) -> None:
    """QMAS approvals take a place of the year's quota: open the years the tests reach."""
    _db.session.add_all(QuotaPeriod(scheme="QMAS", year=year, quota_limit=None, allocated=0,
                                    set_by_id=setter.id) for year in QUOTA_YEARS)
    _db.session.commit()


def walk(case: Case, status: CaseStatus, actor: User) -> Case:
    """Take a draft through its steps to ``status``, as the factories do."""
    now = NOW
    for step in path_to(case.policy, status):
        extra, at = prepare_step(case, step.name, actor, now)
        services.transition(case, step.name, actor, reason="Test step." if step.needs_reason
                            else None, now=at, **extra)
        now = max(now, at)
    _db.session.commit()
    return case


def take(case: Case, step: str, actor: User, reason: str | None = None,
         data: services.StepData | None = None) -> Case:
    """Take one more step, dated the day the case's current status began."""
    on = case.status_since
    services.transition(case, step, actor, reason=reason, now=hk_morning(on),
                        data=data or services.StepData(on=on))
    _db.session.commit()
    return case


def approved_with_family(actor: User, scheme: Scheme = Scheme.QMAS) -> Case:
    """An approved case with a spouse and a child, and a child removed before approval."""
    case = make_case(actor, scheme)
    for relation, person in ((Relationship.SPOUSE, dependant_data(**SPOUSE)),
                             (Relationship.CHILD, dependant_data()),
                             (Relationship.CHILD, dependant_data(
                                 given_names="Ka Yan", passport_number="AB7654322",
                                 date_of_birth=date(2017, 2, 3)))):
        services.add_dependant(actor, case, relation, person, married=False,
                               expected_version=case.version)
    services.remove_dependant(actor, case, case.dependants[-1], "Not coming to Hong Kong.",
                              case.version)
    _db.session.commit()
    return walk(case, CaseStatus.APPROVED, actor)


def refused_as_ineligible(actor: User) -> Case:
    """A QMAS applicant aged 17 on the submission date, refused on that permanent ground."""
    # The same name as the other cases' applicant: only the date of birth is another.
    case = make_case(actor, date_of_birth=date(2008, 6, 1), given_names="Mei Ling")
    services.transition(case, "refuse_ineligible", actor, reason=REFUSAL_REASON, now=NOW)
    _db.session.commit()
    return case


def refused_after_review(actor: User) -> Case:
    case = make_case(actor, Scheme.QMAS, CaseStatus.UNDER_REVIEW)
    return take(case, "refuse", actor, reason="The points claimed could not be verified.")


def extension_granted(actor: User, months: int | None = None) -> Case:
    case = make_case(actor, Scheme.QMAS, CaseStatus.EXTENSION_REQUESTED)
    return take(case, "grant_extension", actor,
                data=services.StepData(on=case.status_since, months=months))


def extension_refused(actor: User) -> Case:
    case = make_case(actor, Scheme.QMAS, CaseStatus.EXTENSION_REQUESTED)
    return take(case, "refuse_extension", actor, reason=EXTENSION_REFUSAL_REASON)


def submitted(actor: User) -> Case:
    return make_case(actor, Scheme.QMAS, CaseStatus.SUBMITTED)


def under_review(actor: User) -> Case:
    return make_case(actor, Scheme.QMAS, CaseStatus.UNDER_REVIEW)


# Each letter: the case it is written on, what the caller adds, and the day it is written
# (the day after the step it tells).
LETTER_CASES: dict[LetterKind, tuple[Callable[[User], Case], dict, date]] = {
    LetterKind.ACKNOWLEDGEMENT: (submitted, {}, date(2026, 3, 3)),
    LetterKind.DOCUMENTS_REQUEST: (
        under_review, {"items": DOCUMENT_ITEMS, "due_on": DOCUMENTS_DUE}, date(2026, 3, 16)),
    LetterKind.APPROVAL: (approved_with_family, {}, date(2026, 3, 17)),
    LetterKind.REFUSAL: (refused_as_ineligible, {}, date(2026, 3, 17)),
    LetterKind.EXTENSION_GRANTED: (extension_granted, {}, date(2027, 3, 10)),
    LetterKind.EXTENSION_REFUSED: (extension_refused, {}, date(2027, 3, 10)),
}


def data_for(kind: LetterKind, actor: User) -> dict:
    """The data of the letter of ``kind`` on a new case in the state it follows."""
    make, extra, on = LETTER_CASES[kind]
    return letter_data(make(actor), kind, on=on, extra=extra)


def new_actor(email: str = "letters@example.org") -> User:
    user = accounts.create_user(None, email=email, full_name="Letters Caseworker",
                                role=Role.CASEWORKER, password=PASSWORD, temporary=False)
    _db.session.commit()
    return user


@pytest.fixture
def actor(db, supervisor) -> User:
    """A caseworker who takes the steps, with the QMAS quota open for the years needed."""
    open_quota(supervisor)
    return new_actor()

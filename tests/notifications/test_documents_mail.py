"""A request for documents reaches the applicant: its own email at once (through the outbox,
in the applicant's language, listing what is asked), then reminders of the "documents due"
deadline that list only what is still awaited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.documents import services as documents
from backoffice.extensions import db as _db
from backoffice.notifications import services
from backoffice.notifications.models import REQUEST, Reminder
from backoffice.notifications.wording import render_reminder
from tests.cases.factories import make_case

ASKED = ["passport/applicant", "degree_certificates/applicant"]
EMAIL = "li.na@applicant.example.net"


def asking(caseworker, *, consent: bool = True, language: str = "en", due_in: int = 28):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False,
                     email=EMAIL, email_consent=consent, language=language)
    request = documents.request_documents(caseworker, case, ASKED,
                                          hk_today() + timedelta(days=due_in))
    _db.session.commit()
    return case, request


def written(reminder: Reminder):
    prepared = services.prepare([reminder.id])[reminder.id]
    return prepared.context, render_reminder(prepared.context)


@pytest.mark.parametrize(("language", "says"), [
    ("en", ["Passport", "Degree certificates"]),
    ("zh_Hant_HK", ["護照", "學位證書"]),
])
def test_the_request_is_emailed_at_once_in_the_applicants_language(db, caseworker, language,
                                                                   says):
    case, request = asking(caseworker, language=language)
    assert request.emailed
    (reminder,) = _db.session.scalars(select(Reminder).where(Reminder.case_id == case.id))
    assert (reminder.offset_days, reminder.email, reminder.user_id) == (REQUEST, EMAIL, None)
    context, message = written(reminder)
    assert context["request"] is True
    assert case.reference in message.subject + message.text
    for word in says:
        assert word in message.text
    assert caseworker.full_name not in message.text + message.html


def test_no_email_without_consent_and_the_letter_alone_says_it(db, caseworker):
    case, request = asking(caseworker, consent=False)
    assert not request.emailed
    assert _db.session.scalars(select(Reminder).where(Reminder.case_id == case.id)).all() == []


def test_a_reminder_lists_only_what_is_still_awaited(db, caseworker):
    case, _request = asking(caseworker, due_in=7)
    documents.mark_received(caseworker, case, "passport/applicant", hk_today())
    _db.session.commit()
    services.plan_reminders(hk_today())
    _db.session.commit()
    reminder = _db.session.scalar(select(Reminder).where(
        Reminder.case_id == case.id, Reminder.offset_days == 7, Reminder.user_id.is_(None)))
    context, message = written(reminder)
    assert context["request"] is False
    assert [str(item) for item in context["items"]] == ["Degree certificates"]
    assert "Degree certificates" in message.text and "Passport" not in message.text


def test_the_request_email_is_not_sent_once_the_documents_are_in(db, caseworker):
    case, _request = asking(caseworker)
    for key in ASKED:
        documents.mark_received(caseworker, case, key, hk_today())
    _db.session.commit()
    (reminder,) = _db.session.scalars(select(Reminder).where(Reminder.case_id == case.id))
    assert services.prepare([reminder.id])[reminder.id].context is None

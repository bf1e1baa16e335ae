"""Letters on a case: written on the steps they tell and on a request for documents, in the
applicant's language; the PDF made once (by the worker or at the first download) and then
the same bytes at every download."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader
from sqlalchemy import func, select

from backoffice.auth.models import Role
from backoffice.cases import services
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.documents import services as documents
from backoffice.documents.models import DocumentFile
from backoffice.extensions import db as _db
from backoffice.letters import tasks
from backoffice.letters.models import Letter
from tests.cases.factories import make_case


@pytest.fixture
def me(as_role):
    return as_role(Role.CASEWORKER)


def kinds_of(case: Case) -> list[str]:
    _db.session.rollback()
    return list(_db.session.scalars(select(Letter.kind).where(Letter.case_id == case.id)
                                    .order_by(Letter.id)))


@pytest.mark.parametrize(("status", "kinds"), [
    (None, []),
    (CaseStatus.SUBMITTED, ["acknowledgement"]),
    (CaseStatus.UNDER_REVIEW, ["acknowledgement"]),
    (CaseStatus.APPROVED, ["acknowledgement", "approval"]),
    (CaseStatus.REFUSED, ["acknowledgement", "refusal"]),
    (CaseStatus.EXTENDED, ["acknowledgement", "approval", "extension_granted"]),
])
def test_each_step_that_tells_the_applicant_something_writes_its_letter(db, caseworker,
                                                                        status, kinds):
    case = make_case(caseworker, Scheme.GEP_PRO, status)
    assert kinds_of(case) == kinds


def test_a_letter_is_written_in_the_applicants_language_or_both_by_setting(app, db,
                                                                           caseworker):
    chinese = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.SUBMITTED,
                        language="zh_Hant_HK")
    assert _db.session.scalar(select(Letter.language).where(
        Letter.case_id == chinese.id)) == "zh_Hant_HK"
    app.config["LETTERS_IN_BOTH_LANGUAGES"] = True
    try:
        both = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.SUBMITTED)
    finally:
        app.config["LETTERS_IN_BOTH_LANGUAGES"] = False
    assert _db.session.scalar(select(Letter.language).where(
        Letter.case_id == both.id)) == "both"


def test_the_pdf_is_made_at_the_first_download_and_the_same_bytes_afterwards(client, me):
    case = make_case(me, Scheme.GEP_PRO, CaseStatus.APPROVED)
    letter_id = _db.session.scalar(select(Letter.id).where(Letter.case_id == case.id,
                                                           Letter.kind == "approval"))
    page = BeautifulSoup(client.get(f"/cases/{case.id}").get_data(as_text=True), "html.parser")
    links = [a["href"] for a in page.select("#letters a")]
    assert f"/cases/{case.id}/letters/{letter_id}" in links
    first = client.get(f"/cases/{case.id}/letters/{letter_id}")
    second = client.get(f"/cases/{case.id}/letters/{letter_id}")
    assert first.status_code == second.status_code == 200
    assert first.headers["Content-Disposition"].startswith("attachment;")
    assert first.get_data() == second.get_data()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(first.get_data())).pages)
    assert case.reference in text and "CHAN" in text.upper()
    _db.session.rollback()
    assert _db.session.scalar(select(func.count()).select_from(DocumentFile).where(
        DocumentFile.case_id == case.id, DocumentFile.item_id.is_(None))) == 1


def test_the_worker_makes_the_letters_still_without_a_pdf_once(db, caseworker):
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.SUBMITTED, documents=False)
    documents.request_documents(caseworker, case, ["passport/applicant"],
                                hk_today() + timedelta(days=14))
    _db.session.commit()
    assert tasks.make_letters() == 2  # the acknowledgement and the request
    assert tasks.make_letters() == 0
    letters = _db.session.scalars(select(Letter).where(Letter.case_id == case.id)).all()
    assert all(letter.file is not None and letter.file.size > 0 for letter in letters)


@pytest.mark.parametrize(("role", "status"), [(Role.ADMIN, 403), (Role.SUPERVISOR, 200)])
def test_a_letter_is_downloaded_only_by_those_who_may_view_the_case(client, make_user, login,
                                                                     role, status):
    case = make_case(make_user(Role.CASEWORKER), Scheme.GEP_PRO, CaseStatus.SUBMITTED)
    letter_id = _db.session.scalar(select(Letter.id).where(Letter.case_id == case.id))
    login(make_user(role))
    assert client.get(f"/cases/{case.id}/letters/{letter_id}").status_code == status
    other = make_case(make_user(Role.CASEWORKER), Scheme.GEP_PRO)
    if status == 200:
        assert client.get(f"/cases/{other.id}/letters/{letter_id}").status_code == 404


def test_a_withdrawal_writes_no_letter(db, caseworker):
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.SUBMITTED)
    services.transition(case, "withdraw", caseworker, reason="Found another job.")
    assert kinds_of(case) == ["acknowledgement"]


def test_a_document_asked_for_again_says_why_the_first_was_rejected(db, caseworker):
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.SUBMITTED)
    documents.reject(caseworker, case, "passport/applicant", "The scan is unreadable.")
    documents.request_documents(caseworker, case, ["passport/applicant"],
                                hk_today() + timedelta(days=14))
    letter = _db.session.scalar(select(Letter).where(Letter.case_id == case.id,
                                                     Letter.kind == "documents_request"))
    assert letter.data["items"][0]["hint"]["en"] == "The scan is unreadable."

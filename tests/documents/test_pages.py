"""The documents page as a caseworker uses it: uploads of real files (and the refusals of
those that are not safe, said on the page), the checks, the requests, the downloads and who
may make them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind
from backoffice.cases.models import Case, Deadline, DeadlineKind
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.documents import services as documents
from backoffice.documents.models import DocumentFile, ItemState
from backoffice.extensions import db as _db
from backoffice.letters.models import Letter
from tests.cases.factories import make_case
from tests.documents import samples

KEY = "passport/applicant"


@pytest.fixture
def me(as_role):
    return as_role(Role.CASEWORKER)


@pytest.fixture
def case(me) -> Case:
    return make_case(me, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)


def page_of(case: Case) -> str:
    return f"/cases/{case.id}/documents"


def post_upload(client, case: Case, data: bytes, name: str, key: str = KEY, **fields):
    token = client.csrf_token(page_of(case))
    return client.post(f"/cases/{case.id}/documents/upload", data={
        "csrf_token": token, "item": key, "received_on": hk_today().isoformat(),
        "file": (io.BytesIO(data), name), **fields}, content_type="multipart/form-data")


def state_of(case: Case, key: str = KEY) -> ItemState:
    _db.session.rollback()
    case = _db.session.get(Case, case.id)
    return next(line.state for line in documents.checklist(case) if line.key == key)


def files_of(case: Case) -> int:
    return _db.session.scalar(select(func.count()).select_from(DocumentFile)
                              .where(DocumentFile.case_id == case.id, DocumentFile.item_id
                                     .is_not(None)))


def error_on(response) -> str:
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    alert = soup.select_one("#documents-error")
    return alert.get_text(" ", strip=True) if alert else ""


def test_the_documents_page_lists_the_checklist_and_the_case_page_sums_it_up(
        client, me, case):
    page = BeautifulSoup(client.get(page_of(case)).get_data(as_text=True), "html.parser")
    assert [li["data-item"] for li in page.select("#checklist > li")] == [
        "passport/applicant", "degree_certificates/applicant", "work_experience/applicant",
        "language_proficiency/applicant"]
    assert "3 required documents are missing" in page.select_one("#documents-summary").text
    case_page = BeautifulSoup(client.get(f"/cases/{case.id}").get_data(as_text=True),
                              "html.parser")
    assert case_page.select_one("#documents-missing").text == "3 documents missing"
    queue = client.get("/cases/queue/mine").get_data(as_text=True)
    assert "3 documents missing" in queue


@pytest.mark.parametrize(("make", "name", "shown"), [
    (samples.blank_pdf, "passport.pdf", "passport.pdf"),
    (samples.jpeg, "photo page.jpeg", "photo page.jpeg"),
    (samples.png, "../../etc/passwd.png", "passwd.png"),
    (samples.blank_pdf, "/home/mei/簽證.pdf", "簽證.pdf"),
])
def test_an_upload_is_kept_and_the_item_received(client, me, case, make, name, shown):
    response = post_upload(client, case, make(), name)
    assert response.status_code == 302
    assert state_of(case) == ItemState.RECEIVED
    file = _db.session.scalar(select(DocumentFile).where(DocumentFile.case_id == case.id,
                                                         DocumentFile.item_id.is_not(None)))
    assert file.display_name == shown
    page = client.get(page_of(case)).get_data(as_text=True)
    assert "File uploaded; the document is received." in page


@pytest.mark.parametrize(("make", "name", "message"), [
    (samples.windows_exe, "passport.pdf", "Windows program"),
    (samples.pdf_with_document_javascript, "passport.pdf", "script"),
    (samples.pdf_with_open_action_javascript, "passport.pdf", "script"),
    (samples.encrypted_pdf, "passport.pdf", "password"),
    (lambda: b"", "passport.pdf", "empty"),
    (samples.html_page, "passport.png", "PDF, JPEG, PNG"),
    (samples.truncated_pdf, "passport.pdf", "could not be read"),
])
def test_an_unsafe_file_is_refused_on_the_page_and_nothing_is_kept(client, me, case, make,
                                                                   name, message):
    response = post_upload(client, case, make(), name)
    assert response.status_code == 422
    assert message in error_on(response)
    assert state_of(case) == ItemState.MISSING
    assert files_of(case) == 0


def test_a_file_over_the_limit_is_refused_with_the_limit_and_a_body_far_over_before_it_is_read(
        app, client, me, case):
    limit, body_limit = app.config["UPLOAD_MAX_BYTES"], app.config["MAX_CONTENT_LENGTH"]
    app.config.update(UPLOAD_MAX_BYTES=100_000, MAX_CONTENT_LENGTH=100_000 + 64 * 1024)
    try:
        over = post_upload(client, case, samples.pdf_of_size(120_000), "big.pdf")
        assert over.status_code == 422
        assert "The file is larger than 0.1 MB" in error_on(over)
        far = post_upload(client, case, samples.random_bytes(400_000), "huge.pdf")
        assert far.status_code == 303
        assert far.headers["Location"].endswith(page_of(case))
        shown = client.get(far.headers["Location"]).get_data(as_text=True)
        assert "The file is larger than 0.1 MB" in shown
    finally:
        app.config.update(UPLOAD_MAX_BYTES=limit, MAX_CONTENT_LENGTH=body_limit)
    assert files_of(case) == 0


@pytest.mark.parametrize(("endpoint", "fields", "state"), [
    ("receive", {"received_on": "{today}"}, ItemState.RECEIVED),
    ("waive", {"reason": "Seen at the counter."}, ItemState.WAIVED),
])
def test_a_paper_receipt_and_a_waiver_are_recorded(client, me, case, endpoint, fields, state):
    data = {"item": KEY, **{k: v.format(today=hk_today().isoformat()) for k, v in
                            fields.items()}}
    response = client.post_form(f"/cases/{case.id}/documents/{endpoint}", data,
                                token_from=page_of(case))
    assert response.status_code == 302
    assert state_of(case) == state


@pytest.mark.parametrize(("endpoint", "fields", "message"), [
    ("accept", {}, "cannot be accepted"),
    ("reject", {"reason": ""}, "Give the reason the document is rejected"),
    ("waive", {"reason": " "}, "Give the reason the document is not needed"),
    ("receive", {"received_on": "2999-01-01"}, "is in the future"),
    ("accept", {"item": "passport/dependant:12345"}, "not on this case's checklist"),
])
def test_a_refused_action_says_why_on_the_documents_page(client, me, case, endpoint, fields,
                                                         message):
    response = client.post_form(f"/cases/{case.id}/documents/{endpoint}",
                                {"item": KEY, **fields}, token_from=page_of(case))
    assert response.status_code == 422
    assert message in error_on(response)
    assert state_of(case) == ItemState.MISSING


def test_a_request_sends_a_letter_and_opens_the_documents_due_deadline(client, me, case):
    due = hk_today() + timedelta(days=28)
    response = client.post_form(f"/cases/{case.id}/documents/request", {
        "items": [KEY, "degree_certificates/applicant"], "due_on": due.isoformat(),
        "message": "Please send clear scans."}, token_from=page_of(case))
    assert response.status_code == 302
    _db.session.rollback()
    deadline = _db.session.scalar(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.kind == DeadlineKind.DOCUMENTS_DUE))
    assert deadline.due_on == due
    letter = _db.session.scalar(select(Letter).where(Letter.case_id == case.id,
                                                     Letter.kind == "documents_request"))
    assert [item["label"]["en"] for item in letter.data["items"]] == [
        "Passport", "Degree certificates"]


def test_a_request_without_documents_is_refused_on_the_page(client, me, case):
    response = client.post_form(f"/cases/{case.id}/documents/request", {
        "due_on": (hk_today() + timedelta(days=28)).isoformat()}, token_from=page_of(case))
    assert response.status_code == 422
    assert "Choose at least one document" in error_on(response)


# --- Downloads ---------------------------------------------------------------------------------

def test_a_download_is_an_attachment_never_sniffed_and_in_the_security_log(client, me, case):
    data = samples.blank_pdf()
    post_upload(client, case, data, "簽證 passport.pdf")
    file = _db.session.scalar(select(DocumentFile).where(DocumentFile.case_id == case.id))
    response = client.get(f"/cases/{case.id}/documents/files/{file.id}")
    assert response.status_code == 200
    assert response.get_data() == data
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%B0%BD%E8%AD%89%20passport.pdf" in \
        response.headers["Content-Disposition"]
    _db.session.rollback()
    logged = _db.session.scalar(select(SecurityEvent).where(
        SecurityEvent.kind == SecurityEventKind.DOCUMENT_DOWNLOADED))
    assert (logged.user_id, logged.detail_data["values"]["file_id"]) == (me.id, file.id)


@pytest.mark.parametrize(("role", "status"), [
    (None, 302),  # to the sign-in page
    (Role.ADMIN, 403),  # may not view cases
    (Role.CASEWORKER, 200),  # any caseworker may view any case
    (Role.SUPERVISOR, 200),
])
def test_only_users_who_may_view_the_case_download_its_files(client, make_user, login, role,
                                                             status):
    owner = make_user(Role.CASEWORKER)
    case = make_case(owner, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    login(owner)
    post_upload(client, case, samples.blank_pdf(), "passport.pdf")
    file = _db.session.scalar(select(DocumentFile).where(DocumentFile.case_id == case.id))
    client.post_form("/logout", token_from="/cases/")
    if role is not None:
        login(make_user(role))
    assert client.get(f"/cases/{case.id}/documents/files/{file.id}").status_code == status


def test_a_file_asked_for_under_another_case_is_not_found(client, me, case):
    other = make_case(me, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    post_upload(client, case, samples.blank_pdf(), "passport.pdf")
    file = _db.session.scalar(select(DocumentFile).where(DocumentFile.case_id == case.id))
    assert client.get(f"/cases/{other.id}/documents/files/{file.id}").status_code == 404


def test_only_a_supervisor_can_withdraw_a_file(client, me, case, make_user, login):
    post_upload(client, case, samples.blank_pdf(), "passport.pdf")
    file = _db.session.scalar(select(DocumentFile).where(DocumentFile.case_id == case.id))
    url = f"/cases/{case.id}/documents/files/{file.id}/withdraw"
    assert client.post_form(url, {"reason": "Wrong file."},
                            token_from=page_of(case)).status_code == 403
    client.post_form("/logout", token_from="/cases/")
    login(make_user(Role.SUPERVISOR))
    assert client.post_form(url, {"reason": ""}, token_from=page_of(case)).status_code == 422
    assert client.post_form(url, {"reason": "Wrong applicant's passport."},
                            token_from=page_of(case)).status_code == 302
    assert state_of(case) == ItemState.MISSING

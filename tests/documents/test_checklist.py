"""The documents checklist as the services keep it: each scheme's items (policy data), one
per dependant where the item is a dependant's, every state an item can be in and the way
between them, the history, the count the queues show and the approval it stops."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.cases import deadline_sweep, lifecycle, services
from backoffice.cases.events import describe_event
from backoffice.cases.guards import CaseError
from backoffice.cases.models import CaseEvent, Deadline, DeadlineKind, DeadlineState, EventKind
from backoffice.cases.schemes import POLICIES, CaseStatus, GovernmentProgramme, Holder, Scheme
from backoffice.core.dates import hk_today
from backoffice.documents import services as documents
from backoffice.documents import storage
from backoffice.documents.models import FileState, ItemState
from backoffice.documents.uploads import check_upload
from backoffice.extensions import db as _db
from tests.cases.factories import dependant_data, make_case, receive_documents
from tests.documents import samples

ALLOWED = ("application/pdf", "image/jpeg", "image/png")


def codes(lines) -> list[str]:
    return [line.key for line in lines]


def upload(actor, case, key: str, data: bytes | None = None, name: str = "scan.pdf", **kw):
    with check_upload(io.BytesIO(data or samples.blank_pdf()), name, limit=10**7,
                      allowed=ALLOWED) as checked:
        return documents.upload(actor, case, key, checked, **kw)


def document_events(case) -> list[str]:
    rows = _db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.DOCUMENT)
        .order_by(CaseEvent.id))
    return [describe_event(event) for event in rows]


# --- The checklist of each scheme ----------------------------------------------------------------

@pytest.mark.parametrize(("scheme", "required", "optional"), [
    (Scheme.QMAS, ["passport", "degree_certificates", "work_experience"],
     ["language_proficiency"]),
    (Scheme.GEP_ENT, ["passport", "business_plan", "funding"], []),
    (Scheme.GEP_PRO, ["passport", "employment_contract", "employer_letter", "qualifications"],
     []),
    (Scheme.ASSG, ["passport", "parent_residence", "birth_certificate", "emigration"], []),
])
def test_each_scheme_asks_for_its_own_documents(db, caseworker, scheme, required, optional):
    case = make_case(caseworker, scheme, documents=False)
    lines = documents.checklist(case)
    assert [line.requirement.code for line in lines if line.required] == required
    assert [line.requirement.code for line in lines if not line.required] == optional
    assert all(line.state == ItemState.MISSING for line in lines)
    assert case.documents_missing == len(required)


def test_every_policy_version_has_a_checklist_with_a_passport_and_the_dependants_items():
    for versions in POLICIES.values():
        for policy in versions:
            by_code = {r.code: r for r in policy.documents}
            assert by_code["passport"].required
            assert by_code["dependant_identity"].holder == Holder.EACH_DEPENDANT
            assert by_code["relationship"].holder == Holder.EACH_DEPENDANT


def test_each_dependant_brings_their_own_items_and_a_removed_one_takes_them_away(
        db, caseworker):
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.UNDER_REVIEW)
    assert case.documents_missing == 0
    child = services.add_dependant(caseworker, case, services.Relationship.CHILD,
                                   dependant_data(), False, case.version)
    holder = f"dependant:{child.id}"
    assert [line.key for line in documents.missing(case)] == [
        f"dependant_identity/{holder}", f"relationship/{holder}"]
    assert case.documents_missing == 2
    services.remove_dependant(caseworker, case, child, "Not coming after all.", case.version)
    assert documents.missing(case) == []
    assert case.documents_missing == 0


def test_the_programme_letter_is_asked_only_when_a_programme_is_claimed(db, caseworker):
    plain = make_case(caseworker, Scheme.GEP_ENT, documents=False)
    claimed = make_case(caseworker, Scheme.GEP_ENT, documents=False,
                        programme=GovernmentProgramme(next(iter(GovernmentProgramme))))
    assert "programme_admission/applicant" not in codes(documents.checklist(plain))
    assert "programme_admission/applicant" in codes(documents.missing(claimed))


# --- An item's states ----------------------------------------------------------------------------

KEY = "passport/applicant"


def _accept(actor, case):
    documents.accept(actor, case, KEY)


def _reject(actor, case):
    documents.reject(actor, case, KEY, "The photograph page is unreadable.")


def _waive(actor, case):
    documents.waive(actor, case, KEY, "Seen at the counter.")


def _paper(actor, case):
    documents.mark_received(actor, case, KEY, hk_today())


def _upload(actor, case):
    upload(actor, case, KEY)


# (the moves taken, the state then, whether it still stops an approval)
@pytest.mark.parametrize(("moves", "state", "missing"), [
    ((), ItemState.MISSING, True),
    ((_upload,), ItemState.RECEIVED, False),
    ((_paper,), ItemState.RECEIVED, False),
    ((_upload, _accept), ItemState.ACCEPTED, False),
    ((_upload, _reject), ItemState.REJECTED, True),
    ((_upload, _accept, _reject), ItemState.REJECTED, True),
    ((_upload, _reject, _upload), ItemState.RECEIVED, False),
    ((_waive,), ItemState.WAIVED, False),
    ((_upload, _reject, _waive), ItemState.WAIVED, False),
    ((_waive, _upload), ItemState.RECEIVED, False),
    ((_upload, _accept, _upload), ItemState.RECEIVED, False),  # a new file is checked again
])
def test_an_item_moves_through_its_states(db, caseworker, moves, state, missing):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    for move in moves:
        move(caseworker, case)
    line = next(line for line in documents.checklist(case) if line.key == KEY)
    assert (line.state, line.missing) == (state, missing)
    assert case.documents_missing == sum(1 for line in documents.missing(case))


@pytest.mark.parametrize(("moves", "refused", "message"), [
    ((), _accept, "cannot be accepted: it is Missing"),
    ((_upload, _accept), _accept, "cannot be accepted: it is Accepted"),
    ((), _reject, "cannot be rejected: it is Missing"),
    ((_upload,), _waive, "cannot be waived: it is Received"),
    ((_paper,), _paper, "has already been received"),
    ((), lambda a, c: documents.reject(a, c, KEY, "  "), "Give the reason the document is"),
    ((), lambda a, c: documents.waive(a, c, KEY, None), "Give the reason the document is not"),
    ((), lambda a, c: documents.waive(a, c, KEY, "x" * 501), "Keep the reason to 500"),
    ((), lambda a, c: documents.mark_received(a, c, KEY, hk_today() + timedelta(days=1)),
     "is in the future"),
    ((), lambda a, c: documents.accept(a, c, "passport/dependant:99"), "not on this case's"),
    ((), lambda a, c: documents.accept(a, c, "nonsense"), "not on this case's"),
])
def test_a_move_that_does_not_fit_the_state_is_refused_and_changes_nothing(
        db, caseworker, moves, refused, message):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    for move in moves:
        move(caseworker, case)
    before = [(line.key, line.state) for line in documents.checklist(case)]
    with pytest.raises(CaseError, match=message):
        refused(caseworker, case)
    assert [(line.key, line.state) for line in documents.checklist(case)] == before


@pytest.mark.parametrize("who", ["colleague", "ended"])
def test_only_the_assignee_or_a_supervisor_changes_an_open_cases_documents(
        db, caseworker, make_user, who):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    actor = caseworker
    if who == "colleague":
        actor = make_user(Role.CASEWORKER)
    else:
        services.transition(case, "withdraw", caseworker, reason="Changed their mind.")
    with pytest.raises(CaseError):
        _paper(actor, case)


def test_every_change_is_in_the_history_in_words(db, caseworker, supervisor):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    first = upload(caseworker, case, KEY, name="passport.pdf")
    documents.reject(caseworker, case, KEY, "Expired.")
    upload(caseworker, case, KEY, name="new-passport.pdf", replaces_id=first.id)
    documents.accept(caseworker, case, KEY)
    documents.waive(caseworker, case, "work_experience/applicant", "Fresh graduate.")
    assert document_events(case) == [
        "“Passport”: passport.pdf uploaded.",
        "“Passport” rejected.",
        "“Passport”: new-passport.pdf uploaded, replacing passport.pdf.",
        "“Passport” accepted.",
        "“Proof of work experience” waived.",
    ]
    assert first.state == FileState.SUPERSEDED


# --- Files ---------------------------------------------------------------------------------------

def test_an_upload_keeps_the_bytes_their_hash_and_who_sent_them(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    data = samples.jpeg()
    file = upload(caseworker, case, KEY, data, name="../../etc/passport.png")
    assert (file.display_name, file.content_type, file.size, file.uploaded_by_id) == (
        "passport.jpg", "image/jpeg", len(data), caseworker.id)
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    with storage.storage().open(file.storage_key) as kept:
        assert kept.read() == data
    assert "passport" not in file.storage_key


def test_a_supervisor_withdraws_a_file_and_an_item_left_without_one_is_missing_again(
        db, caseworker, supervisor):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    file = upload(caseworker, case, KEY)
    with pytest.raises(CaseError, match="Only a supervisor"):
        documents.withdraw(caseworker, case, file, "Wrong applicant.")
    with pytest.raises(CaseError, match="Give the reason"):
        documents.withdraw(supervisor, case, file, "")
    documents.withdraw(supervisor, case, file, "Wrong applicant's passport.")
    line = next(line for line in documents.checklist(case) if line.key == KEY)
    assert (file.state, file.withdrawn_reason, line.state) == (
        FileState.WITHDRAWN, "Wrong applicant's passport.", ItemState.MISSING)
    assert line.files == [file]  # kept, marked withdrawn
    assert document_events(case)[-2:] == ["“Passport”: scan.pdf withdrawn.",
                                          "“Passport” is missing again: no file is left on it."]


# --- The approval reads the checklist ------------------------------------------------------------

def test_an_approval_is_refused_naming_the_missing_documents_until_they_are_in(
        db, caseworker):
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.UNDER_REVIEW, documents=False)
    option = next(o for o in lifecycle.step_options(case, caseworker) if o.name == "approve")
    assert not option.available
    assert str(option.refusal).startswith(
        "4 required documents have not been received or waived: Passport, Employment "
        "contract, Employer's letter on the post, Qualifications.")
    with pytest.raises(CaseError, match="Employment contract"):
        services.transition(case, "approve", caseworker)
    assert case.status == CaseStatus.UNDER_REVIEW
    receive_documents(caseworker, case, hk_today())
    services.transition(case, "approve", caseworker)
    assert case.status == CaseStatus.APPROVED


def test_a_waived_item_counts_and_a_rejected_one_does_not(db, caseworker):
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.UNDER_REVIEW)
    documents.reject(caseworker, case, KEY, "Expired.")
    with pytest.raises(CaseError, match="1 required document has not been received or waived"):
        services.transition(case, "approve", caseworker)
    documents.waive(caseworker, case, KEY, "Seen the original at the counter.")
    services.transition(case, "approve", caseworker)
    assert case.status == CaseStatus.APPROVED


# --- Requests and their deadline -----------------------------------------------------------------

def test_a_request_opens_a_documents_due_deadline_that_the_last_item_received_meets(
        db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    due = hk_today() + timedelta(days=28)
    assert documents.default_due_on(case) == due
    request = documents.request_documents(caseworker, case, [KEY, "degree_certificates/applicant"],
                                          due, "Please send clear scans.")
    deadline = _db.session.scalar(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.kind == DeadlineKind.DOCUMENTS_DUE))
    assert (deadline.due_on, deadline.state) == (due, DeadlineState.OPEN)
    assert (case.documents_due_on, case.next_deadline_on) == (due, due)
    _paper(caseworker, case)
    assert deadline.state == DeadlineState.OPEN  # one of two in
    documents.waive(caseworker, case, "degree_certificates/applicant", "Not needed.")
    assert (deadline.state, request.fulfilled_at is not None, case.documents_due_on) == (
        DeadlineState.MET, True, None)
    assert document_events(case)[0].startswith(
        "2 documents requested from the applicant, due ")
    assert document_events(case)[-1].startswith("Every document requested on ")


@pytest.mark.parametrize(("keys", "due", "message"), [
    ([], 28, "Choose at least one document"),
    ([KEY], 0, "must be due after today"),
    ([KEY], None, "Enter the date the documents are due"),
    (["work_experience/applicant"], 28, "Only missing or rejected documents"),
])
def test_a_request_that_cannot_be_sent_is_refused(db, caseworker, keys, due, message):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    documents.mark_received(caseworker, case, "work_experience/applicant", hk_today())
    with pytest.raises(CaseError, match=message):
        documents.request_documents(caseworker, case, keys,
                                    None if due is None else hk_today() + timedelta(days=due))
    assert case.documents_due_on is None


def test_the_documents_due_deadline_is_missed_by_the_sweep_and_escalated(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    today = hk_today()
    documents.request_documents(caseworker, case, [KEY], today + timedelta(days=7))
    deadline_sweep.sweep(today + timedelta(days=8))
    deadline = _db.session.scalar(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.kind == DeadlineKind.DOCUMENTS_DUE))
    _db.session.refresh(deadline)
    assert (deadline.state, deadline.outstanding) == (DeadlineState.MISSED, True)


def test_a_case_that_ends_cancels_its_documents_due_deadline(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    documents.request_documents(caseworker, case, [KEY], hk_today() + timedelta(days=7))
    services.transition(case, "withdraw", caseworker, reason="Changed their mind.")
    deadline = _db.session.scalar(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.kind == DeadlineKind.DOCUMENTS_DUE))
    assert deadline.state == DeadlineState.CANCELLED



def test_a_file_stored_for_a_change_that_rolls_back_is_deleted_with_it(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW, documents=False)
    file = upload(caseworker, case, KEY)
    key = file.storage_key
    assert storage.storage().exists(key)
    _db.session.rollback()
    assert not storage.storage().exists(key)
    kept = upload(caseworker, _db.session.get(type(case), case.id), KEY)
    _db.session.commit()
    _db.session.rollback()  # nothing to undo: the commit kept it
    assert storage.storage().exists(kept.storage_key)

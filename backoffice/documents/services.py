"""The rules of a case's documents: its checklist, what may happen to each item and file, and
the requests sent to the applicant. Services check, change rows, write the history and flush;
the request commits.

After every change :func:`settle` keeps what the case copies of its documents in line: the
count of required items missing (the queues), the due date of what was asked (its "documents
due" deadline, met once every item asked for is in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice.auth.models import User
from backoffice.cases import events, guards, stay
from backoffice.cases import signals as case_signals
from backoffice.cases.guards import CaseError
from backoffice.cases.models import Case, DeadlineKind, Dependant, EventKind
from backoffice.cases.schemes import Condition, DocumentRequirement, Holder
from backoffice.cases.words import LazyDate, LazyNumber, lazy_gettext
from backoffice.core.dates import hk_today, utcnow
from backoffice.documents import signals, storage
from backoffice.documents.models import (
    APPLICANT_HOLDER,
    REASON_LENGTH,
    DocumentFile,
    DocumentItem,
    DocumentRequest,
    FileState,
    ItemState,
    dependant_holder,
)
from backoffice.documents.uploads import CheckedUpload
from backoffice.extensions import db

# --- The checklist -----------------------------------------------------------------------------

@dataclass
class Line:
    """One line of a case's checklist: a requirement for the applicant or one dependant, its
    row once something happened to it, and whether it still applies (a dependant removed, a
    programme no longer claimed: the row and its files stay, no longer needed)."""

    requirement: DocumentRequirement
    holder: str
    dependant: Dependant | None
    item: DocumentItem | None
    applies: bool = True

    @property
    def key(self) -> str:
        """The line's name in forms: "<requirement>/<holder>"."""
        return f"{self.requirement.code}/{self.holder}"

    @property
    def state(self) -> ItemState:
        return self.item.state if self.item is not None else ItemState.MISSING

    @property
    def required(self) -> bool:
        return self.requirement.required and self.applies

    @property
    def missing(self) -> bool:
        """Required, and neither received nor waived: it stops a decision."""
        return self.required and not self.state.satisfied

    @property
    def can_be_requested(self) -> bool:
        return self.applies and self.state in (ItemState.MISSING, ItemState.REJECTED)

    @property
    def holder_name(self) -> str | None:
        return self.dependant.full_name if self.dependant is not None else None

    @property
    def label(self) -> object:
        return events.document_label(self.requirement.code, self.holder_name)

    @property
    def files(self) -> list[DocumentFile]:
        return list(self.item.files) if self.item is not None else []

    @property
    def current_files(self) -> list[DocumentFile]:
        return [f for f in self.files if f.state == FileState.CURRENT]


def _applies(requirement: DocumentRequirement, case: Case) -> bool:
    if requirement.condition == Condition.PROGRAMME_CLAIMED:
        return case.programme is not None
    return True


def _wanted(case: Case) -> Iterable[tuple[DocumentRequirement, str, Dependant | None]]:
    for requirement in case.policy.documents:
        if not _applies(requirement, case):
            continue
        if requirement.holder == Holder.APPLICANT:
            yield requirement, APPLICANT_HOLDER, None
        else:
            for dependant in case.active_dependants:
                yield requirement, dependant_holder(dependant.id), dependant


def items_of(case: Case, *, details: bool = True) -> list[DocumentItem]:
    """The case's item rows; ``details``: with their files and the people named (the
    documents page), else the rows alone (one statement: the case page's panel, a guard)."""
    query = select(DocumentItem).where(DocumentItem.case_id == case.id)
    if details:
        query = query.options(
            selectinload(DocumentItem.files).selectinload(DocumentFile.uploaded_by),
            selectinload(DocumentItem.received_by), selectinload(DocumentItem.decided_by))
    return list(db.session.scalars(query.order_by(DocumentItem.id)))


def checklist(case: Case, items: list[DocumentItem] | None = None) -> list[Line]:
    """The case's checklist in the policy's order, each dependant's items after the
    applicant's; then the rows of items that no longer apply."""
    rows = {(i.requirement, i.holder): i for i in (items_of(case) if items is None else items)}
    lines = [Line(requirement, holder, dependant, rows.pop((requirement.code, holder), None))
             for requirement, holder, dependant in _wanted(case)]
    by_code = {r.code: r for r in case.policy.documents}
    dependants = {d.id: d for d in case.dependants}
    for (code, holder), item in rows.items():
        requirement = by_code.get(code) or DocumentRequirement(code, code, required=False)
        lines.append(Line(requirement, holder, dependants.get(item.dependant_id), item,
                          applies=False))
    return lines


def missing(case: Case) -> list[Line]:
    return [line for line in checklist(case, items_of(case, details=False)) if line.missing]


def _line(case: Case, key: str) -> Line:
    for line in checklist(case):
        if line.key == key and line.applies:
            return line
    raise CaseError(lazy_gettext("That document is not on this case's checklist."))


def _row(case: Case, line: Line) -> DocumentItem:
    """The line's row, written now if nothing had happened to it yet."""
    if line.item is None:
        line.item = DocumentItem(case_id=case.id, requirement=line.requirement.code,
                                 holder=line.holder,
                                 dependant_id=line.dependant.id if line.dependant else None,
                                 state=ItemState.MISSING)
        db.session.add(line.item)
        db.session.flush()
    return line.item


# --- What the case copies of its documents ---------------------------------------------------

def settle(case: Case, actor: User | None = None, now: datetime | None = None) -> None:
    """Bring the case's copies in line with its documents: the requests whose every item is
    in are fulfilled (their deadline met), the count of required items missing and the due
    date of what is still asked are written on the case (without moving its version)."""
    now = now or utcnow()
    lines = checklist(case)
    open_requests = list(db.session.scalars(
        select(DocumentRequest).where(DocumentRequest.case_id == case.id,
                                      DocumentRequest.fulfilled_at.is_(None))
        .options(selectinload(DocumentRequest.items))))
    for request in open_requests:
        if all(item.state.satisfied for item in request.items):
            request.fulfilled_at = now
            events.record(case.id, actor, EventKind.DOCUMENT, at=now, detail_data={
                "key": "document", "action": "request_met",
                "requested_on": request.requested_on.isoformat()})
    still_asked = [r.due_on for r in open_requests if r.fulfilled_at is None]
    due_on = min(still_asked, default=None)
    count = sum(1 for line in lines if line.missing)
    if case.documents_missing != count:
        stay.copy_onto_case(case, documents_missing=count)
    if case.documents_due_on != due_on:
        if due_on is None:
            stay.meet(case, DeadlineKind.DOCUMENTS_DUE, now)
        stay.copy_onto_case(case, documents_due_on=due_on)
        stay.sync_deadlines(case, now)
    db.session.flush()


@case_signals.case_changed.connect
def _case_changed(_sender=None, *, case: Case, **_kwargs) -> None:
    settle(case)


@case_signals.documents_outstanding.connect
def _outstanding(_sender=None, *, case: Case, **_kwargs) -> list[object]:
    return [line.label for line in missing(case)]


# --- Items ---------------------------------------------------------------------------------------

def _check_can_change(case: Case, actor: User) -> None:
    guards.check_open(case)
    guards.check_can_act(case, actor)


def _reason(reason: str | None, missing_message: object) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(missing_message)
    if len(reason) > REASON_LENGTH:
        raise CaseError(lazy_gettext(
            "Keep the reason to %(most)s characters (it has %(length)s).",
            most=LazyNumber(REASON_LENGTH), length=LazyNumber(len(reason))))
    return reason


def _check_date(on: date | None, today: date, what: object) -> date:
    if on is None:
        raise CaseError(lazy_gettext("Enter the date %(what)s.", what=what))
    if on > today:
        raise CaseError(lazy_gettext("The date %(what)s, %(date)s, is in the future.",
                                     what=what, date=LazyDate(on)))
    return on


def _record(case: Case, actor: User | None, line: Line, action: str, *,
            reason: str | None = None, now: datetime | None = None, **values) -> None:
    events.record(case.id, actor, EventKind.DOCUMENT, reason=reason, at=now, detail_data={
        "key": "document", "action": action, "requirement": line.requirement.code,
        "holder_name": line.holder_name, **values})


def _receive(item: DocumentItem, actor: User, on: date) -> None:
    item.state = ItemState.RECEIVED
    item.received_on = on
    item.received_by_id = actor.id
    item.reason = None
    item.decided_by_id = item.decided_at = None


def upload(actor: User, case: Case, key: str, checked: CheckedUpload, *,
           received_on: date | None = None, replaces_id: int | None = None,
           today: date | None = None, now: datetime | None = None) -> DocumentFile:
    """Keep an uploaded file (already checked: ``uploads.check_upload``) against a checklist
    item, which is then received (to be checked again if it had been accepted). ``replaces_id``:
    a current file of the same item that this one supersedes."""
    today, now = today or hk_today(), now or utcnow()
    _check_can_change(case, actor)
    line = _line(case, key)
    on = _check_date(received_on or today, today, lazy_gettext("the document was received"))
    replaced = None
    if replaces_id is not None:
        replaced = next((f for f in line.current_files if f.id == replaces_id), None)
        if replaced is None:
            raise CaseError(lazy_gettext("The file to replace is no longer current on this "
                                         "document; reload the page."))
    item = _row(case, line)
    stored_key = storage.new_key()
    storage.put_in_transaction(stored_key, checked.file, size=checked.size,
                               content_type=checked.content_type)
    file = DocumentFile(case_id=case.id, item_id=item.id, storage_key=stored_key,
                        display_name=checked.display_name, content_type=checked.content_type,
                        size=checked.size, sha256=checked.sha256, uploaded_by_id=actor.id,
                        uploaded_at=now, state=FileState.CURRENT)
    db.session.add(file)
    db.session.flush()
    if replaced is not None:
        replaced.state = FileState.SUPERSEDED
        replaced.superseded_by_id = file.id
    _receive(item, actor, on)
    _record(case, actor, line, "uploaded", now=now, file=file.display_name, size=file.size,
            sha256=file.sha256, replaces=replaced.display_name if replaced else None)
    settle(case, actor, now)
    return file


def mark_received(actor: User, case: Case, key: str, on: date | None,
                  today: date | None = None) -> None:
    """The document came in without a file to upload (on paper, at the counter)."""
    today = today or hk_today()
    _check_can_change(case, actor)
    line = _line(case, key)
    on = _check_date(on, today, lazy_gettext("the document was received"))
    if line.state in (ItemState.RECEIVED, ItemState.ACCEPTED):
        raise CaseError(lazy_gettext("“%(document)s” has already been received.",
                                     document=line.label))
    _receive(_row(case, line), actor, on)
    _record(case, actor, line, "received", received_on=on.isoformat())
    settle(case, actor)


def _decide(actor: User, case: Case, key: str, to: ItemState, sources: set[ItemState],
            refusal: Callable[[Line], object], reason: str | None = None) -> None:
    _check_can_change(case, actor)
    line = _line(case, key)
    if line.state not in sources:
        raise CaseError(refusal(line))
    item = _row(case, line)
    item.state = to
    item.decided_by_id, item.decided_at, item.reason = actor.id, utcnow(), reason
    _record(case, actor, line, to.value, reason=reason)
    settle(case, actor)


def accept(actor: User, case: Case, key: str) -> None:
    _decide(actor, case, key, ItemState.ACCEPTED, {ItemState.RECEIVED},
            lambda line: lazy_gettext("“%(document)s” cannot be accepted: it is %(state)s, "
                                      "not received.", document=line.label,
                                      state=line.state.label))


def reject(actor: User, case: Case, key: str, reason: str | None) -> None:
    """The document received is not good enough; it is missing again until a new one comes."""
    reason = _reason(reason, lazy_gettext("Give the reason the document is rejected (the "
                                          "applicant will be told it)."))
    _decide(actor, case, key, ItemState.REJECTED, {ItemState.RECEIVED, ItemState.ACCEPTED},
            lambda line: lazy_gettext("“%(document)s” cannot be rejected: it is %(state)s.",
                                      document=line.label, state=line.state.label), reason)


def waive(actor: User, case: Case, key: str, reason: str | None) -> None:
    """The document is not needed for this case after all."""
    reason = _reason(reason, lazy_gettext("Give the reason the document is not needed."))
    _decide(actor, case, key, ItemState.WAIVED, {ItemState.MISSING, ItemState.REJECTED},
            lambda line: lazy_gettext("“%(document)s” cannot be waived: it is %(state)s.",
                                      document=line.label, state=line.state.label), reason)


# --- Files ---------------------------------------------------------------------------------------

def file_of(case: Case, file_id: int) -> DocumentFile | None:
    return db.session.scalar(select(DocumentFile).where(DocumentFile.id == file_id,
                                                        DocumentFile.case_id == case.id))


def withdraw(actor: User, case: Case, file: DocumentFile, reason: str | None) -> None:
    """A supervisor takes a file off the case (the wrong applicant's, say), with a reason. The
    file is kept; an item left with no file is missing again."""
    if not actor.can_supervise():
        raise CaseError(lazy_gettext("Only a supervisor can withdraw a document."))
    reason = _reason(reason, lazy_gettext("Give the reason the file is withdrawn."))
    if file.case_id != case.id or file.state == FileState.WITHDRAWN:
        raise CaseError(lazy_gettext("That file has already been withdrawn."))
    file.state = FileState.WITHDRAWN
    file.withdrawn_by_id, file.withdrawn_at, file.withdrawn_reason = actor.id, utcnow(), reason
    item = file.item
    if item is None:
        return
    line = next(line for line in checklist(case) if line.item is item)
    _record(case, actor, line, "withdrawn", reason=reason, file=file.display_name)
    if item.state in (ItemState.RECEIVED, ItemState.ACCEPTED) and not line.current_files:
        item.state = ItemState.MISSING
        item.received_on = item.received_by_id = None
        _record(case, actor, line, "missing")
    settle(case, actor)


# --- Requests ------------------------------------------------------------------------------------

def default_due_on(case: Case, today: date | None = None) -> date:
    return (today or hk_today()) + timedelta(days=case.policy.documents_due_days)


def request_documents(actor: User, case: Case, keys: Iterable[str], due_on: date | None,
                      message: str | None = None, today: date | None = None,
                      now: datetime | None = None) -> DocumentRequest:
    """Ask the applicant for the missing (or rejected) items ``keys`` by ``due_on``. The case's
    "documents due" deadline follows; the features above send the letter and the email
    (``signals.documents_requested``)."""
    today, now = today or hk_today(), now or utcnow()
    _check_can_change(case, actor)
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise CaseError(lazy_gettext("Choose at least one document to request."))
    lines = [_line(case, key) for key in keys]
    not_missing = [line.label for line in lines if not line.can_be_requested]
    if not_missing:
        raise CaseError(lazy_gettext(
            "Only missing or rejected documents can be requested; this one is not: "
            "%(document)s.", document=not_missing[0]))
    if due_on is None:
        raise CaseError(lazy_gettext("Enter the date the documents are due."))
    if due_on <= today:
        raise CaseError(lazy_gettext("The documents must be due after today (%(today)s).",
                                     today=LazyDate(today)))
    message = (message or "").strip() or None
    request = DocumentRequest(case_id=case.id, requested_on=today, due_on=due_on,
                              requested_by_id=actor.id, requested_at=now, message=message,
                              items=[_row(case, line) for line in lines])
    db.session.add(request)
    db.session.flush()
    events.record(case.id, actor, EventKind.DOCUMENT, at=now, reason=message, detail_data={
        "key": "document", "action": "requested", "due_on": due_on.isoformat(),
        "items": [{"requirement": line.requirement.code, "holder_name": line.holder_name}
                  for line in lines]})
    settle(case, actor, now)
    # The letter goes on the case; the email where the applicant has an address and consent.
    answers = signals.documents_requested.send(request=request, case=case, actor=actor,
                                               lines=lines)
    request.emailed = any(answer is True for _receiver, answer in answers)
    db.session.flush()
    return request


def requests_of(case: Case) -> list[DocumentRequest]:
    return list(db.session.scalars(
        select(DocumentRequest).where(DocumentRequest.case_id == case.id)
        .options(selectinload(DocumentRequest.items), selectinload(DocumentRequest.requested_by))
        .order_by(DocumentRequest.id.desc())))


def outstanding_items(deadline_case_ids: Iterable[int]) -> dict[int, list[object]]:
    """For each case, the labels of the items its open requests still wait for (what a
    "documents due" reminder lists)."""
    result: dict[int, list[object]] = {}
    if not deadline_case_ids:
        return result
    for case in db.session.scalars(select(Case).where(Case.id.in_(list(deadline_case_ids)))):
        lines = {(line.requirement.code, line.holder): line for line in checklist(case)}
        for request in db.session.scalars(
                select(DocumentRequest).where(DocumentRequest.case_id == case.id,
                                              DocumentRequest.fulfilled_at.is_(None))):
            for item in request.items:
                line = lines.get((item.requirement, item.holder))
                if line is not None and not item.state.satisfied:
                    result.setdefault(case.id, []).append(line.label)
    return result

"""Writing letters to the applicant: on the steps a letter tells (``kinds.STEP_LETTERS``) and
on a request for documents, in the transaction of what they tell. A letter keeps what it
says (its data) at once; its PDF is made from that data by :func:`make_pdf`, once."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from datetime import date

from flask import current_app
from sqlalchemy import select

from backoffice.auth.models import User
from backoffice.cases import signals as case_signals
from backoffice.cases.models import Case
from backoffice.cases.schemes import Transition
from backoffice.core.dates import hk_today, utcnow
from backoffice.core.i18n import LANGUAGES
from backoffice.documents import signals as document_signals
from backoffice.documents import storage
from backoffice.documents.models import DocumentFile, FileState, ItemState
from backoffice.extensions import db
from backoffice.letters.data import letter_data
from backoffice.letters.kinds import LetterKind, letter_for_step
from backoffice.letters.models import Letter
from backoffice.letters.render import BOTH, letter_filename, render_letter

PDF = "application/pdf"


def letter_language(case: Case) -> str:
    """The applicant's language, or both languages where the office writes every letter in
    both (``LETTERS_IN_BOTH_LANGUAGES``)."""
    if current_app.config.get("LETTERS_IN_BOTH_LANGUAGES"):
        return BOTH
    return case.applicant.language if case.applicant.language in LANGUAGES else BOTH


def write(case: Case, kind: LetterKind, actor: User | None, *, on: date | None = None,
          extra: dict | None = None) -> Letter:
    """Write the letter of ``kind`` to the case's applicant: what it says is read off the
    case now and kept. (The case page lists the letters; the history keeps the steps and
    requests they tell.)"""
    data = letter_data(case, kind, on=on or hk_today(), extra=extra)
    letter = Letter(case_id=case.id, kind=kind, language=letter_language(case), data=data,
                    written_at=utcnow(), written_by_id=actor.id if actor else None)
    db.session.add(letter)
    db.session.flush()
    return letter


def make_pdf(letter: Letter) -> DocumentFile:
    """The letter's PDF, made from its data alone the first time and kept on the case (a
    document nobody uploaded); afterwards the same file."""
    if letter.file is not None:
        return letter.file
    pdf = render_letter(letter.kind, letter.language, letter.data)
    key = storage.new_key()
    storage.put_in_transaction(key, io.BytesIO(pdf), size=len(pdf), content_type=PDF)
    letter.file = DocumentFile(
        case_id=letter.case_id, item_id=None, storage_key=key,
        display_name=letter_filename(letter.kind, letter.language, letter.data),
        content_type=PDF, size=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(),
        uploaded_by_id=None, uploaded_at=utcnow(), state=FileState.CURRENT)
    db.session.add(letter.file)
    db.session.flush()
    return letter.file


def pending(limit: int) -> list[Letter]:
    return list(db.session.scalars(select(Letter).where(Letter.file_id.is_(None))
                                   .order_by(Letter.id).limit(limit)))


def letters_of(case: Case) -> list[Letter]:
    return list(db.session.scalars(select(Letter).where(Letter.case_id == case.id)
                                   .order_by(Letter.id.desc())))


def letter_of(case: Case, letter_id: int) -> Letter | None:
    return db.session.scalar(select(Letter).where(Letter.id == letter_id,
                                                  Letter.case_id == case.id))


@case_signals.case_status_changed.connect
def _after_step(transition: Transition, *, case_ids: Iterable[int] | object, actor=None,
                at=None, **_kwargs) -> None:
    kind = letter_for_step(transition.name)
    if kind is None or not isinstance(case_ids, list | tuple):
        return  # no letter, or a step taken by many cases at once (none tells a letter)
    for case in db.session.scalars(select(Case).where(Case.id.in_(case_ids))):
        write(case, kind, actor, on=hk_today(at))


@document_signals.documents_requested.connect
def _after_request(_sender=None, *, request, case: Case, actor: User, lines, **_kwargs) -> None:
    write(case, LetterKind.DOCUMENTS_REQUEST, actor, on=request.requested_on, extra={
        "due_on": request.due_on,
        # A document asked for again after a rejection says why the first was not enough.
        "items": [{"label": line.requirement.label,
                   "hint": (line.item.reason if line.state == ItemState.REJECTED
                            else line.requirement.hint),
                   "person": line.holder_name} for line in lines]})

"""The documents of a case: its checklist's items, the files kept against them, and the
requests sent to the applicant for what is missing.

The checklist itself is policy data (``cases.schemes.DocumentRequirement``, versioned with the
scheme's policy). An item's row is written the first time something happens to it; until
then the item is missing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.auth.models import User
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime, enum_column
from backoffice.core.i18n import lazy_gettext
from backoffice.extensions import db

APPLICANT_HOLDER = "applicant"  # DocumentItem.holder of the applicant's own items
REASON_LENGTH = 500  # the longest reason for a rejection, a waiver or a withdrawal
DISPLAY_NAME_LENGTH = 200  # the longest file name kept (for showing; never a path)


def dependant_holder(dependant_id: int) -> str:
    """DocumentItem.holder of a dependant's item."""
    return f"dependant:{dependant_id}"


class ItemState(StrEnum):
    MISSING = "missing"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WAIVED = "waived"

    @property
    def label(self) -> str:
        return _ITEM_STATE_LABELS[self]

    @property
    def colour(self) -> str:
        return _ITEM_STATE_COLOURS[self]

    @property
    def satisfied(self) -> bool:
        """In, as far as a decision needs: received (being checked), accepted, or waived."""
        return self in SATISFIED_STATES


SATISFIED_STATES = frozenset({ItemState.RECEIVED, ItemState.ACCEPTED, ItemState.WAIVED})

_ITEM_STATE_LABELS = {
    ItemState.MISSING: lazy_gettext("Missing"),
    ItemState.RECEIVED: lazy_gettext("Received"),
    ItemState.ACCEPTED: lazy_gettext("Accepted"),
    ItemState.REJECTED: lazy_gettext("Rejected"),
    ItemState.WAIVED: lazy_gettext("Waived"),
}
_ITEM_STATE_COLOURS = {
    ItemState.MISSING: "warning", ItemState.RECEIVED: "info", ItemState.ACCEPTED: "success",
    ItemState.REJECTED: "danger", ItemState.WAIVED: "secondary",
}


class DocumentItem(db.Model):
    """One line of a case's checklist: a requirement of the case's policy, for the applicant
    or for one dependant, and where it stands."""

    __tablename__ = "document_items"
    __table_args__ = (
        UniqueConstraint("case_id", "requirement", "holder"),
        CheckConstraint("state <> 'received' OR received_on IS NOT NULL",
                        name="received_has_date"),
        CheckConstraint("state NOT IN ('rejected', 'waived') OR reason IS NOT NULL",
                        name="rejected_or_waived_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    requirement: Mapped[str] = mapped_column(String(40))  # DocumentRequirement.code
    holder: Mapped[str] = mapped_column(String(40))  # "applicant" or "dependant:<id>"
    dependant_id: Mapped[int | None] = mapped_column(ForeignKey("dependants.id"))
    state: Mapped[ItemState] = mapped_column(enum_column(ItemState, "item_state"),
                                             default=ItemState.MISSING)
    received_on: Mapped[date | None] = mapped_column(Date)  # the Hong Kong date it came in
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Who accepted, rejected or waived it, when, and why (a rejection's or waiver's reason).
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    files: Mapped[list[DocumentFile]] = relationship(
        back_populates="item", order_by="DocumentFile.id")


class FileState(StrEnum):
    CURRENT = "current"
    SUPERSEDED = "superseded"  # replaced by a later file (``superseded_by``)
    WITHDRAWN = "withdrawn"  # taken off the case by a supervisor, with a reason; kept

    @property
    def label(self) -> str:
        return _FILE_STATE_LABELS[self]


_FILE_STATE_LABELS = {
    FileState.CURRENT: lazy_gettext("Current"),
    FileState.SUPERSEDED: lazy_gettext("Superseded"),
    FileState.WITHDRAWN: lazy_gettext("Withdrawn"),
}


class DocumentFile(db.Model):
    """A file kept on a case: evidence uploaded against a checklist item, or a letter sent.

    Never deleted: a caseworker supersedes a file with a new one, a supervisor withdraws one
    with a reason. The bytes live in the store (``storage``) under a random key; the name
    is kept only to be shown and offered on download.
    """

    __tablename__ = "document_files"
    __table_args__ = (
        UniqueConstraint("storage_key"),
        Index("ix_document_files_case_id_id", "case_id", "id"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)",
                        name="withdrawn_when_dated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("document_items.id"))  # None: a letter
    storage_key: Mapped[str] = mapped_column(String(80))
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_LENGTH))
    content_type: Mapped[str] = mapped_column(String(100))  # found from the content
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: system
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[FileState] = mapped_column(enum_column(FileState, "file_state"),
                                             default=FileState.CURRENT)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("document_files.id"))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))

    item: Mapped[DocumentItem | None] = relationship(back_populates="files")
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


document_request_items = Table(
    "document_request_items", db.metadata,
    Column("request_id", ForeignKey("document_requests.id"), primary_key=True),
    Column("item_id", ForeignKey("document_items.id"), primary_key=True),
)


class DocumentRequest(db.Model):
    """Documents asked of the applicant, by a date. The case's "documents due" deadline is the
    earliest due date of its requests not yet fulfilled (every item received or waived)."""

    __tablename__ = "document_requests"
    __table_args__ = (Index("ix_document_requests_case_id", "case_id"),
                      CheckConstraint("due_on >= requested_on", name="due_after_request"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    requested_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Words for the applicant beside the list (optional; goes in the letter and the email).
    message: Mapped[str | None] = mapped_column(Text)
    emailed: Mapped[bool] = mapped_column(default=False)  # an email was queued to the applicant
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    requested_by: Mapped[User] = relationship()
    items: Mapped[list[DocumentItem]] = relationship(secondary=document_request_items,
                                                     order_by="DocumentItem.id")

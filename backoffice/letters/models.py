"""The letters written to a case's applicant: what each said (the data it was made from,
kept as it was) and, once made, its PDF, kept on the case as a document."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.auth.models import User
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime, enum_column
from backoffice.documents.models import DocumentFile
from backoffice.extensions import db
from backoffice.letters.kinds import LetterKind


class Letter(db.Model):
    """A letter to the applicant. Written in the transaction of what it tells (the step, the
    request for documents) with everything it says in ``data``; its PDF is made from that
    data alone, once (by the worker, or at the first download), and then kept: every download
    is the same bytes."""

    __tablename__ = "letters"
    __table_args__ = (
        Index("ix_letters_case_id_id", "case_id", "id"),
        # The worker's queue of letters still to make.
        Index("ix_letters_pending_id", "id", sqlite_where=db.text("file_id IS NULL"),
              postgresql_where=db.text("file_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[LetterKind] = mapped_column(enum_column(LetterKind, "letter_kind"))
    language: Mapped[str] = mapped_column(String(16))  # a core/i18n code, or "both"
    data: Mapped[dict] = mapped_column(JSON)  # letters/data.py: what the letter says
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: system
    file_id: Mapped[int | None] = mapped_column(ForeignKey("document_files.id"))  # once made

    written_by: Mapped[User | None] = relationship()
    file: Mapped[DocumentFile | None] = relationship()

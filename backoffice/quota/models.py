"""The annual quota of a scheme, its allocations and the history of its limit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.auth.models import User
from backoffice.core.dates import utcnow
from backoffice.core.db import UTCDateTime
from backoffice.extensions import db


class QuotaPeriod(db.Model):
    """One scheme's quota for one calendar year.

    ``allocated`` is changed only by one conditional UPDATE per allocation or release, in the
    same transaction as the allocation row, so it always equals the active allocations; the
    CHECK constraint makes over-allocation impossible even for code that forgets the rule.
    ``limit_version`` counts the settings of the limit, and only those: a limit form rendered
    at one version is refused once someone else has set the limit since, but never because
    places were taken meanwhile (each approval changes ``allocated`` on this same row).
    """

    __tablename__ = "quota_periods"
    __table_args__ = (
        UniqueConstraint("scheme", "year"),
        CheckConstraint("allocated >= 0", name="allocated_not_negative"),
        CheckConstraint("quota_limit IS NULL OR quota_limit >= 0", name="limit_not_negative"),
        CheckConstraint("quota_limit IS NULL OR allocated <= quota_limit",
                        name="never_over_allocated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The scheme code (e.g. "QMAS"). A plain string: quota sits below cases and knows no
    # scheme rules; the case policy says which schemes have a quota.
    scheme: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column()
    # None: no limit (the quota is suspended for the year); usage is still counted.
    quota_limit: Mapped[int | None] = mapped_column()
    allocated: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # 1 when the year is first set, one more at each change of its limit (set_limit only).
    limit_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    set_by: Mapped[User] = relationship()

    @property
    def has_limit(self) -> bool:
        return self.quota_limit is not None

    @property
    def remaining(self) -> int | None:
        return None if self.quota_limit is None else self.quota_limit - self.allocated

    @hybrid_property
    def has_room(self) -> bool:
        """A place can be taken: no limit, or fewer places allocated than the limit. The
        same rule as a condition (``QuotaPeriod.has_room``) is what the taking UPDATE
        checks; this form answers a question about a period already read."""
        return self.quota_limit is None or self.allocated < self.quota_limit

    @has_room.inplace.expression
    @classmethod
    def _has_room_condition(cls) -> ColumnElement[bool]:
        return or_(cls.quota_limit.is_(None), cls.allocated < cls.quota_limit)


class QuotaAllocation(db.Model):
    """A place taken by an approved case. Released places keep their row, with when and why."""

    __tablename__ = "quota_allocations"
    __table_args__ = (
        # A case holds at most one place at a time.
        Index("uq_quota_allocations_active_case", "case_id", unique=True,
              sqlite_where=text("released_at IS NULL"),
              postgresql_where=text("released_at IS NULL")),
        Index("ix_quota_allocations_period_id_allocated_at", "period_id", "allocated_at",
              "id"),
        # The dashboard's per-month and per-nationality counts read only these indexes.
        Index("ix_quota_allocations_active_allocated_on", "period_id", "allocated_on",
              sqlite_where=text("released_at IS NULL"),
              postgresql_where=text("released_at IS NULL")),
        Index("ix_quota_allocations_active_nationality", "period_id", "nationality",
              sqlite_where=text("released_at IS NULL"),
              postgresql_where=text("released_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("quota_periods.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # The applicant's nationality when the place was taken (ISO alpha-2), kept here so the
    # quota's statistics never need to read the cases.
    nationality: Mapped[str] = mapped_column(String(2))
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The Hong Kong date of the allocation (the approval date): its year is the period's.
    allocated_on: Mapped[date] = mapped_column(Date)
    allocated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The step that gave the place back (a case step's name, worded in the reader's language
    # where it is shown) and the reason a person gave for it, as typed.
    release_step: Mapped[str | None] = mapped_column(String(40))
    release_reason: Mapped[str | None] = mapped_column(String(500))

    period: Mapped[QuotaPeriod] = relationship()


class QuotaMonthCount(db.Model):
    """How many of a year's active places count in one month: the dashboard's bars read these
    twelve rows, not the year's allocations.

    Kept by the quota services in the transaction of every allocation, release and move
    (``services.rebuild_counters`` recomputes them from the allocations, for data written
    around the services). An allocation dated outside its year (back-dated data) counts in
    the nearest month, as ``services.counted_month`` says.
    """

    __tablename__ = "quota_month_counts"
    __table_args__ = (
        CheckConstraint("month BETWEEN 1 AND 12", name="month_of_the_year"),
        CheckConstraint("allocated >= 0", name="allocated_not_negative"),
    )

    period_id: Mapped[int] = mapped_column(ForeignKey("quota_periods.id"), primary_key=True)
    month: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    allocated: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class QuotaNationalityCount(db.Model):
    """How many of a year's active places are held by applicants of one nationality (the one
    recorded on the allocation), kept like :class:`QuotaMonthCount`."""

    __tablename__ = "quota_nationality_counts"
    __table_args__ = (CheckConstraint("allocated >= 0", name="allocated_not_negative"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("quota_periods.id"), primary_key=True)
    nationality: Mapped[str] = mapped_column(String(2), primary_key=True)
    allocated: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class QuotaLimitChange(db.Model):
    """Every setting of a year's limit: who, when, from what, to what."""

    __tablename__ = "quota_limit_changes"
    __table_args__ = (Index("ix_quota_limit_changes_period_id", "period_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("quota_periods.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # has_old distinguishes "was no limit" (old_limit None) from "was not set" (first setting).
    had_previous: Mapped[bool] = mapped_column(default=False)
    old_limit: Mapped[int | None] = mapped_column()
    new_limit: Mapped[int | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(500))

    changed_by: Mapped[User] = relationship()

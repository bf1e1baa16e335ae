"""Read side of the QMAS quota: what the supervisors' dashboard shows, and the CSV export.

Nothing here writes. The numbers come from the period row (``allocated`` is kept equal to the
active allocations by the quota services) and from its counters (places per month and per
nationality, kept by the same services), so the page reads a few dozen rows whatever the
year's size; only the list of allocations pages through their rows. The pipeline's numbers are
the cases' stored counts per status (``cases.counts``): nothing here counts the cases table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_skeleton, get_month_names
from flask_babel import get_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice.cases.counts import status_counts
from backoffice.cases.models import Applicant, Case
from backoffice.cases.schemes import CaseStatus, Scheme, step_label
from backoffice.core.export import csv_country, csv_instant, csv_text, download_name
from backoffice.core.i18n import lazy_gettext
from backoffice.core.identity import country_name
from backoffice.core.pagination import MAX_PAGE, Page
from backoffice.extensions import db
from backoffice.quota.models import (
    QuotaAllocation,
    QuotaLimitChange,
    QuotaMonthCount,
    QuotaNationalityCount,
    QuotaPeriod,
)
from backoffice.quota.services import counted_month, get_period

SCHEME = Scheme.QMAS
PAGE_SIZE = 50
TOP_NATIONALITIES = 10
# The cases waiting on the way to a quota place, in pipeline order.
PIPELINE_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.UNDER_REVIEW, CaseStatus.AWAITING_QUOTA)


# --- The year's numbers -------------------------------------------------------------------

@dataclass(frozen=True)
class YearSummary:
    """The headline numbers of one year. ``period`` None: nobody has set the year yet."""

    year: int
    period: QuotaPeriod | None

    @property
    def is_set(self) -> bool:
        return self.period is not None

    @property
    def has_limit(self) -> bool:
        return self.period is not None and self.period.quota_limit is not None

    @property
    def limit(self) -> int | None:
        return self.period.quota_limit if self.period else None

    @property
    def allocated(self) -> int:
        return self.period.allocated if self.period else 0

    @property
    def remaining(self) -> int | None:
        return self.period.remaining if self.period else None

    @property
    def percent_used(self) -> int | None:
        """Whole per cent of the limit allocated (a limit of 0 is full: 100)."""
        if not self.has_limit:
            return None
        return 100 if self.limit == 0 else math.floor(100 * self.allocated / self.limit)


def year_summary(year: int, scheme: Scheme = SCHEME) -> YearSummary:
    return YearSummary(year=year, period=get_period(scheme.value, year))


# --- The pipeline -------------------------------------------------------------------------

def pipeline_counts(scheme: Scheme = SCHEME) -> dict[CaseStatus, int]:
    """How many of the scheme's cases are submitted, under review and awaiting quota now:
    three stored counts (``cases.counts``), whatever the office's size."""
    return status_counts(scheme, PIPELINE_STATUSES)


# --- Allocations per month ----------------------------------------------------------------

@dataclass(frozen=True)
class MonthBar:
    month: int  # 1..12
    allocated: int
    cumulative: int

    @property
    def label(self) -> str:
        """The month's short name in the reader's language ("Jan", "1月")."""
        return get_month_names("abbreviated", "stand-alone", locale=_reader_locale())[self.month]

    def label_with_year(self, year: int) -> str:
        """The month and year as the reader's language writes them ("Jan 2026", "2026年1月")."""
        return format_skeleton("yMMM", date(year, self.month, 1), locale=_reader_locale())


def _reader_locale() -> str:
    return str(get_locale() or "en_HK")


def _active_allocations_by_month(summary: YearSummary) -> list[tuple[int, int, int]]:
    """(year, month, count) of the period's active allocations: its month counters, at most
    twelve rows (they replace a GROUP BY over every allocation of the year, up to the
    limit's rows and more with releases)."""
    rows = db.session.execute(
        select(QuotaMonthCount.month, QuotaMonthCount.allocated)
        .where(QuotaMonthCount.period_id == summary.period.id))
    return [(summary.year, month, n) for month, n in rows]


def months_of(year: int, counts: list[tuple[int, int, int]]) -> list[MonthBar]:
    """Twelve bars: the active allocations of ``year`` per month of their time in Hong Kong,
    with the running total. A time outside the year (only back-dated data can have one) is
    counted in its nearest month (the quota's ``counted_month``), so the bars always add up
    to the year's allocations."""
    per_month: Counter[int] = Counter()
    for at_year, at_month, n in counts:
        per_month[counted_month(year, date(at_year, at_month, 1))] += n
    bars, total = [], 0
    for month in range(1, 13):
        total += per_month[month]
        bars.append(MonthBar(month=month, allocated=per_month[month], cumulative=total))
    return bars


def monthly_allocations(summary: YearSummary) -> list[MonthBar]:
    counts = _active_allocations_by_month(summary) if summary.period else []
    return months_of(summary.year, counts)


@dataclass(frozen=True)
class Chart:
    """The geometry of the server-rendered SVG chart (user units of its viewBox)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    scale_max: int
    bars: list[dict]
    line_points: str  # the cumulative polyline, "x,y x,y ..."
    limit_y: float | None
    ticks: list[dict]

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def right(self) -> int:
        return self.left + self.plot_width


def _nice_max(value: int, ticks: int = 4) -> int:
    """The top of the scale: ``ticks`` equal whole steps of 1, 2, 2.5 or 5 times a power of
    ten that reach ``value``, so every gridline has a round label."""
    wanted = max(value, 1) / ticks
    power = 10 ** max(math.floor(math.log10(wanted)), 0)
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= wanted and float(step * power).is_integer():
            return int(step * power) * ticks
    return 10 * power * ticks  # pragma: no cover


def chart(bars: list[MonthBar], limit: int | None, last_month: int = 12) -> Chart:
    """Lay out the monthly bars, the cumulative line (up to ``last_month``, so the current
    year's line stops at this month) and the limit line, all on one scale."""
    width, height, left, top, right_pad, bottom_pad = 720, 280, 56, 16, 16, 32
    plot_w, plot_h = width - left - right_pad, height - top - bottom_pad
    top_value = max([limit or 0, *(b.cumulative for b in bars), 1])
    scale_max = _nice_max(top_value)

    def y(value: float) -> float:
        return round(top + plot_h - plot_h * value / scale_max, 1)

    slot = plot_w / 12
    bar_w = round(slot * 0.6, 1)
    laid_out, points = [], []
    for i, bar in enumerate(bars):
        centre = left + slot * i + slot / 2
        laid_out.append({
            "bar": bar, "x": round(centre - bar_w / 2, 1), "width": bar_w,
            "y": y(bar.allocated), "height": round(top + plot_h - y(bar.allocated), 1),
            "label_x": round(centre, 1)})
        if bar.month <= last_month:
            points.append(f"{round(centre, 1)},{y(bar.cumulative)}")
    ticks = [{"value": scale_max * k // 4, "y": y(scale_max * k / 4)} for k in range(5)]
    return Chart(width=width, height=height, left=left, top=top, plot_width=plot_w,
                 plot_height=plot_h, scale_max=scale_max, bars=laid_out,
                 line_points=" ".join(points), limit_y=y(limit) if limit is not None else None,
                 ticks=ticks)


# --- When the quota runs out --------------------------------------------------------------

# Why a projection has no date: the page writes a sentence for each.
FULL = "full"
NOT_AT_THIS_PACE = "not_at_this_pace"


@dataclass(frozen=True)
class Projection:
    """When the quota runs out at the year's pace so far: ``on`` a date, or ``None`` with
    ``reason`` saying why not (FULL already, or NOT_AT_THIS_PACE: not before the year ends)."""

    on: date | None
    reason: str | None
    days_elapsed: int  # days of the year so far, today included: the pace's denominator


def projected_run_out(year: int, limit: int | None, allocated: int,
                      today: date) -> Projection | None:
    """Pace = allocated ÷ days elapsed in the year (today included); the quota runs out
    remaining ÷ pace days from today (rounded up: the day the last place would go).

    None when there is nothing to project: no limit, no allocations yet, or a year that is
    not the current one (a past year is over; a future one has no pace).
    """
    if limit is None or allocated <= 0 or year != today.year:
        return None
    remaining = limit - allocated
    days_elapsed = (today - date(year, 1, 1)).days + 1
    if remaining <= 0:
        return Projection(on=None, reason=FULL, days_elapsed=days_elapsed)
    days_left = math.ceil(remaining * days_elapsed / allocated)  # remaining ÷ pace, exactly
    run_out = today + timedelta(days=days_left)
    if run_out.year > year:
        return Projection(on=None, reason=NOT_AT_THIS_PACE, days_elapsed=days_elapsed)
    return Projection(on=run_out, reason=None, days_elapsed=days_elapsed)


# --- What the pipeline would take --------------------------------------------------------

@dataclass(frozen=True)
class Forecast:
    """The places the cases now on their way (submitted, under review, waiting) would take if
    each were approved, against those left, beside the pace's projection."""

    remaining: int
    pipeline: int
    projection: Projection | None

    @property
    def would_take(self) -> int:
        return min(self.pipeline, self.remaining)

    @property
    def left_waiting(self) -> int:
        """The cases the pipeline would leave waiting once every place left is taken."""
        return max(self.pipeline - self.remaining, 0)

    @property
    def still_free(self) -> int:
        return max(self.remaining - self.pipeline, 0)

    @property
    def pipeline_exhausts(self) -> bool:
        """The pipeline alone needs every place left: whatever the pace says, the quota will
        run out (so the page never says "not this year")."""
        return self.pipeline > 0 and self.pipeline >= self.remaining


def forecast(summary: YearSummary, pipeline: dict[CaseStatus, int],
             today: date) -> Forecast | None:
    """The pipeline's forecast for the year on display; None where there is nothing to
    forecast: no limit, a year not set, or a year other than this one (the pipeline is
    today's)."""
    if not summary.has_limit or summary.year != today.year:
        return None
    return Forecast(remaining=max(summary.remaining, 0), pipeline=sum(pipeline.values()),
                    projection=projected_run_out(summary.year, summary.limit,
                                                 summary.allocated, today))


# --- By nationality -----------------------------------------------------------------------

@dataclass(frozen=True)
class NationalityCount:
    code: str  # ISO 3166-1 alpha-2
    count: int

    @property
    def name(self) -> str:
        return country_name(self.code)


def nationality_counts(summary: YearSummary, top: int = TOP_NATIONALITIES
                       ) -> list[NationalityCount]:
    """The ``top`` nationalities among the year's active allocations, most first, ties by
    code so the order is stable."""
    if summary.period is None:
        return []
    # The period's nationality counters (one row per nationality that ever held a place),
    # not a GROUP BY over its allocations; a count back at zero is no nationality of the year.
    counts = QuotaNationalityCount
    rows = db.session.execute(
        select(counts.nationality, counts.allocated)
        .where(counts.period_id == summary.period.id, counts.allocated > 0)
        .order_by(counts.allocated.desc(), counts.nationality)
        .limit(top))
    return [NationalityCount(code=code, count=n) for code, n in rows]


# --- The list of allocations and its export -----------------------------------------------

def release_text(row) -> str:
    """Why a place was given back, in the reader's language: the step that gave it back and
    the reason typed for it ("Withdraw: The applicant took a job elsewhere."); an older row
    keeps the text it was stored with."""
    if row.release_step is None:
        return row.release_reason or ""
    step = step_label(row.release_step)
    if not row.release_reason:
        return step
    return gettext("%(step)s: %(reason)s", step=step, reason=row.release_reason)


def _allocations_query(period_id: int):
    return (select(QuotaAllocation.id, QuotaAllocation.case_id, QuotaAllocation.allocated_at,
                   QuotaAllocation.released_at, QuotaAllocation.release_step,
                   QuotaAllocation.release_reason, Case.reference,
                   Applicant.family_name, Applicant.given_names, Applicant.chinese_name,
                   Applicant.nationality)
            .select_from(QuotaAllocation)
            .join(Case, Case.id == QuotaAllocation.case_id)
            .join(Applicant, Applicant.id == Case.applicant_id)
            .where(QuotaAllocation.period_id == period_id)
            .order_by(QuotaAllocation.allocated_at.desc(), QuotaAllocation.id.desc()))


def allocations_page(summary: YearSummary, number: int = 1,
                     per_page: int = PAGE_SIZE) -> Page:
    """One page of the year's allocations, released ones included, newest first."""
    number = min(max(number, 1), MAX_PAGE)
    if summary.period is None:
        return Page(items=[], number=number, per_page=per_page, has_next=False)
    rows = db.session.execute(_allocations_query(summary.period.id)
                              .limit(per_page + 1).offset((number - 1) * per_page)).all()
    return Page(items=rows[:per_page], number=number, per_page=per_page,
                has_next=len(rows) > per_page)


# The export's columns, headed in the language of the supervisor exporting. A coded value
# comes twice: its code (what a formula or a script compares) and, next to it, its name as
# the reader says it.
CSV_HEADER = [lazy_gettext("Reference"), lazy_gettext("Family name"),
              lazy_gettext("Given names"), lazy_gettext("Chinese name"),
              lazy_gettext("Nationality (code)"), lazy_gettext("Nationality"),
              lazy_gettext("Allocated (Hong Kong time)"), lazy_gettext("Released (Hong Kong time)"),
              lazy_gettext("Release step (code)"), lazy_gettext("Release step"),
              lazy_gettext("Release reason")]


def csv_rows(year: int, scheme: Scheme = SCHEME, batch: int = 1000) -> Iterator[list[str]]:
    """The header, then every allocation of the year (released ones too), newest first,
    streamed in batches. The step that gave a place back and the reason typed for it are
    columns of their own (an older row has only the reason it was stored with)."""
    yield [str(header) for header in CSV_HEADER]
    summary = year_summary(year, scheme)
    if summary.period is None:
        return
    query = _allocations_query(summary.period.id).execution_options(yield_per=batch)
    for row in db.session.execute(query):
        step = row.release_step or ""
        yield [row.reference, csv_text(row.family_name), csv_text(row.given_names),
               csv_text(row.chinese_name), row.nationality or "", csv_country(row.nationality),
               csv_instant(row.allocated_at), csv_instant(row.released_at), step,
               step_label(step) if step else "", csv_text(row.release_reason)]


def csv_filename(year: int, scheme: Scheme = SCHEME, at: datetime | None = None) -> str:
    """The export's file name: the scheme, the year, then when, e.g.
    ``qmas-quota-2026-allocations-2026-12-02T1405.csv``."""
    return download_name(scheme.value.lower(), "quota", str(year), "allocations", at=at)


# --- History of the limit -----------------------------------------------------------------

def limit_history(summary: YearSummary) -> list[QuotaLimitChange]:
    """Every setting of the year's limit, newest first, with who made it."""
    if summary.period is None:
        return []
    return list(db.session.scalars(
        select(QuotaLimitChange).where(QuotaLimitChange.period_id == summary.period.id)
        .options(selectinload(QuotaLimitChange.changed_by))
        .order_by(QuotaLimitChange.id.desc())))

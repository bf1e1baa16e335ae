"""The quota can never be over-allocated; places are taken on approval and given back on
withdrawal or lapse before arrival. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from backoffice.auth.models import Role, User
from backoffice.cases import services as cases
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import (
    QuotaAllocation,
    QuotaLimitChange,
    QuotaMonthCount,
    QuotaPeriod,
)
from tests.cases.factories import make_case, prepare_step

YEAR = 2026
NOW = datetime(YEAR, 6, 1, 2, 0, tzinfo=UTC)


def at(year: int) -> datetime:
    return datetime(year, 6, 1, 2, 0, tzinfo=UTC)


def active_allocations(period: QuotaPeriod) -> int:
    return _db.session.scalar(select(func.count()).select_from(QuotaAllocation).where(
        QuotaAllocation.period_id == period.id, QuotaAllocation.released_at.is_(None)))


def active_allocation(case_id: int) -> QuotaAllocation | None:
    return _db.session.scalar(select(QuotaAllocation).where(
        QuotaAllocation.case_id == case_id, QuotaAllocation.released_at.is_(None)))


def reviewed_case(actor) -> Case:
    return make_case(actor, Scheme.QMAS, CaseStatus.UNDER_REVIEW, now=NOW)


# --- Taking a place -----------------------------------------------------------------------

def test_approval_takes_a_place_in_the_year_of_approval(db, supervisor, caseworker):
    quota.set_limit(supervisor, "QMAS", YEAR, 10)
    case = reviewed_case(caseworker)
    cases.transition(case, "approve", caseworker, now=NOW)
    db.session.commit()
    period = quota.get_period("QMAS", YEAR)
    assert period.allocated == 1 == active_allocations(period)
    assert active_allocation(case.id).period_id == period.id
    assert case.approved_on == date(YEAR, 6, 1)


def test_approval_on_hong_kong_new_year_counts_in_the_new_year(db, supervisor, caseworker):
    """23:30 UTC on 31 December is already 1 January in Hong Kong."""
    quota.set_limit(supervisor, "QMAS", 2027, 1)
    case = reviewed_case(caseworker)
    cases.transition(case, "approve", caseworker, now=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    db.session.commit()
    assert quota.get_period("QMAS", 2027).allocated == 1


def test_quota_not_set_blocks_approval_with_the_reason(db, caseworker):
    case = reviewed_case(caseworker)
    with pytest.raises(cases.QuotaBlocked, match="quota for 2026 has not been set"):
        cases.transition(case, "approve", caseworker, now=NOW)
    db.session.rollback()
    db.session.refresh(case)
    assert case.status == CaseStatus.UNDER_REVIEW


def test_full_quota_blocks_approval_with_the_numbers(db, supervisor, caseworker):
    quota.set_limit(supervisor, "QMAS", YEAR, 1)
    first, second = reviewed_case(caseworker), reviewed_case(caseworker)
    cases.transition(first, "approve", caseworker, now=NOW)
    db.session.commit()
    with pytest.raises(cases.QuotaBlocked, match=r"quota for 2026 is full \(1 of 1 places"):
        cases.transition(second, "approve", caseworker, now=NOW)
    db.session.rollback()
    db.session.refresh(second)
    assert second.status == CaseStatus.UNDER_REVIEW
    assert active_allocation(second.id) is None


def test_no_limit_year_counts_usage_without_refusing(db, supervisor, caseworker):
    quota.set_limit(supervisor, "QMAS", YEAR, None)
    for _ in range(3):
        cases.transition(reviewed_case(caseworker), "approve", caseworker, now=NOW)
    db.session.commit()
    period = quota.get_period("QMAS", YEAR)
    assert (period.quota_limit, period.allocated, period.remaining) == (None, 3, None)


@pytest.mark.parametrize("scheme", [Scheme.GEP_ENT, Scheme.GEP_PRO, Scheme.ASSG])
def test_schemes_without_a_quota_take_no_place(db, caseworker, scheme):
    case = make_case(caseworker, scheme, CaseStatus.APPROVED, now=NOW)
    assert case.status == CaseStatus.APPROVED
    assert active_allocation(case.id) is None


# --- Giving a place back ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("steps", "gives_back"),
    [
        (("withdraw",), True),  # approved, then withdrawn
        (("issue_visa", "withdraw"), True),
        (("lapse",), True),  # approval not taken up
        (("issue_visa", "lapse"), True),
        (("issue_visa", "record_arrival", "lapse"), False),  # the place was used
        (("issue_visa", "record_arrival", "close"), False),
    ],
)
def test_release_before_arrival_only(db, supervisor, caseworker, steps, gives_back):
    quota.set_limit(supervisor, "QMAS", YEAR, 5)
    case = reviewed_case(caseworker)
    cases.transition(case, "approve", caseworker, now=NOW)
    for step in steps:
        extra, when = prepare_step(case, step, caseworker, NOW)
        cases.transition(case, step, caseworker, reason="applicant's decision", now=when, **extra)
    db.session.commit()
    period = quota.get_period("QMAS", YEAR)
    assert period.allocated == (0 if gives_back else 1) == active_allocations(period)
    released = db.session.scalar(select(QuotaAllocation).where(QuotaAllocation.case_id == case.id))
    assert (released.released_at is not None) == gives_back
    if gives_back:
        assert released.release_step == steps[-1]
        assert released.release_reason == "applicant's decision"


@pytest.mark.parametrize(("step", "reason"), [
    ("withdraw", "The applicant took a job elsewhere."),
    ("lapse", None),
    ("lapse", "Visa not collected."),
])
def test_a_release_records_the_step_and_its_reason(db, supervisor, caseworker, step, reason):
    quota.set_limit(supervisor, "QMAS", YEAR, 5)
    case = reviewed_case(caseworker)
    cases.transition(case, "approve", caseworker, now=NOW)
    cases.transition(case, step, caseworker, reason=reason, now=NOW)
    db.session.commit()
    released = db.session.scalar(select(QuotaAllocation).where(QuotaAllocation.case_id == case.id))
    assert (released.release_step, released.release_reason) == (step, reason)


def test_a_release_is_never_counted_twice(db, supervisor, caseworker):
    quota.set_limit(supervisor, "QMAS", YEAR, 5)
    case = reviewed_case(caseworker)
    cases.transition(case, "approve", caseworker, now=NOW)
    assert quota.release_place(case.id, supervisor, "withdraw", "first") is not None
    assert quota.release_place(case.id, supervisor, "withdraw", "again") is None
    db.session.commit()
    period = quota.get_period("QMAS", YEAR)
    assert period.allocated == 0 == active_allocations(period)


def test_a_released_place_can_be_taken_again(db, supervisor, caseworker):
    quota.set_limit(supervisor, "QMAS", YEAR, 1)
    first, second = reviewed_case(caseworker), reviewed_case(caseworker)
    cases.transition(first, "approve", caseworker, now=NOW)
    cases.transition(first, "withdraw", caseworker, reason="moved elsewhere", now=NOW)
    cases.transition(second, "approve", caseworker, now=NOW)
    db.session.commit()
    period = quota.get_period("QMAS", YEAR)
    assert period.allocated == 1 == active_allocations(period)
    assert active_allocation(second.id) is not None


def test_awaiting_quota_case_is_approved_when_a_place_frees(db, supervisor, caseworker):
    quota.set_limit(supervisor, "QMAS", YEAR, 1)
    holder, waiting = reviewed_case(caseworker), reviewed_case(caseworker)
    cases.transition(holder, "approve", caseworker, now=NOW)
    cases.transition(waiting, "hold_for_quota", caseworker, now=NOW)
    cases.transition(holder, "withdraw", caseworker, reason="declined", now=NOW)
    cases.transition(waiting, "approve", caseworker, now=NOW)
    db.session.commit()
    assert waiting.status == CaseStatus.APPROVED


# --- Setting the limit ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("allocated", "new_limit", "error"),
    [
        (3, 5, None),
        (3, 3, None),
        (3, None, None),  # no limit
        (3, 2, "already has 3 places allocated, so the limit cannot be set to 2. "
               "Set it to 3 or more."),
        (0, 0, None),
        (0, -1, "cannot be negative"),
    ],
)
def test_changing_the_limit(db, supervisor, caseworker, allocated, new_limit, error):
    quota.set_limit(supervisor, "QMAS", YEAR, 10)
    for _ in range(allocated):
        cases.transition(reviewed_case(caseworker), "approve", caseworker, now=NOW)
    db.session.commit()
    if error:
        with pytest.raises(quota.QuotaError, match=error.replace("(", r"\(").replace(".", r"\.")):
            quota.set_limit(supervisor, "QMAS", YEAR, new_limit, note="try")
        db.session.rollback()
        assert quota.get_period("QMAS", YEAR).quota_limit == 10
        return
    quota.set_limit(supervisor, "QMAS", YEAR, new_limit, note="budget change")
    db.session.commit()
    period = quota.get_period("QMAS", YEAR)
    assert period.quota_limit == new_limit
    changes = db.session.scalars(select(QuotaLimitChange).order_by(QuotaLimitChange.id)).all()
    assert [(c.old_limit, c.new_limit, c.had_previous) for c in changes] == [
        (None, 10, False), (10, new_limit, True)]
    assert changes[-1].note == "budget change"
    assert changes[-1].changed_by_id == supervisor.id


def test_only_supervisors_set_the_limit(db, caseworker):
    with pytest.raises(quota.QuotaError, match="Only supervisors"):
        quota.set_limit(caseworker, "QMAS", YEAR, 5)


def test_database_refuses_over_allocation_even_if_code_forgets(db, supervisor):
    period = quota.set_limit(supervisor, "QMAS", YEAR, 2)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE quota_periods SET allocated = 3 WHERE id = :id"),
                           {"id": period.id})
        db.session.flush()
    db.session.rollback()


def test_database_refuses_two_active_places_for_one_case(db, supervisor, caseworker):
    period = quota.set_limit(supervisor, "QMAS", YEAR, None)
    case = reviewed_case(caseworker)
    db.session.add(QuotaAllocation(period_id=period.id, case_id=case.id, nationality="GB",
                                   allocated_on=date(YEAR, 6, 1)))
    db.session.commit()
    db.session.add(QuotaAllocation(period_id=period.id, case_id=case.id, nationality="GB",
                                   allocated_on=date(YEAR, 6, 1)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- The race: N caseworkers approving the last places at the same instant -----------------


THREADS = 50
PLACES_LEFT = 5
ROUNDS = 3


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_fifty_approvers_five_places_exactly_five_win(race_app, db, supervisor, make_user,
                                                      round_no):
    year = 2040 + round_no
    already = 2
    quota.set_limit(supervisor, "QMAS", year, already + PLACES_LEFT)
    workers = [make_user(Role.CASEWORKER) for _ in range(5)]
    for _ in range(already):  # places taken earlier in the year
        make_case(workers[0], Scheme.QMAS, CaseStatus.APPROVED, now=at(year))
    case_ids = [make_case(workers[i % 5], Scheme.QMAS, CaseStatus.UNDER_REVIEW, now=at(year)).id
                for i in range(THREADS)]
    owners = {case_id: workers[i % 5].id for i, case_id in enumerate(case_ids)}
    db.session.commit()

    barrier = threading.Barrier(THREADS)
    outcomes: dict[int, str] = {}

    def approve(case_id: int) -> None:
        with race_app.app_context():
            barrier.wait()  # released together, before anyone touches the database
            try:
                case = _db.session.get(Case, case_id)
                actor = _db.session.get(User, owners[case_id])
                cases.transition(case, "approve", actor, now=at(year))
                _db.session.commit()
                outcomes[case_id] = "approved"
            except cases.QuotaBlocked as exc:
                _db.session.rollback()
                outcomes[case_id] = str(exc)
            except Exception as exc:
                _db.session.rollback()
                outcomes[case_id] = f"ERROR {type(exc).__name__}: {exc}"
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=approve, args=(case_id,)) for case_id in case_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    results = list(outcomes.values())
    assert len(results) == THREADS
    assert [r for r in results if r.startswith("ERROR")] == []
    assert results.count("approved") == PLACES_LEFT
    refused = [r for r in results if r != "approved"]
    assert len(refused) == THREADS - PLACES_LEFT
    assert all(f"quota for {year} is full (7 of 7 places allocated)" in r for r in refused)

    db.session.expire_all()
    period = quota.get_period("QMAS", year)
    assert period.allocated == already + PLACES_LEFT == period.quota_limit
    assert active_allocations(period) == already + PLACES_LEFT
    # Every approval of the race is in June: no count lost between concurrent writers.
    counts = db.session.execute(select(QuotaMonthCount.month, QuotaMonthCount.allocated)
                                .where(QuotaMonthCount.period_id == period.id)).all()
    assert [tuple(row) for row in counts] == [(6, already + PLACES_LEFT)]
    approved = db.session.scalar(select(func.count()).select_from(Case).where(
        Case.id.in_(case_ids), Case.status == CaseStatus.APPROVED))
    assert approved == PLACES_LEFT


@pytest.mark.parametrize(("limit", "allocated", "room", "refusal"), [
    (None, 0, True, None),
    (None, 7, True, None),
    (3, 2, True, None),
    (3, 3, False, quota.QuotaFull),
    (0, 0, False, quota.QuotaFull),
])
def test_has_room_is_the_same_rule_read_and_as_the_taking_condition(db, make_user, limit,
                                                                     allocated, room, refusal):
    """``QuotaPeriod.has_room`` on a period read and as the SQL condition the taking UPDATE
    uses agree; ``place_refusal`` (the case page's preview) follows it."""
    setter = make_user(Role.SUPERVISOR)
    period = QuotaPeriod(scheme="QMAS", year=YEAR, quota_limit=limit, allocated=allocated,
                         set_by_id=setter.id)
    _db.session.add(period)
    _db.session.flush()
    assert period.has_room is room
    assert _db.session.scalar(select(func.count()).select_from(QuotaPeriod).where(
        QuotaPeriod.id == period.id, QuotaPeriod.has_room)) == int(room)
    found = quota.place_refusal("QMAS", date(YEAR, 6, 1))
    assert type(found) is refusal if refusal else found is None
    assert isinstance(quota.place_refusal("QMAS", date(YEAR + 1, 6, 1)), quota.QuotaNotSet)

"""Planning reminders: which rows the planner writes, to whom, once, and which it cancels.

Run on SQLite and PostgreSQL. Every test passes ``today``/``now``: nothing depends on the
clock. The helpers at the top are shared by the other notification test modules.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backoffice.auth.models import Role, User
from backoffice.cases import deadline_sweep, stay
from backoffice.cases import services as cases
from backoffice.cases.models import Case, Deadline, DeadlineKind, DeadlineState
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from backoffice.notifications import services
from backoffice.notifications.models import ESCALATION, Channel, Reminder, ReminderState
from tests.cases.factories import NOW, TODAY, correct_step_date, make_case

APPLICANT_EMAIL = "mei.ling.chan@example.com"  # the factory applicant's address


# --- Helpers shared by the notification tests ------------------------------------------------

def stay_case(actor: User, due_on: date, kind: DeadlineKind = DeadlineKind.STAY_END,
              **overrides) -> tuple[Case, Deadline]:
    """A GEP_PRO case in stay whose only open deadline is ``kind``, due on ``due_on``.

    The case goes through the real lifecycle (arrival on TODAY opens its deadlines); the
    chosen deadline is then moved to ``due_on`` and the others are cancelled, so a test
    controls exactly one date.
    """
    case = make_case(actor, Scheme.GEP_PRO, CaseStatus.IN_STAY, now=NOW, **overrides)
    chosen = None
    for deadline in case.open_deadlines:
        if deadline.kind == kind:
            deadline.due_on = due_on
            chosen = deadline
        else:
            deadline.state = DeadlineState.CANCELLED
            deadline.closed_at = NOW
    assert chosen is not None, f"a GEP_PRO case in stay has no {kind} deadline"
    _db.session.commit()
    return case, chosen


def reminder_rows(case_id: int | None = None) -> set[tuple[int, str, str, str]]:
    """The reminders as (offset, channel, recipient, state) tuples."""
    query = select(Reminder)
    if case_id is not None:
        query = query.where(Reminder.case_id == case_id)
    return {(r.offset_days, r.channel.value, r.recipient, r.state.value)
            for r in _db.session.scalars(query)}


def reminder_count() -> int:
    return _db.session.scalar(select(func.count()).select_from(Reminder))


def to_caseworker(user_id: int, offset: int, state: str = "pending") -> set[tuple]:
    return {(offset, channel, f"user:{user_id}", state) for channel in ("email", "in_app")}


def to_applicant(offset: int, state: str = "pending") -> set[tuple]:
    return {(offset, "email", f"email:{APPLICANT_EMAIL}", state)}


def plan(today: date = TODAY, now: datetime = NOW) -> dict[str, int]:
    counts = services.plan_reminders(today, now=now)
    _db.session.commit()
    return counts


# --- Which offset ------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "days_ahead", "offset"), [
    # stay_end and job_offer: 90, 60, 30, 14, 7, 1 days before
    (DeadlineKind.STAY_END, 100, None),
    (DeadlineKind.STAY_END, 91, None),
    (DeadlineKind.STAY_END, 90, 90),
    (DeadlineKind.STAY_END, 61, 90),
    (DeadlineKind.STAY_END, 60, 60),
    (DeadlineKind.STAY_END, 31, 60),
    (DeadlineKind.STAY_END, 30, 30),
    (DeadlineKind.STAY_END, 20, 30),
    (DeadlineKind.STAY_END, 15, 30),
    (DeadlineKind.STAY_END, 14, 14),
    (DeadlineKind.STAY_END, 8, 14),
    (DeadlineKind.STAY_END, 7, 7),
    (DeadlineKind.STAY_END, 2, 7),
    (DeadlineKind.STAY_END, 1, 1),
    (DeadlineKind.STAY_END, 0, 1),  # due today: the last reminder still goes
    (DeadlineKind.STAY_END, -1, None),  # due in the past: too late for a reminder
    (DeadlineKind.STAY_END, -30, None),
    # the extension window: 14, 7, 1 days before
    (DeadlineKind.EXTENSION_WINDOW, 20, None),
    (DeadlineKind.EXTENSION_WINDOW, 14, 14),
    (DeadlineKind.EXTENSION_WINDOW, 10, 14),
    (DeadlineKind.EXTENSION_WINDOW, 7, 7),
    (DeadlineKind.EXTENSION_WINDOW, 1, 1),
    (DeadlineKind.EXTENSION_WINDOW, -1, None),
])
def test_only_the_smallest_offset_reached_is_planned(db, caseworker, kind, days_ahead, offset):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=days_ahead), kind)
    plan()
    expected = set() if offset is None else to_caseworker(caseworker.id, offset) | to_applicant(
        offset)
    assert reminder_rows(case.id) == expected


def test_the_next_offset_is_planned_when_its_day_comes(db, caseworker):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=20))
    plan(TODAY)
    plan(TODAY + timedelta(days=5))  # 15 days left: still the 30-day reminder only
    assert {row[0] for row in reminder_rows(case.id)} == {30}
    plan(TODAY + timedelta(days=6))  # 14 days left
    assert {row[0] for row in reminder_rows(case.id)} == {30, 14}
    assert reminder_count() == 6


def test_reminder_rows_carry_what_the_dispatcher_needs(db, caseworker):
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=20))
    plan(now=NOW)
    rows = _db.session.scalars(select(Reminder).order_by(Reminder.channel, Reminder.recipient))
    for row in rows:
        assert row.deadline_id == deadline.id
        assert row.case_id == case.id
        assert row.state == ReminderState.PENDING
        assert row.attempts == 0
        assert row.next_attempt_at == NOW
        assert row.sent_at is None
        if row.recipient.startswith("user:"):
            assert (row.user_id, row.email) == (caseworker.id, caseworker.email)
        else:
            assert (row.user_id, row.email, row.channel) == (None, APPLICANT_EMAIL, Channel.EMAIL)


# --- To whom -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("email", "consent", "applicant_gets_one"), [
    (APPLICANT_EMAIL, True, True),
    (APPLICANT_EMAIL, False, False),
    (None, True, False),
    ("", True, False),
])
def test_the_applicant_is_emailed_only_with_consent_and_an_address(
        db, caseworker, email, consent, applicant_gets_one):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=14))
    case.applicant.email = email
    case.applicant.email_consent = consent
    db.session.commit()
    plan()
    expected = to_caseworker(caseworker.id, 14)
    if applicant_gets_one:
        expected |= to_applicant(14)
    assert reminder_rows(case.id) == expected


def test_an_unassigned_case_reminds_no_caseworker(db, caseworker, supervisor):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=14))
    cases.reassign(supervisor, [case], None)
    db.session.commit()
    assert case.assignee_id is None
    plan()
    assert reminder_rows(case.id) == to_applicant(14)


def test_a_deactivated_assignee_is_not_reminded(db, caseworker):
    case, _ = stay_case(caseworker, TODAY + timedelta(days=14))
    caseworker.active = False
    db.session.commit()
    plan()
    assert reminder_rows(case.id) == to_applicant(14)


def test_the_current_assignee_is_reminded_after_a_reassignment(db, caseworker, supervisor,
                                                               make_user):
    other = make_user(Role.CASEWORKER)
    case, _ = stay_case(caseworker, TODAY + timedelta(days=14))
    cases.reassign(supervisor, [case], other)
    db.session.commit()
    plan()
    assert reminder_rows(case.id) == to_caseworker(other.id, 14) | to_applicant(14)


# --- Once ---------------------------------------------------------------------------------------

def test_planning_twice_writes_nothing_the_second_time(db, caseworker):
    for days in (3, 20, 45):
        stay_case(caseworker, TODAY + timedelta(days=days))
    first = plan()
    assert first["caseworker"] == 6
    assert first["applicant"] == 3
    rows = reminder_rows()
    second = plan()
    assert second == {"caseworker": 0, "applicant": 0, "escalation": 0, "cancelled": 0}
    assert reminder_rows() == rows
    assert reminder_count() == 9


@pytest.mark.parametrize("planners", [2, 6])
def test_planners_running_at_once_write_each_reminder_once(db, race_app, caseworker, supervisor,
                                                           planners):
    for days in (1, 14, 20, 60):
        stay_case(caseworker, TODAY + timedelta(days=days))
    _, missed = stay_case(caseworker, TODAY - timedelta(days=1))
    missed.state, missed.closed_at = DeadlineState.MISSED, NOW - timedelta(hours=1)
    db.session.commit()
    db.session.rollback()  # hold no transaction (on SQLite: no write lock) while they race

    barrier = threading.Barrier(planners)
    errors: list[str] = []

    def run() -> None:
        with race_app.app_context():
            barrier.wait()
            try:
                services.plan_reminders(TODAY, now=NOW)
                _db.session.commit()
            except Exception as exc:
                _db.session.rollback()
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(planners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    # 4 deadlines x (2 caseworker channels + 1 applicant) + 1 missed x 1 supervisor x 2.
    assert reminder_count() == 14
    keys = _db.session.execute(select(Reminder.deadline_id, Reminder.offset_days,
                                      Reminder.channel, Reminder.recipient)).all()
    assert len(keys) == len(set(keys))


# --- Missed deadlines escalate ------------------------------------------------------------------

@pytest.mark.parametrize(("missed_ago", "escalated"), [
    (timedelta(minutes=5), True),
    (timedelta(days=6, hours=23), True),
    (timedelta(days=7, hours=1), False),
    (timedelta(days=30), False),
])
def test_a_recently_missed_deadline_escalates_to_every_active_supervisor(
        db, caseworker, supervisor, make_user, missed_ago, escalated):
    second = make_user(Role.SUPERVISOR)
    make_user(Role.SUPERVISOR, active=False)
    make_user(Role.ADMIN)
    case, deadline = stay_case(caseworker, TODAY - timedelta(days=1))
    deadline.state, deadline.closed_at = DeadlineState.MISSED, NOW - missed_ago
    db.session.commit()
    plan()
    expected = set()
    if escalated:
        expected = to_caseworker(supervisor.id, ESCALATION) | to_caseworker(second.id, ESCALATION)
    assert reminder_rows(case.id) == expected


def test_the_sweep_then_the_planner_escalate_a_passed_deadline_once(db, caseworker, supervisor):
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=1))
    plan(TODAY)
    assert reminder_rows(case.id) == to_caseworker(caseworker.id, 1) | to_applicant(1)
    tomorrow_night = NOW + timedelta(days=2)
    deadline_sweep.sweep(TODAY + timedelta(days=2), now=tomorrow_night)
    db.session.commit()
    assert deadline.state == DeadlineState.MISSED
    for _ in range(2):
        plan(TODAY + timedelta(days=2), now=tomorrow_night)
    assert reminder_rows(case.id) == (
        to_caseworker(caseworker.id, 1, "cancelled") | to_applicant(1, "cancelled")
        | to_caseworker(supervisor.id, ESCALATION))


def test_a_missed_deadline_of_a_lapsed_case_is_not_escalated(db, caseworker, supervisor):
    """The sweep lapses a stay that ended without extension: the case is closed, nobody
    needs to chase it."""
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=20))
    case.stay_ends_on = TODAY + timedelta(days=20)
    db.session.commit()
    later_today, later_now = TODAY + timedelta(days=21), NOW + timedelta(days=21)
    deadline_sweep.sweep(later_today, now=later_now)
    db.session.commit()
    db.session.refresh(case)
    db.session.refresh(deadline)
    assert case.status == CaseStatus.LAPSED
    assert deadline.state == DeadlineState.MISSED
    plan(later_today, now=later_now)
    assert reminder_rows(case.id) == set()


def test_a_missed_deadline_already_replaced_is_not_escalated(db, caseworker, supervisor):
    """A newer deadline of its kind took its place (an extension granted late): nothing is
    left to chase."""
    case, deadline = stay_case(caseworker, TODAY - timedelta(days=1))
    deadline.state, deadline.closed_at = DeadlineState.MISSED, NOW
    deadline.outstanding = False
    db.session.commit()
    plan()
    assert reminder_rows(case.id) == set()


# --- Deadlines that no longer apply ----------------------------------------------------------

@pytest.mark.parametrize("closed_as", [DeadlineState.MET, DeadlineState.CANCELLED,
                                       DeadlineState.MISSED])
def test_pending_reminders_of_a_closed_deadline_are_cancelled_by_the_next_planning(
        db, caseworker, closed_as):
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=20))
    plan()
    sent = db.session.scalars(select(Reminder).where(Reminder.channel == Channel.IN_APP)).one()
    sent.state, sent.sent_at = ReminderState.SENT, NOW
    deadline.state, deadline.closed_at = closed_as, NOW
    db.session.commit()
    counts = plan(now=NOW + timedelta(minutes=5))
    assert counts["cancelled"] == 2
    assert reminder_rows(case.id) == {
        (30, "in_app", f"user:{caseworker.id}", "sent"),
        (30, "email", f"user:{caseworker.id}", "cancelled"),
        (30, "email", f"email:{APPLICANT_EMAIL}", "cancelled"),
    }
    errors = set(db.session.scalars(select(Reminder.last_error).where(
        Reminder.state == ReminderState.CANCELLED)))
    assert errors == {"The deadline no longer applies."}


def test_a_corrected_arrival_replaces_the_deadline_and_its_reminders(db, caseworker):
    """Correcting the arrival recomputes the stay end: the old deadline is cancelled with its
    pending reminders, and the new one is planned on its own dates."""
    case = make_case(caseworker, Scheme.GEP_PRO, CaseStatus.IN_STAY, now=NOW)
    # Pretend the stay ends in 20 days, as if the arrival had been two years ago.
    arrived = case.arrived_on
    case.stay_ends_on = TODAY + timedelta(days=20)
    stay.sync_deadlines(case, NOW)
    db.session.commit()
    plan()
    old = {r.deadline_id for r in db.session.scalars(select(Reminder))}
    assert len(old) == 1
    correct_step_date(caseworker, case, "record_arrival", arrived + timedelta(days=1),
                      "Typo in the date.", today=TODAY + timedelta(days=1), now=NOW)
    db.session.commit()
    plan(now=NOW + timedelta(minutes=1))
    states = {(r.deadline_id in old, r.state.value) for r in db.session.scalars(select(Reminder))}
    assert states == {(True, "cancelled")}  # the new stay ends two years out: nothing due yet
    assert db.session.get(Deadline, old.pop()).state == DeadlineState.CANCELLED
    assert db.session.get(Case, case.id).stay_ends_on > TODAY + timedelta(days=100)


def test_a_caseworkers_change_cancels_the_reminders_in_the_same_transaction(db, caseworker):
    """Correcting the arrival closes the old stay-end deadline; its pending reminders are
    cancelled by that same change, before any planning runs and before it commits."""
    case, _deadline = stay_case(caseworker, TODAY + timedelta(days=20))
    plan()
    assert {state for *_, state in reminder_rows(case.id)} == {"pending"}
    correct_step_date(caseworker, case, "record_arrival", case.arrived_on + timedelta(days=1),
                      "Typo in the date.", today=TODAY + timedelta(days=1), now=NOW)
    db.session.flush()  # not committed: the cancellation is part of the same transaction
    assert {state for *_, state in reminder_rows(case.id)} == {"cancelled"}
    db.session.rollback()
    assert {state for *_, state in reminder_rows(case.id)} == {"pending"}

"""Notifications that stay true: when a deadline is met, moved or cancelled, its unread
in-app notifications are resolved in the same transaction, with the reason, and leave the
badge; read ones stay as their reader left them. Run on SQLite and PostgreSQL.

The table at the top is every way a deadline stops being anyone's work, through the services
and the sweep that do it; below it, the centre's page (the reasons in words, the order, marking
read) and the badge's query plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from backoffice.auth.models import Role, User
from backoffice.cases import deadline_sweep, stay
from backoffice.cases import services as cases
from backoffice.cases.models import (
    Case,
    Deadline,
    DeadlineClosure,
    DeadlineKind,
    DeadlineState,
)
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from backoffice.notifications import services
from backoffice.notifications.models import (
    ESCALATION,
    Channel,
    Notification,
    Reminder,
    ReminderState,
)
from tests.cases.conftest import open_qmas_quota  # noqa: F401  (autouse: QMAS cases approve)
from tests.cases.factories import NOW, TODAY, correct_step_date, hk_morning, make_case
from tests.notifications.test_dispatch import claim, english_date
from tests.notifications.test_pages import BADGE, unread_badge
from tests.notifications.test_planning import plan, stay_case

K, C = DeadlineKind, DeadlineClosure
READ_AT = NOW - timedelta(days=1)


@pytest.fixture
def caseworker(make_user) -> User:
    return make_user(Role.CASEWORKER)


def notified(user: User, deadline: Deadline, *, read: bool = False, offset: int = 7,
             at: datetime = NOW) -> Notification:
    """An in-app reminder about ``deadline`` delivered to ``user`` at ``at``, as the
    dispatcher writes it (a sent reminder and its notification), unread or read."""
    reminder = Reminder(deadline_id=deadline.id, case_id=deadline.case_id, offset_days=offset,
                        channel=Channel.IN_APP, recipient=f"user:{user.id}", user_id=user.id,
                        email=user.email, state=ReminderState.SENT, next_attempt_at=at,
                        attempts=1, sent_at=at, created_at=at)
    _db.session.add(reminder)
    _db.session.flush()
    note = Notification(user_id=user.id, reminder_id=reminder.id, case_id=deadline.case_id,
                        title=f"About {deadline.kind.value}", body="Stored body.",
                        created_at=at, read_at=READ_AT if read else None)
    _db.session.add(note)
    _db.session.flush()
    return note


def open_deadlines(case: Case) -> dict[DeadlineKind, Deadline]:
    return {d.kind: d for d in _db.session.scalars(
        select(Deadline).where(Deadline.case_id == case.id,
                               Deadline.state == DeadlineState.OPEN))}


def state_of(note_id: int) -> tuple[bool, DeadlineClosure | None, datetime | None]:
    """(read, resolution, resolved_at) of a notification, as committed."""
    _db.session.expire_all()
    note = _db.session.get(Notification, note_id)
    return note.read_at is not None, note.resolution, note.resolved_at


# --- The ways a deadline closes ------------------------------------------------------------------

OFFER = stay.JobOfferData(employer="Harbour Analytics Ltd", post="Data engineer",
                          salary=Decimal("60000"), start_date=TODAY)


def _record_job_offer(case: Case, actor: User) -> datetime:
    stay.record_job_offer(actor, case, OFFER, now=NOW)
    return NOW


def _arrive(case: Case, actor: User) -> datetime:
    cases.transition(case, "record_arrival", actor, now=NOW, on=TODAY)
    return NOW


def _grant(case: Case, actor: User) -> datetime:
    at = hk_morning(case.stay_ends_on - timedelta(days=2))
    cases.transition(case, "grant_extension", actor, now=at)
    return at


def _correct_arrival(case: Case, actor: User) -> datetime:
    at = NOW + timedelta(days=1)
    correct_step_date(actor, case, "record_arrival", case.arrived_on + timedelta(days=1),
                      "The entry stamp says the day after.", today=TODAY + timedelta(days=1),
                      now=at)
    return at


def _step(name: str) -> Callable[[Case, User], datetime]:
    def act(case: Case, actor: User) -> datetime:
        cases.transition(case, name, actor, reason="Recorded by the test.", now=NOW)
        return NOW

    return act


def _sweep(day: Callable[[Case], date]) -> Callable[[Case, User], datetime]:
    def act(case: Case, _actor: User) -> datetime:
        at = hk_morning(day(case))
        deadline_sweep.sweep(day(case), now=at)
        return at

    return act


def _sweep_then_grant(case: Case, actor: User) -> datetime:
    """The request waited past the stay's end (the sweep marked it missed); the extension is
    granted the day after: the new stay end takes the missed one's place."""
    day_after = case.stay_ends_on + timedelta(days=1)
    at = hk_morning(day_after)  # the sweep, and the grant in the same moment
    deadline_sweep.sweep(day_after, now=at)
    cases.transition(case, "grant_extension", actor, now=at)
    return at


def _late_arrival(case: Case, actor: User) -> datetime:
    """No arrival was recorded by the visa's last day, so the sweep marked entry missed; the
    arrival, recorded late, was on that last day."""
    last_day = case.visa_valid_until
    deadline_sweep.sweep(last_day + timedelta(days=2), now=hk_morning(last_day + timedelta(days=2)))
    at = hk_morning(last_day + timedelta(days=3))
    cases.transition(case, "record_arrival", actor, now=at, on=last_day)
    return at


@dataclass(frozen=True)
class Closing:
    scheme: Scheme
    status: CaseStatus
    act: Callable[[Case, User], datetime]
    # Each deadline open before the act: how its unread notification ends (None: unread).
    expected: dict[DeadlineKind, DeadlineClosure | None]


CLOSINGS = {
    # Met.
    "job-offer-recorded": Closing(Scheme.QMAS, CaseStatus.IN_STAY, _record_job_offer, {
        K.JOB_OFFER: C.MET, K.STAY_END: None, K.EXTENSION_WINDOW: None}),
    "arrival-recorded": Closing(Scheme.GEP_PRO, CaseStatus.VISA_ISSUED, _arrive,
                                {K.ENTRY: C.MET}),
    "extension-granted": Closing(Scheme.QMAS, CaseStatus.EXTENSION_REQUESTED, _grant, {
        K.STAY_END: C.MET, K.EXTENSION_WINDOW: C.MOVED}),
    "window-opened-by-the-sweep": Closing(
        Scheme.GEP_PRO, CaseStatus.IN_STAY, _sweep(lambda c: c.extension_window_opens_on),
        {K.EXTENSION_WINDOW: C.MET, K.STAY_END: None}),
    "late-arrival-meets-the-missed-entry": Closing(
        Scheme.GEP_PRO, CaseStatus.VISA_ISSUED, _late_arrival, {K.ENTRY: C.MET}),
    # Moved.
    "arrival-date-corrected": Closing(Scheme.GEP_PRO, CaseStatus.IN_STAY, _correct_arrival, {
        K.STAY_END: C.MOVED, K.EXTENSION_WINDOW: C.MOVED}),
    "missed-stay-end-replaced-by-a-late-grant": Closing(
        Scheme.QMAS, CaseStatus.EXTENSION_REQUESTED, _sweep_then_grant,
        {K.STAY_END: C.MOVED, K.EXTENSION_WINDOW: C.MET}),
    # Cancelled: the case ended.
    "withdrawn": Closing(Scheme.GEP_PRO, CaseStatus.VISA_ISSUED, _step("withdraw"),
                         {K.ENTRY: C.CASE_ENDED}),
    "closed": Closing(Scheme.QMAS, CaseStatus.IN_STAY, _step("close"), {
        K.JOB_OFFER: C.CASE_ENDED, K.STAY_END: C.CASE_ENDED, K.EXTENSION_WINDOW: C.CASE_ENDED}),
    "lapsed-by-hand": Closing(Scheme.GEP_PRO, CaseStatus.IN_STAY, _step("lapse"), {
        K.STAY_END: C.CASE_ENDED, K.EXTENSION_WINDOW: C.CASE_ENDED}),
    # The sweep, in bulk: the window's day came (met), the stay end passed (missed) and the
    # case lapsed, so the missed stay end is nobody's work any more.
    "lapsed-by-the-sweep": Closing(
        Scheme.GEP_PRO, CaseStatus.IN_STAY, _sweep(lambda c: c.stay_ends_on + timedelta(days=1)),
        {K.STAY_END: C.CASE_ENDED, K.EXTENSION_WINDOW: C.MET}),
    # Missed and still someone's work: the notification is still true.
    "missed-while-the-request-waits": Closing(
        Scheme.QMAS, CaseStatus.EXTENSION_REQUESTED,
        _sweep(lambda c: c.stay_ends_on + timedelta(days=1)),
        {K.STAY_END: None, K.EXTENSION_WINDOW: C.MET}),
}


@pytest.mark.parametrize("closing", CLOSINGS.values(), ids=CLOSINGS.keys())
def test_an_unread_notification_is_resolved_when_its_deadline_closes(
        db, caseworker, closing: Closing):
    case = make_case(caseworker, closing.scheme, closing.status, now=NOW)
    deadlines = open_deadlines(case)
    assert set(deadlines) == set(closing.expected)
    unread = {kind: notified(caseworker, d).id for kind, d in deadlines.items()}
    read = {kind: notified(caseworker, d, read=True, offset=30).id
            for kind, d in deadlines.items()}
    db.session.commit()
    assert services.unread_count(caseworker.id) == len(deadlines)

    at = closing.act(case, caseworker)
    db.session.commit()

    assert {kind: state_of(unread[kind]) for kind in deadlines} == {
        kind: (False, why, at if why else None) for kind, why in closing.expected.items()}
    assert {kind: state_of(read[kind]) for kind in deadlines} == {
        kind: (True, None, None) for kind in deadlines}
    assert services.unread_count(caseworker.id) == sum(
        why is None for why in closing.expected.values())


def test_the_resolution_is_part_of_the_change_that_closes_the_deadline(db, caseworker):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.IN_STAY, now=NOW)
    note = notified(caseworker, open_deadlines(case)[K.JOB_OFFER])
    db.session.commit()
    stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    db.session.flush()  # not committed: the job offer and the resolution go together
    assert services.unread_count(caseworker.id) == 0
    db.session.rollback()
    assert state_of(note.id) == (False, None, None)
    assert services.unread_count(caseworker.id) == 1


def test_the_sweep_resolves_every_lapsing_case_in_one_statement(db, caseworker, monkeypatch):
    """transition_in_bulk announces the deadlines of all the lapsing cases as one SELECT; the
    notifications of all of them are resolved by one UPDATE."""
    stays = [make_case(caseworker, Scheme.GEP_PRO, CaseStatus.IN_STAY, now=NOW)
             for _ in range(3)]
    notes = [notified(caseworker, open_deadlines(case)[K.STAY_END]) for case in stays]
    db.session.commit()
    calls: list[tuple[str, DeadlineClosure, int]] = []
    real_resolve = services.resolve_for_deadlines

    def counting(deadline_ids, closure, at=None) -> int:
        resolved = real_resolve(deadline_ids, closure, at)
        calls.append((type(deadline_ids).__name__, closure, resolved))
        return resolved

    monkeypatch.setattr(services, "resolve_for_deadlines", counting)
    day = stays[0].stay_ends_on + timedelta(days=1)
    assert deadline_sweep.sweep(day, now=hk_morning(day))["lapsed"] == 3
    db.session.commit()
    # Each announcement a SELECT, not a list of ids; the lapse's resolves all three at once.
    assert {kind for kind, _, _ in calls} == {"Select"}
    assert ("Select", C.CASE_ENDED, 3) in calls
    assert {state_of(n.id)[1] for n in notes} == {C.CASE_ENDED}


def test_another_users_notifications_of_other_deadlines_are_left_alone(db, caseworker,
                                                                       make_user):
    other = make_user(Role.CASEWORKER)
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.IN_STAY, now=NOW)
    elsewhere = make_case(other, Scheme.QMAS, CaseStatus.IN_STAY, now=NOW)
    mine = notified(caseworker, open_deadlines(case)[K.JOB_OFFER])
    theirs = notified(other, open_deadlines(elsewhere)[K.JOB_OFFER])
    db.session.commit()
    stay.record_job_offer(caseworker, case, OFFER, now=NOW)
    db.session.commit()
    assert state_of(mine.id)[1] == C.MET
    assert state_of(theirs.id) == (False, None, None)


def test_a_reminder_delivered_end_to_end_is_resolved_and_leaves_the_badge(
        db, client, as_role):
    """Planned, claimed and delivered by the worker's own functions; the job offer recorded on
    the case page's service meets the deadline; the badge counts it no more."""
    user = as_role(Role.CASEWORKER)
    case, _ = stay_case(user, TODAY + timedelta(days=20), K.STAY_END)
    plan(now=NOW)
    for reminder_id in claim(NOW):
        prepared = services.prepare([reminder_id])[reminder_id]
        if prepared.row.channel == Channel.IN_APP:
            services.deliver_prepared(prepared, now=NOW)
    db.session.commit()
    assert unread_badge(client.get("/notifications/").get_data(as_text=True)) == 1
    _correct_arrival(case, user)
    db.session.commit()
    html = client.get("/notifications/").get_data(as_text=True)
    assert not BADGE.search(html)
    assert "No longer due: the deadline moved to" in html


def test_a_deadline_closed_while_its_reminder_is_delivered_gets_no_notification(
        db, caseworker):
    """The dispatcher read the reminder while its deadline was open; the deadline closed (and
    the reminder was cancelled) before it wrote the notification: it writes none, so none is
    left unread and unresolved."""
    case, _ = stay_case(caseworker, TODAY + timedelta(days=20), K.STAY_END)
    plan(now=NOW)
    (in_app,) = db.session.scalars(select(Reminder).where(Reminder.channel == Channel.IN_APP))
    claim(NOW)
    prepared = services.prepare([in_app.id])[in_app.id]
    assert prepared.context is not None
    _correct_arrival(case, caseworker)
    db.session.commit()
    assert services.deliver_prepared(prepared, now=NOW) == ReminderState.CANCELLED
    db.session.commit()
    assert db.session.scalars(select(Notification)).all() == []
    db.session.refresh(in_app)
    assert in_app.state == ReminderState.CANCELLED


# --- The centre --------------------------------------------------------------------------------

def test_the_centre_shows_a_resolved_notification_muted_with_its_reason(db, client, as_role):
    user = as_role(Role.CASEWORKER)
    case = make_case(user, Scheme.GEP_PRO, CaseStatus.IN_STAY, now=NOW)
    deadlines = open_deadlines(case)
    stay_end, window = deadlines[K.STAY_END], deadlines[K.EXTENSION_WINDOW]
    old_end = stay_end.due_on
    moved = notified(user, stay_end)
    read = notified(user, stay_end, read=True, offset=30)
    still = notified(user, window)
    db.session.commit()
    _correct_arrival(case, user)
    db.session.commit()
    db.session.refresh(case)
    new_end = case.stay_ends_on

    html = client.get("/notifications/").get_data(as_text=True)
    assert unread_badge(html) == 0  # the window moved too
    unread, earlier = html.split("Read or no longer due")
    assert "Nothing unread." in unread and "Mark all as read" not in unread
    assert earlier.count(">Mark as read</button>") == 0
    # Muted, the reason in words under the title.
    assert earlier.count(f'<div class="text-body-secondary">No longer due: the deadline moved '
                         f'to {english_date(new_end)}.</div>') == 1
    assert "Unread:" not in html
    # The applicant and the due date of the deadline it was about.
    assert earlier.count("CHAN, Mei Ling (陳美玲)") == 3
    assert earlier.count(f"Due {english_date(old_end)}") == 2
    assert (state_of(moved.id)[1], state_of(read.id)[0], state_of(still.id)[1]) == (
        C.MOVED, True, C.MOVED)


@pytest.mark.parametrize(("closure", "kind", "moved_to", "status", "words"), [
    (C.MET, K.JOB_OFFER, None, None, "Done: the deadline was met."),
    (C.MET, K.EXTENSION_WINDOW, None, None, "Done: the extension window has opened."),
    (C.MOVED, K.STAY_END, date(2028, 3, 15), None,
     "No longer due: the deadline moved to 15 Mar 2028."),
    (C.MOVED, K.STAY_END, None, None, "No longer due: the deadline's date changed."),
    (C.DROPPED, K.JOB_OFFER, None, None,
     "No longer due: the deadline no longer applies to this case."),
    (C.CASE_ENDED, K.ENTRY, None, CaseStatus.WITHDRAWN,
     "No longer due: the case has ended (Withdrawn)."),
    (C.CASE_ENDED, K.STAY_END, None, CaseStatus.LAPSED,
     "No longer due: the case has ended (Lapsed)."),
])
@pytest.mark.one_backend
def test_the_reason_in_words(app, closure, kind, moved_to, status, words):
    with app.test_request_context():
        assert services.resolution_text(closure, kind, moved_to, status) == words


def test_the_centre_orders_by_due_date_then_newest(db, client, as_role):
    user = as_role(Role.CASEWORKER)
    far, near, middle = (stay_case(user, TODAY + timedelta(days=days), K.STAY_END)[1]
                         for days in (60, 5, 20))
    for title, deadline, offset, at, read in [
            ("Far unread", far, 7, NOW, False),
            ("Near unread older", near, 30, NOW - timedelta(days=2), False),
            ("Near unread newer", near, 7, NOW, False),
            ("Middle unread", middle, 7, NOW, False),
            ("Far read", far, 30, NOW, True),
            ("Near read", near, 14, NOW, True)]:
        notified(user, deadline, offset=offset, at=at, read=read).title = title
    db.session.commit()
    centre = services.notifications_for(user.id)
    assert [item.due_on for item in centre.unread] == [
        near.due_on, near.due_on, middle.due_on, far.due_on]
    assert [item.created_at for item in centre.unread[:2]] == [NOW, NOW - timedelta(days=2)]
    assert [item.due_on for item in centre.earlier] == [near.due_on, far.due_on]
    html = client.get("/notifications/").get_data(as_text=True)
    dates = [f"Due {english_date(d.due_on)}" for d in (near, middle, far, near, far)]
    positions, start = [], 0
    for words in dates:
        start = html.index(words, start)
        positions.append(start)
    assert positions == sorted(positions)


# --- Marking read ------------------------------------------------------------------------------

def _three(user: User) -> tuple[Notification, Notification, Notification]:
    """An unread, a read and a resolved notification of ``user``."""
    _, deadline = stay_case(user, TODAY + timedelta(days=20), K.STAY_END)
    _, ended = stay_case(user, TODAY + timedelta(days=30), K.STAY_END)
    unread = notified(user, deadline)
    read = notified(user, deadline, offset=30, read=True)
    resolved = notified(user, ended)
    services.resolve_for_deadlines([ended.id], C.CASE_ENDED, NOW)
    _db.session.commit()
    return unread, read, resolved


def test_marking_one_read_says_so_and_leaves_the_others(db, client, as_role):
    user = as_role(Role.CASEWORKER)
    unread, read, resolved = _three(user)
    assert services.unread_count(user.id) == 1
    response = client.post_form(f"/notifications/{unread.id}/read",
                                token_from="/notifications/")
    assert (response.status_code, response.headers["Location"]) == (302, "/notifications/")
    html = client.get("/notifications/").get_data(as_text=True)
    assert "1 notification marked as read." in html
    assert unread_badge(html) == 0
    assert [state_of(n.id)[:2] for n in (unread, read, resolved)] == [
        (True, None), (True, None), (False, C.CASE_ENDED)]


def test_a_resolved_notification_is_not_marked_read(db, client, as_role):
    user = as_role(Role.CASEWORKER)
    _, _, resolved = _three(user)
    response = client.post_form(f"/notifications/{resolved.id}/read",
                                token_from="/notifications/", follow_redirects=True)
    assert "0 notifications marked as read." in response.get_data(as_text=True)
    assert state_of(resolved.id)[:2] == (False, C.CASE_ENDED)


def test_marking_all_read_counts_only_the_unread(db, client, as_role, make_user):
    user = as_role(Role.CASEWORKER)
    unread, read, resolved = _three(user)
    (theirs, *_) = _three(make_user(Role.CASEWORKER))
    response = client.post_form("/notifications/read-all", token_from="/notifications/",
                                follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "1 notification marked as read." in html
    assert unread_badge(html) == 0
    assert [state_of(n.id)[:2] for n in (unread, read, resolved, theirs)] == [
        (True, None), (True, None), (False, C.CASE_ENDED), (False, None)]


@pytest.mark.parametrize("whose", ["someone else's", "nobody's"])
def test_marking_a_notification_that_is_not_yours_is_not_found(db, client, as_role, make_user,
                                                                whose):
    as_role(Role.CASEWORKER)
    (theirs, *_) = _three(make_user(Role.CASEWORKER))
    target = theirs.id if whose == "someone else's" else 987654
    response = client.post_form(f"/notifications/{target}/read", token_from="/notifications/")
    assert response.status_code == 404
    assert state_of(theirs.id) == (False, None, None)


# --- The badge's query ---------------------------------------------------------------------------

def test_the_badge_reads_only_its_index(app, db, caseworker):
    """One indexed lookup per page, whatever the user's history holds."""
    sql = str(services._UNREAD_COUNT)
    if app.config["BACKEND"] == "sqlite":
        plan_rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}"),
                                       {"user_id": caseworker.id}).all()
        details = " ".join(row[-1] for row in plan_rows)
        assert ("SEARCH notifications USING COVERING INDEX "
                "ix_notifications_user_id_read_at_resolved_at "
                "(user_id=? AND read_at=? AND resolved_at=?)") in details
    else:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny test table
        details = " ".join(db.session.scalars(text(f"EXPLAIN {sql}"),
                                              {"user_id": caseworker.id}))
        assert "Index Only Scan using ix_notifications_user_id_read_at_resolved_at" in details
        assert "(read_at IS NULL) AND (resolved_at IS NULL)" in details
    db.session.rollback()


def test_an_escalation_is_resolved_with_its_deadline(db, caseworker, make_user):
    """A supervisor's missed-deadline escalation is done with once the case ends."""
    supervisor = make_user(Role.SUPERVISOR)
    case, deadline = stay_case(caseworker, TODAY - timedelta(days=1), K.STAY_END)
    deadline.state, deadline.closed_at = DeadlineState.MISSED, NOW
    escalation = notified(supervisor, deadline, offset=ESCALATION)
    db.session.commit()
    cases.transition(case, "close", caseworker, reason="Left Hong Kong.", now=NOW)
    db.session.commit()
    assert state_of(escalation.id) == (False, C.CASE_ENDED, NOW)


# --- The migration ------------------------------------------------------------------------------

@pytest.mark.one_backend  # on a scratch SQLite database, as tests/test_migrations.py
def test_the_migration_resolves_the_unread_notifications_of_deadlines_already_closed(
        app, tmp_path):
    """b2c3d4e5f6a7: notifications delivered before it, whose deadlines have closed since,
    are resolved with what the deadline rows tell; read ones and open deadlines' are not."""
    from flask_migrate import downgrade, upgrade

    from backoffice.auth import services as accounts
    from tests.conftest import build_app

    scratch = build_app(f"sqlite:///{tmp_path / 'scratch.sqlite3'}", tmp_path)
    with scratch.app_context():
        upgrade()
        worker = accounts.create_user(None, email="cw@example.org", full_name="Case Worker",
                                      role=Role.CASEWORKER, password="a long enough password")
        corrected = make_case(worker, Scheme.GEP_PRO, CaseStatus.IN_STAY, now=NOW)
        before = open_deadlines(corrected)
        _correct_arrival(corrected, worker)
        arrived = make_case(worker, Scheme.GEP_PRO, CaseStatus.VISA_ISSUED, now=NOW)
        entry = open_deadlines(arrived)[K.ENTRY]
        _arrive(arrived, worker)
        withdrawn = make_case(worker, Scheme.GEP_PRO, CaseStatus.VISA_ISSUED, now=NOW)
        withdrawn_entry = open_deadlines(withdrawn)[K.ENTRY]
        _step("withdraw")(withdrawn, worker)
        lapsed = make_case(worker, Scheme.GEP_PRO, CaseStatus.IN_STAY, now=NOW)
        lapsed_end = open_deadlines(lapsed)[K.STAY_END]
        _sweep(lambda c: c.stay_ends_on + timedelta(days=1))(lapsed, worker)
        still_open = open_deadlines(corrected)[K.STAY_END]
        _db.session.commit()
        # Delivered before the migration: nothing resolved them when their deadlines closed.
        rows = [("moved", before[K.STAY_END], False, 7),
                ("window moved", before[K.EXTENSION_WINDOW], False, 7),
                ("met", entry, False, 7), ("read", entry, True, 30),
                ("ended", withdrawn_entry, False, 7), ("missed, then lapsed", lapsed_end, False, 7),
                ("open", still_open, False, 7)]
        notes = {name: notified(worker, deadline, read=read, offset=offset).id
                 for name, deadline, read, offset in rows}
        closed_at = {name: deadline.closed_at for name, deadline, _, _ in rows}
        _db.session.commit()
        _db.session.remove()
        downgrade(revision="b2c3d4e5f6a7-1")
        upgrade()
        assert {name: state_of(note_id) for name, note_id in notes.items()} == {
            "moved": (False, C.MOVED, closed_at["moved"]),
            "window moved": (False, C.MOVED, closed_at["window moved"]),
            "met": (False, C.MET, closed_at["met"]),
            "read": (True, None, None),
            "ended": (False, C.CASE_ENDED, closed_at["ended"]),
            "missed, then lapsed": (False, C.CASE_ENDED, closed_at["missed, then lapsed"]),
            "open": (False, None, None),
        }
        _db.session.remove()
        _db.engine.dispose()

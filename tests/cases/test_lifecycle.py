"""The one status path: a step's own guards and effects, the same step taken set-based, and
the signals both forms send."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backoffice.auth.models import Role
from backoffice.cases import deadline_sweep, lifecycle, services, signals
from backoffice.cases.events import describe_event
from backoffice.cases.models import Case, CaseEvent, Deadline, DeadlineState, EventKind
from backoffice.cases.schemes import (
    POLICIES,
    CaseStatus,
    Effect,
    Guard,
    PolicyError,
    Scheme,
    register,
)
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from tests.cases.factories import make_case
from tests.conftest import build_app

S = CaseStatus
AT = datetime(2030, 6, 1, 2, 0, tzinfo=UTC)


def transition_events(case_id: int) -> list[tuple]:
    return [(e.kind, e.transition, e.from_status, e.to_status, e.actor_id, e.reason, e.detail)
            for e in _db.session.scalars(select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.TRANSITION)
                .order_by(CaseEvent.id))]


# --- The steps carry their guards and effects ---------------------------------------------

@pytest.mark.parametrize(("name", "guards", "effects"), [
    ("submit", (Guard.ELIGIBLE,), (Effect.JUDGE_SUBMISSION,)),
    ("approve", (Guard.ONE_QUOTA_PLACE, Guard.DOCUMENTS_COMPLETE), (Effect.TAKE_QUOTA_PLACE,)),
    ("issue_visa", (Guard.VISA_DETAILS,), (Effect.RECORD_VISA,)),
    ("record_arrival", (Guard.ARRIVAL_DATE,), (Effect.START_STAY,)),
    ("request_extension", (Guard.EXTENSION_WINDOW, Guard.EXTENSION_REQUEST),
     (Effect.RECORD_EXTENSION_REQUEST,)),
    ("grant_extension", (Guard.EXTENSION_GRANT,), (Effect.EXTEND_STAY,)),
    ("refuse_ineligible", (Guard.INELIGIBLE,), (Effect.RECEIVE, Effect.RECORD_GROUNDS)),
    ("withdraw", (), (Effect.GIVE_BACK_QUOTA_PLACE,)),
    ("lapse", (), (Effect.GIVE_BACK_QUOTA_PLACE,)),
    ("close", (), ()),
])
def test_qmas_steps_declare_what_they_check_and_do(name, guards, effects):
    step = POLICIES[Scheme.QMAS][0].transition(name)
    assert (step.guards, step.effects) == (guards, effects)


def test_only_quota_schemes_take_and_give_back_places():
    for scheme in (Scheme.GEP_ENT, Scheme.GEP_PRO, Scheme.ASSG):
        policy = POLICIES[scheme][0]
        assert all(Effect.TAKE_QUOTA_PLACE not in t.effects
                   and Effect.GIVE_BACK_QUOTA_PLACE not in t.effects
                   for t in policy.transitions), scheme
        assert policy.transition("approve").when_quota_full is None


def test_every_guard_and_effect_has_an_implementation():
    assert set(lifecycle._GUARDS) == set(Guard)
    assert set(lifecycle._EFFECTS) == set(Effect)


def test_a_policy_version_with_another_effect_needs_no_change_to_the_service(db, caseworker):
    """Rules are data: a version whose arrival step also extends the stay is run as declared."""
    case = make_case(caseworker, Scheme.ASSG, S.VISA_ISSUED, now=AT)
    base = POLICIES[Scheme.ASSG][0]
    arrival = base.transition("record_arrival")
    generous = dataclasses.replace(
        base, version="test-generous", effective_from=case.submitted_on,
        transitions=tuple(dataclasses.replace(t, effects=(Effect.START_STAY, Effect.EXTEND_STAY))
                          if t is arrival else t for t in base.transitions))
    original = dict(POLICIES)
    register(generous, POLICIES)
    try:
        assert case.policy is generous
        services.transition(case, "record_arrival", caseworker, on=date(2030, 6, 1), now=AT)
    finally:
        POLICIES.clear()
        POLICIES.update(original)
    # 24 months from the arrival, then one extension of the policy's 24 months (none was
    # asked for) from the end of the initial stay.
    assert (case.stay_ends_on, case.extensions_granted, case.extension_months_total) == (
        date(2034, 6, 1), 1, 24)
    last = _db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                               .order_by(CaseEvent.id.desc())).first()
    assert last.detail_data == {"key": "several", "parts": [
        {"key": "arrived", "arrived_on": "2030-06-01", "stay_ends_on": "2032-06-01"},
        {"key": "stay_extended", "stay_ends_on": "2034-06-01", "was": "2032-06-01",
         "months": 24}]}
    assert describe_event(last) == ("Arrived on 1 Jun 2030; the stay ends on 1 Jun 2032. "
                                    "Stay extended by 24 months, to 1 Jun 2034 (was "
                                    "1 Jun 2032).")


# --- The same step, set-based -------------------------------------------------------------

def test_a_bulk_lapse_writes_what_a_single_lapse_writes(db, caseworker):
    by_hand = make_case(caseworker, Scheme.QMAS, S.IN_STAY, now=AT)
    swept = make_case(caseworker, Scheme.QMAS, S.IN_STAY, now=AT)
    db.session.commit()
    system = None
    services.transition(by_hand, "lapse", caseworker, now=AT)
    moved = lifecycle.transition_in_bulk("lapse", Case.id == swept.id, now=AT)
    db.session.commit()
    db.session.expire_all()
    assert moved == 1
    hand, bulk = db.session.get(Case, by_hand.id), db.session.get(Case, swept.id)
    assert (bulk.status, bulk.ended_at) == (hand.status, hand.ended_at) == (S.LAPSED, AT)
    (hand_event,), (bulk_event,) = transition_events(hand.id)[-1:], transition_events(bulk.id)[-1:]
    assert hand_event[:4] == bulk_event[:4] == (EventKind.TRANSITION, "lapse", S.IN_STAY,
                                                S.LAPSED)
    assert (hand_event[4], bulk_event[4]) == (caseworker.id, system)
    assert [(d.state, d.outstanding) for d in hand.deadlines] == [
        (d.state, d.outstanding) for d in bulk.deadlines]
    assert all(not d.outstanding for d in bulk.deadlines)


def test_a_bulk_lapse_before_arrival_gives_the_quota_place_back(db, caseworker, make_user):
    supervisor = make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", 2030, 5)
    approved = make_case(caseworker, Scheme.QMAS, S.APPROVED, now=AT)
    arrived = make_case(caseworker, Scheme.QMAS, S.IN_STAY, now=AT)
    db.session.commit()
    assert quota.get_period("QMAS", 2030).allocated == 2
    moved = lifecycle.transition_in_bulk("lapse", Case.id.in_([approved.id, arrived.id]),
                                         now=AT + timedelta(days=1))
    db.session.commit()
    assert moved == 2
    db.session.expire_all()
    # The approval not taken up gives its place back; the one used by an arrival does not.
    assert quota.get_period("QMAS", 2030).allocated == 1


def test_a_bulk_step_chooses_only_cases_its_definition_allows(db, caseworker):
    draft = make_case(caseworker, Scheme.GEP_PRO, S.DRAFT, now=AT)
    db.session.commit()
    assert lifecycle.transition_in_bulk("lapse", Case.id == draft.id, now=AT) == 0
    db.session.expire_all()
    assert db.session.get(Case, draft.id).status == S.DRAFT
    assert transition_events(draft.id) == []


@pytest.mark.parametrize(("name", "reason", "refusal"), [
    ("submit", None, "guards that must be checked case by case"),
    ("approve", None, "does not end the case"),
    ("record_arrival", None, "guards"),
    ("refuse", None, "it needs a reason"),
])
def test_steps_that_need_a_case_by_case_look_are_refused_in_bulk(db, name, reason, refusal):
    with pytest.raises(PolicyError, match=refusal):
        lifecycle.transition_in_bulk(name, Case.id == -1, reason=reason, now=AT)


def test_both_forms_send_the_same_signals(db, caseworker):
    heard: list[tuple[str, list[int]]] = []

    def ids(value) -> list[int]:
        return sorted(value if isinstance(value, list) else _db.session.scalars(value))

    def on_status(step, case_ids, **_):
        heard.append((f"status:{step.name}", ids(case_ids)))

    def on_deadlines(_sender, deadline_ids, **_):
        heard.append(("deadlines", ids(deadline_ids)))

    by_hand = make_case(caseworker, Scheme.GEP_PRO, S.IN_STAY, now=AT)
    swept = make_case(caseworker, Scheme.GEP_PRO, S.IN_STAY, now=AT)
    db.session.commit()
    open_ids = {c.id: sorted(d.id for d in c.open_deadlines) for c in (by_hand, swept)}
    with signals.case_status_changed.connected_to(on_status), \
            signals.deadline_closed.connected_to(on_deadlines):
        services.transition(by_hand, "lapse", caseworker, now=AT)
        hand_heard, heard[:] = list(heard), []
        lifecycle.transition_in_bulk("lapse", Case.id == swept.id, now=AT)
    # One signal per closed deadline by hand, one for all of them in bulk.
    assert sorted(i for kind, found in hand_heard if kind == "deadlines" for i in found) == \
        open_ids[by_hand.id]
    assert hand_heard[-1] == ("status:lapse", [by_hand.id])
    # (A definition of the step that chose no case may announce an empty set.)
    assert [(kind, found) for kind, found in heard if found] == [
        ("deadlines", open_ids[swept.id]), ("status:lapse", [swept.id])]


# --- Two sweeps at once -----------------------------------------------------------------------

@pytest.fixture
def second_app(app, tmp_path):
    engine_options = {}
    if app.config["BACKEND"] == "sqlite":
        engine_options = {"connect_args": {"check_same_thread": False, "timeout": 60}}
    other = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                      SQLALCHEMY_ENGINE_OPTIONS=engine_options)
    yield other
    with other.app_context():
        _db.engine.dispose()


def test_two_sweeps_at_once_lapse_each_stay_once(second_app, db, caseworker):
    ended = [make_case(caseworker, scheme, S.IN_STAY, now=AT)
             for scheme in (Scheme.QMAS, Scheme.GEP_ENT, Scheme.ASSG) for _ in range(4)]
    db.session.commit()
    sweep_day = max(c.stay_ends_on for c in ended) + timedelta(days=1)
    ids = [c.id for c in ended]
    db.session.rollback()  # reading the dates began a transaction: SQLite would lock it out
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run() -> None:
        with second_app.app_context():
            barrier.wait()
            try:
                results.append(deadline_sweep.sweep(sweep_day, now=AT + timedelta(days=800))
                               ["lapsed"])
                _db.session.commit()
            except Exception as exc:  # the assertion below shows it
                _db.session.rollback()
                results.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results, key=str) == [0, len(ended)]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id.in_(ids), CaseEvent.transition == "lapse")) == len(ended)
    assert {db.session.get(Case, i).status for i in ids} == {S.LAPSED}
    assert db.session.scalar(select(func.count()).select_from(Deadline).where(
        Deadline.case_id.in_(ids), Deadline.state == DeadlineState.OPEN)) == 0

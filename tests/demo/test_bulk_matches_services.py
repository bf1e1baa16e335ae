"""The bulk loader writes what the services would have written.

A few hundred bulk cases (a fixed seed) are loaded; then the very same plans (applicant,
facts, dependants, who works the case, and its road of steps with their moments, reasons,
arrival dates and job offers) are replayed through the services: ``create_case``,
``add_dependant``, ``transition(..., now=...)``, ``stay.record_job_offer`` and ``reassign``.
Each bulk case is compared with its twin (by position) field by field: the case's status,
stamps and stay, its events, deadlines, job offers and quota places, and the periods' counts.
The cases of the current year's plan (``demo.year``) come last and are compared the same way;
the year's limit is set low for the load so that they are few.

The bulk writes no "assigned" and "dependant added" events (see ``backoffice.demo.bulk``);
the twin's are left out of the comparison, and nothing else is.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update

from backoffice.auth.models import Role
from backoffice.cases import services, stay
from backoffice.cases.models import (
    Applicant,
    Case,
    CaseEvent,
    Deadline,
    DeadlineState,
    Dependant,
    EventKind,
    JobOffer,
)
from backoffice.cases.schemes import CaseStatus
from backoffice.core.dates import hk_today
from backoffice.demo import bulk
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaAllocation, QuotaPeriod
from tests.cases.factories import receive_documents

N, SEED, CHUNK = 300, 4242, 120
YEAR_LIMIT = 60  # the current year's limit for the load: about 40 planned places

CASE_FIELDS = (
    "scheme", "status", "assignee_id", "created_by_id", "created_at", "submitted_on",
    "policy_version", "favourable_consideration", "business_plan", "programme", "job_employer",
    "job_post", "job_salary", "job_relevance", "job_local_unavailability", "has_hk_parent",
    "emigrated_overseas", "submitted_at", "review_started_at", "approved_on", "visa_issued_on",
    "refused_at", "withdrawn_at", "ended_at", "arrived_on", "stay_ends_on",
    "stay_initial_months", "stay_extension_months", "extension_window_days",
    "job_offer_needed_to_extend", "extensions_granted", "visa_number", "visa_valid_until",
    "extension_months_total", "extension_requested_on", "extension_months_requested",
    "extension_grounds", "status_since")
APPLICANT_FIELDS = (
    "family_name", "given_names", "chinese_name", "date_of_birth", "nationality",
    "passport_number", "hkid", "email", "phone", "email_consent", "name_search",
    "passport_key", "name_key")
# The bulk loader writes no documents (demo/rows.py): a bulk case's checklist is not counted.
NOT_WRITTEN_BY_BULK = (EventKind.ASSIGNED, EventKind.DEPENDANT_ADDED, EventKind.DOCUMENT)


def through_services(db, plan: bulk.CasePlan, users: dict, supervisor) -> Case:
    worker = users[plan.creator]
    case = services.create_case(worker, plan.scheme, plan.applicant, plan.facts,
                                today=plan.created_on)
    case.created_at = plan.created_at
    created = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
    created.at = plan.created_at
    for relation, identity, married in plan.dependants:
        services.add_dependant(worker, case, relation, identity, married,
                               expected_version=case.version, today=plan.created_on)
    for move in plan.road:
        if move.offer is not None:
            stay.record_job_offer(worker, case, move.offer, now=move.at)
        else:
            if move.name == "approve":
                receive_documents(worker, case, hk_today(move.at))
            services.transition(case, move.name, worker, reason=move.reason, now=move.at,
                                data=move.data)
    if plan.assignee is None:
        services.reassign(supervisor, [case], None)
    return case


def snapshot(db, case_id: int) -> dict:
    """Everything compared about one case, without ids and references."""
    case = db.session.get(Case, case_id)
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.id))
    deadlines = db.session.scalars(select(Deadline).where(Deadline.case_id == case_id))
    offers = db.session.scalars(select(JobOffer).where(JobOffer.case_id == case_id)
                                .order_by(JobOffer.id))
    places = db.session.execute(
        select(QuotaAllocation, QuotaPeriod.year).join(QuotaPeriod)
        .where(QuotaAllocation.case_id == case_id).order_by(QuotaAllocation.id))
    return {
        **{f"case.{name}": getattr(case, name) for name in CASE_FIELDS},
        **{f"applicant.{name}": getattr(case.applicant, name) for name in APPLICANT_FIELDS},
        "dependants": [(d.relation, d.family_name, d.given_names, d.date_of_birth, d.married,
                        d.passport_key, d.name_key) for d in case.dependants],
        # The job offer an extension request rests on, by what it is (ids differ).
        "extension_job_offer": next(((j.employer, j.post, j.start_date) for j in case.job_offers
                                     if j.id == case.extension_job_offer_id), None),
        "events": [(e.kind, e.transition, e.from_status, e.to_status, e.reason, e.detail,
                    e.detail_data, e.at, e.actor_id, e.occurred_on)
                   for e in events if e.kind not in NOT_WRITTEN_BY_BULK],
        "deadlines": sorted((d.kind, d.due_on, d.state, d.outstanding, d.closed_at)
                            for d in deadlines),
        "job_offers": [(j.employer, j.post, j.salary, j.start_date, j.recorded_at,
                        j.recorded_by_id) for j in offers],
        "places": [(year, a.allocated_on,
                    a.allocated_at, a.nationality, a.allocated_by_id, a.released_at is None,
                    a.released_at, a.released_by_id, a.release_step,
                     a.release_reason)
                   for a, year in places],
    }


def active_places_by_year(db, case_ids) -> Counter:
    return Counter(db.session.scalars(
        select(QuotaPeriod.year).join(QuotaAllocation)
        .where(QuotaAllocation.case_id.in_(case_ids), QuotaAllocation.released_at.is_(None))))


def test_bulk_cases_match_the_same_cases_made_through_the_services(db, make_user):
    supervisor = make_user(Role.SUPERVISOR)
    workers = [make_user(Role.CASEWORKER) for _ in range(3)]
    users = {w.id: w for w in workers}
    today = hk_today()
    for year in range(today.year - 6, today.year):
        quota.set_limit(supervisor, "QMAS", year, 4000, note="Comparison test")
    quota.set_limit(supervisor, "QMAS", today.year, YEAR_LIMIT, note="Comparison test")
    db.session.commit()

    result = bulk.bulk_load_cases(N, list(users), supervisor=supervisor, seed=SEED,
                                  chunk_size=CHUNK, today=today)
    db.session.commit()
    bulk_ids = list(db.session.scalars(select(Case.id).order_by(Case.id)))
    year = result.year
    assert result.cases == len(bulk_ids) == N + len(year.approvals) + len(year.waiting)
    assert year.waiting
    held = active_places_by_year(db, bulk_ids)
    periods = {p.year: p for p in db.session.scalars(select(QuotaPeriod))}
    assert {year: p.allocated for year, p in periods.items() if p.allocated} == dict(held)

    # Each twin is the same person as its bulk case: the bulk cases are compared as loaded,
    # then their people are made unrecognisable, so the twins are not refused as duplicates
    # (nor their approvals as a second quota place).
    loaded_cases = [snapshot(db, bulk_id) for bulk_id in bulk_ids]
    hidden = {"passport_key": None, "name_key": None, "hkid": None}
    db.session.execute(update(Applicant).where(Applicant.id.in_(
        select(Case.applicant_id).where(Case.id.in_(bulk_ids)))).values(hidden))
    db.session.execute(update(Dependant).where(Dependant.case_id.in_(bulk_ids)).values(hidden))
    db.session.commit()

    # Room for the twins' places: the limit is the quota's business, not the rows'.
    quota.set_limit(supervisor, "QMAS", today.year, 4000, note="Comparison test")
    db.session.commit()
    plans = list(bulk.plans(N, list(users), seed=SEED, chunk_size=CHUNK, today=today,
                            year=year))
    twin_ids = [through_services(db, plan, users, supervisor).id for plan in plans]
    db.session.commit()

    mismatches = []
    for position, (loaded, twin_id) in enumerate(zip(loaded_cases, twin_ids, strict=True)):
        made = snapshot(db, twin_id)
        mismatches += [(position, key, loaded[key], made[key]) for key in loaded
                       if loaded[key] != made[key]]
    assert not mismatches, "\n".join(map(repr, mismatches[:20]))

    # The periods count both sets' places, and each set holds the same number per year.
    assert active_places_by_year(db, twin_ids) == held
    for period in db.session.scalars(select(QuotaPeriod)):
        db.session.refresh(period)
        assert period.allocated == 2 * held[period.year]

    # The sample is rich enough to have exercised every rule compared above.
    cases = [db.session.get(Case, case_id) for case_id in bulk_ids]
    assert len({case.status for case in cases}) >= 10
    assert any(case.extensions_granted for case in cases)
    assert any(case.status == CaseStatus.IN_STAY and case.job_offers for case in cases)
    states = Counter(d.state for case in cases for d in case.deadlines)
    assert states[DeadlineState.OPEN] and states[DeadlineState.MET] and \
        states[DeadlineState.CANCELLED]
    released = db.session.scalar(select(QuotaAllocation).where(
        QuotaAllocation.case_id.in_(bulk_ids), QuotaAllocation.released_at.is_not(None)))
    assert released is not None

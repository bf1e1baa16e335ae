"""A draft's change of scheme (``services.change_scheme``): every refusal changes nothing and
says why; a change re-judges the whole case under the new scheme, gives it a new reference
of that scheme (in the year of its old one), keeps the old one findable, records both in
the history with the reason and the facts set or cleared, moves the status counts and the
version, and lays out the new scheme's documents. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from backoffice.auth.models import Role, User
from backoffice.cases import counts, events, queries, search, services
from backoffice.cases.models import Case, CaseEvent, EventKind, FormerReference
from backoffice.cases.queries import Filters, Queue
from backoffice.cases.schemes import CaseStatus, GovernmentProgramme, Scheme
from backoffice.core.i18n import force_language
from backoffice.documents import services as documents
from backoffice.extensions import db as _db
from tests.cases.factories import (
    NOW,
    SUBMITTED_ON,
    TODAY,
    case_facts,
    make_case,
)

REASON = "The applicant applied on the wrong form: the job offer was attached."


def facts_for(scheme: Scheme, **overrides) -> services.CaseFacts:
    """The scheme facts a change to ``scheme`` is given: the ones the factories' case of that
    scheme has, every other scheme's cleared (as the form sends them)."""
    return case_facts(scheme, **overrides)


def change(actor, case, scheme: Scheme | str, facts: services.CaseFacts | None = None, *,
           reason: str | None = REASON, version: int | None = None) -> CaseEvent:
    return services.change_scheme(
        actor, case, scheme, facts if facts is not None else facts_for(Scheme(scheme)),
        reason, case.version if version is None else version, today=TODAY, now=NOW)


def state(case: Case) -> tuple:
    """What a refusal must leave as it was: the case's row, its history, the references
    kept and every count."""
    _db.session.rollback()
    _db.session.expire_all()
    return (case.scheme, case.reference, case.version, case.business_plan, case.job_employer,
            _db.session.scalar(select(func.count()).select_from(CaseEvent)
                               .where(CaseEvent.case_id == case.id)),
            _db.session.scalar(select(func.count()).select_from(FormerReference)),
            counts.counted_cases())


@pytest.fixture
def worker(make_user):
    return make_user(Role.CASEWORKER)


# --- Refusals ---------------------------------------------------------------------------------

def in_status(status: CaseStatus):
    def make(worker):
        return make_case(worker, Scheme.QMAS, status)
    return make


def draft(scheme: Scheme = Scheme.QMAS, **overrides):
    def make(worker):
        return make_case(worker, scheme, **overrides)
    return make


# (what, the case, the change asked, words the refusal says)
REFUSALS = [
    ("a submitted case", in_status(CaseStatus.SUBMITTED), {"scheme": Scheme.GEP_ENT},
     "Only a draft's scheme can be changed, and QMAS-2026-000001 is “Submitted”: a submitted "
     "application is judged under the scheme it was made for."),
    ("an ended case", in_status(CaseStatus.WITHDRAWN), {"scheme": Scheme.GEP_ENT},
     "This case was withdrawn; it can no longer be changed."),
    ("the same scheme", draft(), {"scheme": Scheme.QMAS},
     "QMAS-2026-000001 is already a QMAS case: choose another scheme."),
    ("a scheme that does not exist", draft(), {"scheme": "NOPE",
                                                    "facts": case_facts(Scheme.QMAS)},
     "There is no scheme with the code “NOPE”."),
    ("a stale form", draft(), {"scheme": Scheme.GEP_ENT, "version": 0},
     "This case was changed by someone else while you were working on it."),
    ("no reason", draft(), {"scheme": Scheme.GEP_ENT, "reason": None},
     "Give a reason for changing the scheme; it is recorded in the case history."),
    ("a blank reason", draft(), {"scheme": Scheme.GEP_ENT, "reason": " \n "},
     "Give a reason for changing the scheme"),
    ("a reason too long", draft(), {"scheme": Scheme.GEP_ENT, "reason": "R" * 2001},
     "Keep the reason for changing the scheme to 2,000 characters (it has 2,001)."),
    ("another submission date", draft(),
     {"scheme": Scheme.GEP_ENT,
      "facts": case_facts(Scheme.GEP_ENT, submitted_on=date(2026, 3, 1))},
     "A change of scheme keeps the submission date; change the date by editing the case."),
    # The new scheme's facts, missing or wrong: the whole case judged as the scheme would.
    ("no business plan", draft(),
     {"scheme": Scheme.GEP_ENT, "facts": case_facts(Scheme.QMAS)},
     "The case cannot move to GEP (Entrepreneurs) as it stands: A business plan is required "
     "for the General Employment Policy – Entrepreneur Scheme."),  # noqa: RUF001
    ("a job offer in part", draft(),
     {"scheme": Scheme.GEP_PRO,
      "facts": case_facts(Scheme.GEP_PRO, job_employer=None, job_salary=None)},
     "The case cannot move to GEP (Professionals) as it stands: GEP (Professionals) requires "
     "a confirmed job offer; missing: employer, salary."),
    ("a salary of nothing", draft(),
     {"scheme": Scheme.GEP_PRO, "facts": case_facts(Scheme.GEP_PRO, job_salary=Decimal(0))},
     "The offered salary must be more than zero."),
    ("no family background", draft(),
     {"scheme": Scheme.ASSG, "facts": case_facts(Scheme.ASSG, emigrated_overseas=False)},
     "The case cannot move to ASSG as it stands: ASSG requires the applicant to have "
     "emigrated overseas."),
    # Who the applicant is: what the old scheme allowed, the new one may not.
    ("too old for ASSG", draft(date_of_birth=date(1980, 1, 1)),
     {"scheme": Scheme.ASSG},
     "The case cannot move to ASSG as it stands: ASSG applicants must be 18 to 40 on the "
     "submission date; the applicant turned 41 on 1 Jan 2021."),
    ("an excluded nationality", draft(nationality="VN"), {"scheme": Scheme.GEP_ENT},
     "Nationals of Vietnam (VN) cannot apply under the General Employment Policy – "  # noqa: RUF001
     "Entrepreneur Scheme"),
    ("under 18 for QMAS", draft(Scheme.GEP_PRO, date_of_birth=date(2010, 1, 1)),
     {"scheme": Scheme.QMAS, "facts": case_facts(Scheme.QMAS)},
     "The case cannot move to QMAS as it stands:"),
]


@pytest.mark.parametrize(("make", "asked", "words"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_a_refused_change_says_why_and_changes_nothing(db, worker, make, asked, words):
    case = make(worker)
    before = state(case)
    with force_language("en"), pytest.raises(services.CaseError) as refused:
        change(worker, case, **asked)
    assert words in str(refused.value)
    assert state(case) == before


def test_only_the_assigned_caseworker_or_a_supervisor_may_change_it(db, worker, make_user):
    case = make_case(worker)
    colleague = make_user(Role.CASEWORKER)
    before = state(case)
    with pytest.raises(services.CaseError, match="Only the caseworker assigned to this case"):
        change(colleague, case, Scheme.GEP_ENT)
    assert state(case) == before
    boss = make_user(Role.SUPERVISOR)
    event = change(boss, case, Scheme.GEP_ENT)
    assert event.actor_id == boss.id and case.scheme == Scheme.GEP_ENT


def test_the_refusal_lists_every_problem_of_the_new_scheme(db, worker):
    """Each reason on its own too, for the page that lists them."""
    case = make_case(worker, date_of_birth=date(1980, 1, 1))
    with force_language("en"), pytest.raises(services.IneligibleForScheme) as refused:
        change(worker, case, Scheme.ASSG, case_facts(Scheme.QMAS))
    assert [str(p) for p in refused.value.problems] == [
        "ASSG applicants must be 18 to 40 on the submission date; the applicant turned 41 on "
        "1 Jan 2021.",
        "ASSG requires a parent who is a Chinese Hong Kong permanent resident.",
        "ASSG requires the applicant to have emigrated overseas.",
    ]


# --- A change made ----------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "after", "reference"), [
    (Scheme.QMAS, Scheme.GEP_ENT, "GEP_ENT-2026-000001"),
    (Scheme.QMAS, Scheme.GEP_PRO, "GEP_PRO-2026-000001"),
    (Scheme.QMAS, Scheme.ASSG, "ASSG-2026-000001"),
    (Scheme.GEP_PRO, Scheme.QMAS, "QMAS-2026-000001"),
    (Scheme.GEP_ENT, Scheme.GEP_PRO, "GEP_PRO-2026-000001"),
    (Scheme.ASSG, Scheme.GEP_ENT, "GEP_ENT-2026-000001"),
])
def test_a_draft_moves_to_the_new_scheme_with_a_new_reference(db, worker, before, after,
                                                              reference):
    case = make_case(worker, before)
    old_reference, version = case.reference, case.version
    assert old_reference == f"{before.value}-2026-000001"
    event = change(worker, case, after)
    _db.session.commit()
    _db.session.expire_all()
    assert (case.scheme, case.reference, case.status) == (after, reference, CaseStatus.DRAFT)
    assert case.version == version + 1
    assert event.kind == EventKind.SCHEME_CHANGED
    assert event.reason == REASON
    assert event.detail_data["from"] == before.value
    assert event.detail_data["to"] == after.value
    assert event.detail_data["from_reference"] == old_reference
    assert event.detail_data["to_reference"] == reference
    assert _db.session.get(FormerReference, old_reference).case_id == case.id
    assert counts.counted_cases() == {(after.value, "draft"): 1}


def test_the_new_reference_takes_the_next_number_of_its_scheme_in_the_old_ones_year(
        db, worker):
    """A case opened in 2025 keeps its year: it was not opened again."""
    make_case(worker, Scheme.GEP_ENT)  # GEP_ENT-2026-000001
    make_case(worker, Scheme.GEP_ENT, today=date(2025, 12, 30),
              submitted_on=date(2025, 12, 1))  # GEP_ENT-2025-000001
    this_year = make_case(worker)
    last_year = make_case(worker, today=date(2025, 12, 31), submitted_on=date(2025, 12, 2))
    assert (this_year.reference, last_year.reference) == ("QMAS-2026-000001", "QMAS-2025-000001")
    change(worker, this_year, Scheme.GEP_ENT)
    change(worker, last_year, Scheme.GEP_ENT,
           case_facts(Scheme.GEP_ENT, submitted_on=date(2025, 12, 2)))
    assert (this_year.reference, last_year.reference) == ("GEP_ENT-2026-000002",
                                                          "GEP_ENT-2025-000002")
    # The old numbers are not handed out again: the next QMAS case takes a new one.
    assert make_case(worker).reference == "QMAS-2026-000002"


def test_the_old_reference_still_finds_the_case(db, worker, make_user):
    """In the header search (saying why it matched) and in a queue's search box."""
    case = make_case(worker)
    old_reference = case.reference
    change(worker, case, Scheme.GEP_PRO)
    _db.session.commit()
    colleague = make_user(Role.CASEWORKER)
    found = search.search(colleague, old_reference)
    assert [(r.case.id, r.case.reference) for r in found.results] == [(case.id,
                                                                         case.reference)]
    with force_language("en"):
        assert [r.words for r in found.results[0].reasons] == [
            "Former reference, before a change of scheme"]
    # Typed as people type it: in small letters, with spaces around.
    assert [r.case.id for r in search.search(colleague, f" {old_reference.lower()} ").results] \
        == [case.id]
    assert [r.words for r in search.search(colleague, case.reference).results[0].reasons] == [
        "Reference"]
    for reference in (old_reference, case.reference):
        page = queries.queue_page(Queue.ALL, colleague, Filters(q=reference), None)
        assert [row.id for row in page.rows] == [case.id], reference


def test_a_reference_no_case_ever_had_finds_nothing(db, worker):
    case = make_case(worker)
    change(worker, case, Scheme.GEP_PRO)
    assert search.search(worker, "QMAS-2026-000002").results == []
    page = queries.queue_page(Queue.ALL, worker, Filters(q="QMAS-2026-000002"), None)
    assert page.rows == []


def test_the_history_says_both_schemes_both_references_the_reason_and_each_fact(db, worker):
    """The facts of the old scheme cleared and the new one's set, with old and new values."""
    case = make_case(worker, Scheme.GEP_PRO)
    change(worker, case, Scheme.GEP_ENT, case_facts(
        Scheme.GEP_ENT, programme=GovernmentProgramme.CYBERPORT_INCUBATION))
    event = _db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.SCHEME_CHANGED)).one()
    assert event.detail_data["changes"] == [
        {"field": "business_plan", "from": None,
         "to": "A design studio for sustainable packaging in Kwun Tong."},
        {"field": "programme", "from": None, "to": "cyberport_incubation"},
        {"field": "job_employer", "from": "Harbour Analytics Ltd", "to": None},
        {"field": "job_post", "from": "Senior data engineer", "to": None},
        {"field": "job_salary", "from": "68000.00", "to": None},
        {"field": "job_relevance",
         "from": "MSc in computer science and six years building data platforms.", "to": None},
        {"field": "job_local_unavailability",
         "from": "Advertised locally for three months without a suitable candidate.",
         "to": None},
    ]
    with force_language("en"):
        assert events.describe_lines(event) == [
            "Scheme changed from GEP (Professionals) to GEP (Entrepreneurs).",
            "Reference changed from GEP_PRO-2026-000001 to GEP_ENT-2026-000001; the old "
            "reference still finds the case.",
            "Business plan: (none) → A design studio for sustainable packaging in Kwun Tong.",
            "Government-backed programme: (none) → Cyberport Incubation Programme",
            "Employer: Harbour Analytics Ltd → (none)",
            "Post: Senior data engineer → (none)",
            "Monthly salary (HKD): 68,000 → (none)",
            "Relevance to qualifications or experience: MSc in computer science and six years "
            "building data platforms. → (none)",
            "Why it cannot readily be filled locally: Advertised locally for three months "
            "without a suitable candidate. → (none)",
        ]
        assert EventKind.SCHEME_CHANGED.label == "Scheme changed"
    with force_language("zh_Hant_HK"):
        assert events.describe_lines(event)[:2] == [
            "計劃由一般就業政策（專業人士）改為一般就業政策（企業家）。",
            "檔案編號由 GEP_PRO-2026-000001 改為 GEP_ENT-2026-000001；以舊檔案編號仍可找到此個案。"]
        assert EventKind.SCHEME_CHANGED.label == "已更改計劃"


def test_a_second_change_keeps_both_former_references(db, worker):
    case = make_case(worker)
    change(worker, case, Scheme.GEP_ENT)
    change(worker, case, Scheme.ASSG)
    _db.session.commit()
    assert case.reference == "ASSG-2026-000001"
    assert events.former_references(queries.case_events(case.id)) == [
        "QMAS-2026-000001", "GEP_ENT-2026-000001"]
    for reference in ("QMAS-2026-000001", "GEP_ENT-2026-000001", "ASSG-2026-000001"):
        assert [r.case.id for r in search.search(worker, reference).results] == [case.id]
    assert counts.counted_cases() == {("ASSG", "draft"): 1}


def test_the_status_counts_move_the_draft_between_the_schemes(db, worker):
    for _ in range(2):
        make_case(worker, Scheme.QMAS)
    moving = make_case(worker, Scheme.QMAS)
    make_case(worker, Scheme.GEP_PRO, CaseStatus.SUBMITTED)
    assert counts.counted_cases() == {("QMAS", "draft"): 3, ("GEP_PRO", "submitted"): 1}
    change(worker, moving, Scheme.GEP_PRO)
    _db.session.commit()
    assert counts.counted_cases() == {("QMAS", "draft"): 2, ("GEP_PRO", "draft"): 1,
                                      ("GEP_PRO", "submitted"): 1}
    assert counts.counted_cases() == counts.real_counts()


def test_a_form_shown_before_the_change_is_stale_after_it(db, worker):
    """The version moves, so any open form of the case (an edit, a step, another change) is
    refused as changed by someone else."""
    case = make_case(worker)
    shown = case.version
    change(worker, case, Scheme.GEP_ENT, version=shown)
    with pytest.raises(services.StaleCase):
        change(worker, case, Scheme.ASSG, version=shown)
    with pytest.raises(services.StaleCase):
        services.transition(case, "submit", worker, expected_version=shown)


def test_the_documents_checklist_becomes_the_new_schemes(db, worker):
    """A business plan is on the GEP (Entrepreneurs) checklist and not on QMAS's: the case
    counts what its new scheme lacks."""
    case = make_case(worker)
    assert "business_plan" not in {line.requirement.code for line in documents.missing(case)}
    change(worker, case, Scheme.GEP_ENT)
    missing = documents.missing(case)
    assert "business_plan" in {line.requirement.code for line in missing}
    assert case.documents_missing == len(missing)


def test_a_changed_draft_is_submitted_under_its_new_scheme(db, worker):
    case = make_case(worker, Scheme.GEP_PRO)
    change(worker, case, Scheme.QMAS, case_facts(Scheme.QMAS))
    services.transition(case, "submit", worker, now=NOW)
    _db.session.commit()
    assert (case.scheme, case.status, case.policy_version) == (
        Scheme.QMAS, CaseStatus.SUBMITTED, "2006-06-28")
    assert counts.counted_cases() == {("QMAS", "submitted"): 1}


def test_the_preview_checks_everything_says_what_it_will_do_and_changes_nothing(db, worker):
    case = make_case(worker, Scheme.GEP_PRO, submitted_on=SUBMITTED_ON)
    before = state(case)
    with force_language("en"):
        said = [str(s) for s in services.preview_scheme_change(
            worker, case, Scheme.GEP_ENT, case_facts(Scheme.GEP_ENT), REASON, case.version,
            today=TODAY)]
        assert said == [
            "The scheme changes from GEP (Professionals) to GEP (Entrepreneurs); the case is "
            "then judged by the GEP (Entrepreneurs) policy of 28 Jun 2006.",
            "The reference changes from GEP_PRO-2026-000001 to GEP_ENT-2026-… (its number is "
            "given when you confirm); the old reference stays searchable.",
            "These answers, which GEP (Entrepreneurs) does not ask for, are cleared (the "
            "history keeps them): Employer, Post, Monthly salary (HKD), Relevance to "
            "qualifications or experience, Why it cannot readily be filled locally.",
            "The documents checklist becomes the GEP (Entrepreneurs) one; documents already "
            "recorded stay on the case.",
            "The case stays a draft, assigned as it is now.",
        ]
        with pytest.raises(services.IneligibleForScheme):
            services.preview_scheme_change(worker, case, Scheme.GEP_ENT,
                                           case_facts(Scheme.QMAS), REASON, case.version,
                                           today=TODAY)
    assert state(case) == before
    # No reference number was used by looking.
    assert make_case(worker, Scheme.GEP_ENT).reference == "GEP_ENT-2026-000001"


def test_the_facts_given_are_kept_as_given(db, worker):
    """Whatever the new scheme asks for is saved; the service clears nothing the caller did
    not (the form sends the other schemes' sections empty)."""
    case = make_case(worker)
    facts = dataclasses.replace(case_facts(Scheme.GEP_ENT),
                                programme=GovernmentProgramme.HKSTP_INCU_BIO)
    change(worker, case, Scheme.GEP_ENT, facts)
    assert (case.business_plan, case.programme) == (facts.business_plan,
                                                    GovernmentProgramme.HKSTP_INCU_BIO)


def test_two_changes_of_one_draft_at_once_make_one(race_app, db, worker, make_user):
    """Both from the page as it was (the same version): one is made, the other is refused as
    a stale form (at its check, or at its write when both read the draft first), whatever
    the order; one new reference, one kept, one event, the counts in step."""
    case = make_case(worker)
    boss = make_user(Role.SUPERVISOR)
    case_id, version, worker_id, boss_id = case.id, case.version, worker.id, boss.id
    _db.session.rollback()  # reading the case began a transaction: SQLite would lock it out
    # PostgreSQL: both read the draft before either writes. (SQLite runs one writing
    # transaction at a time, so the second reads the first's change.)
    both_read = threading.Barrier(2, timeout=20) if _db.engine.dialect.name == \
        "postgresql" else None
    outcomes: list[object] = []

    def run(actor_id: int, scheme: Scheme) -> None:
        with race_app.app_context():
            try:
                actor = _db.session.get(User, actor_id)
                draft = _db.session.get(Case, case_id)
                if both_read is not None:
                    both_read.wait()
                services.change_scheme(actor, draft, scheme, case_facts(scheme), REASON,
                                       version, today=TODAY, now=NOW)
                _db.session.commit()
                outcomes.append(scheme)
            except (services.StaleCase, StaleDataError) as exc:
                _db.session.rollback()
                outcomes.append(type(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(worker_id, Scheme.GEP_ENT)),
               threading.Thread(target=run, args=(boss_id, Scheme.ASSG))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    made = [o for o in outcomes if isinstance(o, Scheme)]
    assert len(outcomes) == 2 and len(made) == 1, outcomes
    _db.session.expire_all()
    case = _db.session.get(Case, case_id)
    assert case.scheme == made[0]
    assert case.reference == f"{made[0].value}-2026-000001"
    assert _db.session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.kind == EventKind.SCHEME_CHANGED)) == 1
    assert [r.reference for r in _db.session.scalars(select(FormerReference))] == [
        "QMAS-2026-000001"]
    assert counts.counted_cases() == {(made[0].value, "draft"): 1}

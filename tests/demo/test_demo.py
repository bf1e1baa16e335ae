"""``flask seed-demo``: the curated demo cases and the ``--cases N`` bulk loader."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backoffice.auth.models import Role, User
from backoffice.cases import services
from backoffice.cases.models import Applicant, Case, CaseEvent, ReferenceCounter, search_text
from backoffice.cases.schemes import CLOSED_STATUSES, CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.core.identity import normalise_hkid
from backoffice.demo import bulk, commands, stories, year
from backoffice.quota.models import QuotaAllocation, QuotaPeriod


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def curated_cases(db) -> list[Case]:
    """The curated stories (the year's background cases have bulk applicants)."""
    return list(db.session.scalars(select(Case).join(Applicant).where(
        Applicant.email.like(f"%@{stories.DEMO_EMAIL_DOMAIN}"))))


def test_seed_demo_creates_cases_in_many_statuses_once(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    cases = curated_cases(db)
    assert len(cases) == len(stories.SCENARIOS)
    everything = count(db, Case)
    assert everything > len(cases)  # and the year's background (test_demo_year.py)
    statuses = Counter(case.status for case in cases)
    assert len(statuses) >= 12, statuses
    assert {case.scheme for case in cases} == set(Scheme)
    today = hk_today()
    assert all(case.submitted_on <= today for case in cases)
    assert any(case.assignee_id is None for case in cases)
    assert {case.assignee.email for case in cases if case.assignee} == {
        "caseworker@example.org", "caseworker2@example.org"}
    # One demo caseworker reads in Chinese, the others in English.
    assert {case.assignee.email: case.assignee.language for case in cases if case.assignee} == {
        "caseworker@example.org": "en", "caseworker2@example.org": "zh_Hant_HK"}
    # The Vietnamese entrepreneur is received and refused on the permanent ground, which
    # the refusal's event keeps; the 41-year-old ASSG applicant stays a draft, and the
    # command says why, worded as final.
    [refused] = [c for c in cases if c.scheme == Scheme.GEP_ENT and c.applicant.nationality == "VN"]
    assert refused.status == CaseStatus.REFUSED and refused.submitted_at is not None
    [event] = [e for e in db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == refused.id)) if e.transition]
    assert event.transition == "refuse_ineligible"
    assert event.detail_data["grounds"][0] | {"key": "excluded_nationality", "code": "VN"} \
        == event.detail_data["grounds"][0]
    assert event.reason  # the ground's words, as the caseworker's reason
    assert "Nationals of Vietnam (VN) cannot apply" not in first.output
    assert "This application cannot be accepted: ASSG applicants must be 18 to 40" in first.output
    assert [c.status for c in cases if c.scheme == Scheme.ASSG and c.applicant.date_of_birth
            .year < hk_today().year - 41] == [CaseStatus.DRAFT]
    # Real services: every case has its history, HKIDs are valid, dependants were added.
    assert count(db, CaseEvent) > 3 * len(cases)
    hkids = [c.applicant.hkid for c in cases if c.applicant.hkid]
    assert hkids and all(normalise_hkid(h) == h for h in hkids)
    assert sum(len(c.dependants) for c in cases) > 5

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "already there, none created" in second.output
    assert count(db, Case) == everything


def test_bulk_cases_are_valid_unique_and_do_not_collide(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = count(db, Case)
    result = runner.invoke(args=["seed-demo", "--cases", "500", "--chunk-size", "200"])
    assert result.exit_code == 0, result.output
    assert count(db, Case) == before + 500
    assert "Loaded 500 cases" in result.output
    # 20 bulk caseworkers, one password hash shared by all of them.
    bulk = list(db.session.scalars(select(User).where(User.email.like("bulk-caseworker-%"))))
    assert len(bulk) == 20 and len({u.password_hash for u in bulk}) == 1

    # The applicants with their cases: the demo's year brings thousands (one query, not one each).
    cases = list(db.session.scalars(select(Case).options(selectinload(Case.applicant))))
    references = [c.reference for c in cases]
    assert len(set(references)) == len(references)
    assert len({c.status for c in cases}) >= 8
    for case in cases:
        scheme, _year, number = case.reference.rsplit("-", 2)
        assert scheme == case.scheme.value and int(number) >= 1
        assert case.submitted_on <= hk_today()
        assert (case.submitted_at is None) == (case.policy_version is None)
        if case.status in CLOSED_STATUSES:
            assert case.ended_at is not None
        a = case.applicant
        assert a.name_search == search_text(a.family_name, a.given_names, a.chinese_name)
        if a.hkid:
            assert normalise_hkid(a.hkid) == a.hkid
    # The counters cover every reference handed out.
    for counter in db.session.scalars(select(ReferenceCounter)):
        numbers = [int(r.rsplit("-", 1)[1]) for r in references
                   if r.startswith(f"{counter.scheme.value}-{counter.year}-")]
        assert max(numbers, default=0) <= counter.last

    worker = db.session.scalar(select(User).where(User.role == Role.CASEWORKER))
    applicant = services.ApplicantData(
        family_name="Lee", given_names="Ming", chinese_name=None,
        date_of_birth=date(1990, 1, 1), nationality="CA", passport_number="AB123456")
    new = services.create_case(worker, Scheme.QMAS, applicant,
                               services.CaseFacts(submitted_on=hk_today()))
    db.session.commit()
    assert new.reference not in references

    again = runner.invoke(args=["seed-demo", "--cases", "500"])
    assert again.exit_code == 0, again.output
    assert count(db, Case) == before + 1001
    assert count(db, Applicant) == count(db, Case)


def test_bulk_rows_are_deterministic():
    today = date(2026, 11, 25)
    one = bulk.chunk_rows(7, 0, today, [1, 2], range(1, 51), range(1, 51), range(1, 51), 0)
    two = bulk.chunk_rows(7, 0, today, [1, 2], range(1, 51), range(1, 51), range(1, 51), 0)
    assert one == two
    # COPY text format: no field may carry a tab, newline or backslash of its own.
    for table in (one.applicants, one.cases, one.events, one.dependants, one.deadlines,
                  one.job_offers, [place[1:] for place in one.places]):
        for row in table:
            for value in row:
                assert value is None or value == "\\N" or not set(value) & {"\t", "\n", "\\"}


def test_in_march_the_bulk_load_fills_the_year_proportionally_less(app, db, monkeypatch):
    march = date(2026, 3, 16)
    monkeypatch.setattr(commands, "hk_today", lambda now=None: march)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--cases", "200"])
    assert result.exit_code == 0, result.output
    period = db.session.scalar(select(QuotaPeriod).where(QuotaPeriod.scheme == "QMAS",
                                                         QuotaPeriod.year == march.year))
    plan = year.plan_year(march, period.quota_limit, stories.DEMO_SEED)
    assert period.allocated == round(period.quota_limit * plan.share * year.elapsed(march))
    assert 0.08 < period.allocated / period.quota_limit < 0.2
    days = list(db.session.scalars(select(QuotaAllocation.allocated_on).where(
        QuotaAllocation.period_id == period.id, QuotaAllocation.released_at.is_(None))))
    assert len(days) == period.allocated
    assert {day.month for day in days} == {1, 2, 3} and max(days) <= march
    assert db.session.scalar(select(func.count()).select_from(Case).where(
        Case.scheme == Scheme.QMAS, Case.status == CaseStatus.AWAITING_QUOTA)) >= 5

"""Places offered back to the waiting line: the free places and the cases waiting said on the
waiting queue and the dashboard after every way a place can free up, and the supervisor's
approval of the first in line (named on a confirmation page; each approval the case's own
step; a case that cannot be approved passed over with why; never more than the limit)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select, update

from backoffice.auth.models import Role, User
from backoffice.cases import queries, services, waiting
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaAllocation, QuotaPeriod
from tests.cases.factories import correct_step_date, hk_morning, make_case, step_data

YEAR = hk_today().year


def hold(actor, on: date, **overrides) -> Case:
    """A QMAS case held for a quota place on ``on``."""
    case = make_case(actor, Scheme.QMAS, CaseStatus.UNDER_REVIEW, **overrides)
    services.transition(case, "hold_for_quota", actor, data=step_data("hold_for_quota", on))
    _db.session.commit()
    return case


def set_limit(limit: int | None) -> None:
    """This year's QMAS limit, set as the quota's own rows say (the case tests open every
    year with no limit; ``allocated`` stays what the approvals made it)."""
    _db.session.execute(update(QuotaPeriod).where(QuotaPeriod.scheme == "QMAS",
                                                  QuotaPeriod.year == YEAR)
                        .values(quota_limit=limit))
    _db.session.commit()


def allocated() -> int:
    _db.session.expire_all()
    return quota.get_period("QMAS", YEAR).allocated


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.fixture
def me(as_role) -> User:
    return as_role(Role.SUPERVISOR)


@pytest.fixture
def line(me) -> list[Case]:
    """Four cases waiting, in line order (held on 1, 2, 3 and 4 April), the year full."""
    cases = [hold(me, date(YEAR, 4, day)) for day in (3, 1, 4, 2)]
    set_limit(allocated())
    return sorted(cases, key=lambda c: c.status_since)


# --- The offer's numbers --------------------------------------------------------------------

@pytest.mark.parametrize(("extra", "free", "places", "is_open"), [
    (0, 0, 0, False),        # full: the line waits
    (2, 2, 2, True),         # two places for four cases
    (9, 9, 4, True),         # more places than cases: every case can go
    (None, None, 4, True),   # no limit (suspended): every case can go
])
def test_the_offer_is_the_free_places_against_the_line(db, me, line, extra, free, places,
                                                       is_open):
    set_limit(None if extra is None else allocated() + extra)
    offer = waiting.offer(Scheme.QMAS, me)
    assert (offer.free, offer.waiting, offer.places, offer.is_open) == (free, 4, places,
                                                                        is_open)


def test_a_year_never_set_offers_nothing(db, me, line):
    _db.session.execute(update(QuotaPeriod).where(QuotaPeriod.year == YEAR)
                        .values(year=YEAR + 50))
    _db.session.commit()
    offer = waiting.offer(Scheme.QMAS, me, choose=True)
    assert (offer.is_set, offer.is_open, offer.chosen) == (False, False, [])


# --- Every way a place frees up, said on the dashboard and the waiting queue ---------------

def give_back_by(way: str, me: User) -> None:
    """Free one place of this year's quota the way ``way`` names (four cases wait)."""
    if way in {"withdraw", "lapse"}:
        set_limit(None)  # the place it gives back is taken first, then the year is full again
        case = make_case(me, Scheme.QMAS, CaseStatus.APPROVED)
        set_limit(allocated())
        services.transition(case, way, me, reason="The applicant does not come.",
                            data=step_data(way, hk_today()))
    elif way == "raise_limit":
        quota.set_limit(me, "QMAS", YEAR, allocated() + 1)
    elif way == "suspend":
        quota.set_limit(me, "QMAS", YEAR, None)
    elif way == "date_into_last_year":
        # Approved in January; the approval really happened in December of the year before.
        set_limit(None)
        case = make_case(me, Scheme.QMAS, CaseStatus.UNDER_REVIEW, today=date(YEAR - 1, 11, 2),
                         submitted_on=date(YEAR - 1, 11, 2),
                         now=hk_morning(date(YEAR - 1, 11, 20)))
        services.transition(case, "approve", me, data=step_data("approve", date(YEAR, 1, 5)))
        _db.session.commit()
        set_limit(allocated())
        correct_step_date(me, case, "approve", date(YEAR - 1, 12, 20), "Typed the wrong year.",
                          today=hk_today())
    else:
        raise ValueError(way)
    _db.session.commit()


@pytest.mark.parametrize("way", ["withdraw", "lapse", "raise_limit", "suspend",
                                 "date_into_last_year"])
def test_a_place_freed_any_way_is_offered_to_the_line_on_both_pages(client, me, line, way):
    page = soup(client.get(f"/quota/?year={YEAR}"))
    assert page.select_one("#offer") is None, "the line waits while the quota is full"
    give_back_by(way, me)
    dashboard = soup(client.get(f"/quota/?year={YEAR}")).select_one("#offer")
    queue = soup(client.get("/cases/queue/awaiting-quota")).select_one("#waiting-line")
    for shown in (dashboard, queue):
        assert shown is not None, f"a place freed by {way} is not offered"
        words = shown.select_one(".offer-words").get_text(" ", strip=True)
        if way == "suspend":
            assert words == (f"The {YEAR} quota has no limit (suspended): 4 cases waiting can "
                             "be approved.")
        else:
            assert words == "1 place free, 4 cases waiting."
        assert shown.select_one("#approve-in-line")["href"] == "/cases/waiting-line/approve"


def test_a_past_years_dashboard_offers_nothing(client, me, line):
    set_limit(allocated() + 1)
    assert soup(client.get(f"/quota/?year={YEAR - 1}")).select_one("#offer") is None


def test_a_caseworker_sees_the_free_places_but_no_button(client, make_user, as_role):
    boss = make_user(Role.SUPERVISOR)
    line = [hold(boss, date(YEAR, 4, day)) for day in (1, 2, 3, 4)]
    set_limit(allocated() + 1)
    as_role(Role.CASEWORKER)
    queue = soup(client.get("/cases/queue/awaiting-quota")).select_one("#waiting-line")
    assert "1 place free, 4 cases waiting." in queue.get_text(" ", strip=True)
    assert queue.select_one("#approve-in-line") is None
    assert client.get("/cases/waiting-line/approve").status_code == 403
    assert client.post_form("/cases/waiting-line/approve", {"shown": f"{line[0].id}:1"},
                            token_from="/cases/").status_code == 403


# --- Approving the first in line ------------------------------------------------------------

def shown_values(page: BeautifulSoup) -> list[str]:
    return [field["value"] for field in page.select("form input[name=shown]")]


def test_the_first_two_in_line_are_named_then_approved_and_the_rest_move_up(client, me, line):
    set_limit(allocated() + 2)
    before = allocated()
    page = soup(client.get("/cases/waiting-line/approve"))
    rows = page.select("#chosen tbody tr")
    assert [r.select_one("td.place-in-line").text for r in rows] == ["1", "2"]
    assert [r.select_one("a.mono").text for r in rows] == [c.reference for c in line[:2]]
    assert page.select_one("#confirm-approve-in-line").text == "Approve 2 cases"
    assert "takes a place in the QMAS quota" in page.select_one("#consequences").text
    assert {c.status for c in line} == {CaseStatus.AWAITING_QUOTA}, "nothing changes yet"

    response = client.post_form("/cases/waiting-line/approve", {"shown": shown_values(page)},
                                token_from="/cases/waiting-line/approve")
    assert response.status_code == 302
    _db.session.expire_all()
    assert [c.status for c in line] == [CaseStatus.APPROVED] * 2 + [CaseStatus.AWAITING_QUOTA] * 2
    assert allocated() == before + 2
    assert all(c.approved_on == hk_today() for c in line[:2])
    moved_up = queries.waiting_line(Scheme.QMAS)
    assert [moved_up.place_of(c.id) for c in line[2:]] == [1, 2]
    flashed = soup(client.get(response.headers["Location"])).get_text(" ", strip=True)
    assert f"2 cases approved from the waiting line: {line[0].reference}, " \
           f"{line[1].reference}." in flashed
    history = soup(client.get(f"/cases/{line[0].id}")).select_one("#history").get_text()
    assert "Approved" in history


def test_a_case_that_cannot_be_approved_is_passed_over_and_keeps_its_place(client, me):
    missing = hold(me, date(YEAR, 4, 1), documents=False)
    after = [hold(me, date(YEAR, 4, day)) for day in (2, 3)]
    set_limit(allocated() + 1)
    page = soup(client.get("/cases/waiting-line/approve"))
    assert [r.select_one("a.mono").text for r in page.select("#chosen tbody tr")] == [
        after[0].reference]
    passed = page.select_one("#passed").get_text(" ", strip=True)
    assert f"Number 1, {missing.reference}:" in passed
    assert "keeps its place in line" in passed
    client.post_form("/cases/waiting-line/approve", {"shown": shown_values(page)},
                     token_from="/cases/waiting-line/approve")
    _db.session.expire_all()
    assert (missing.status, after[0].status, after[1].status) == (
        CaseStatus.AWAITING_QUOTA, CaseStatus.APPROVED, CaseStatus.AWAITING_QUOTA)
    assert queries.waiting_line(Scheme.QMAS).place_of(missing.id) == 1


def test_a_case_changed_after_the_page_stays_in_line_and_the_others_are_approved(client, me,
                                                                                line):
    set_limit(allocated() + 2)
    page = soup(client.get("/cases/waiting-line/approve"))
    _db.session.execute(update(Case).where(Case.id == line[0].id)
                        .values(version=Case.version + 1))
    _db.session.commit()
    response = client.post_form("/cases/waiting-line/approve", {"shown": shown_values(page)},
                                token_from="/cases/waiting-line/approve")
    _db.session.expire_all()
    assert (line[0].status, line[1].status) == (CaseStatus.AWAITING_QUOTA, CaseStatus.APPROVED)
    flashed = soup(client.get(response.headers["Location"])).get_text(" ", strip=True)
    assert f"{line[0].reference} stays in line: This case was changed by someone else" in flashed


def test_when_the_places_went_meanwhile_nothing_is_approved_and_the_page_says_why(client, me,
                                                                                  line):
    set_limit(allocated() + 1)
    page = soup(client.get("/cases/waiting-line/approve"))
    services.transition(line[1], "approve", me)  # a colleague approves number 2 directly
    _db.session.commit()
    response = client.post_form("/cases/waiting-line/approve", {"shown": shown_values(page)},
                                token_from="/cases/waiting-line/approve")
    assert response.status_code == 409
    error = soup(response).select_one("#line-error").get_text(" ", strip=True)
    assert f"{line[0].reference} stays in line: The QMAS quota for {YEAR} is full" in error
    _db.session.expire_all()
    assert line[0].status == CaseStatus.AWAITING_QUOTA


@pytest.mark.parametrize("data", [{}, {"shown": "garbage"}, {"shown": "0:1"},
                                  {"shown": "99999999:1"}])
def test_a_confirmation_without_usable_cases_approves_nothing(client, me, line, data):
    set_limit(allocated() + 2)
    response = client.post_form("/cases/waiting-line/approve", data,
                                token_from="/cases/waiting-line/approve")
    assert response.status_code in {409, 422}
    assert soup(response).select_one("#line-error") is not None
    _db.session.expire_all()
    assert {c.status for c in line} == {CaseStatus.AWAITING_QUOTA}


@pytest.mark.parametrize(("setup", "words"), [
    ("full", "No place is free in the QMAS quota"),
    ("empty", "No case is waiting for a place."),
])
def test_the_page_says_when_there_is_nothing_to_approve(client, me, setup, words):
    if setup == "full":
        hold(me, date(YEAR, 4, 1))
        set_limit(allocated())
    page = soup(client.get("/cases/waiting-line/approve"))
    assert words in page.select_one("#line-closed").text
    assert page.select_one("#confirm-approve-in-line") is None


# --- The batch racing a normal approval for the last places ---------------------------------

def test_the_batch_racing_a_direct_approval_never_passes_the_limit(race_app, db, make_user):
    boss = make_user(Role.SUPERVISOR)
    queued = [hold(boss, date(YEAR, 4, day)) for day in (1, 2, 3)]
    direct = make_case(boss, Scheme.QMAS, CaseStatus.UNDER_REVIEW)
    limit = allocated() + 2
    set_limit(limit)
    shown = [(c.id, c.version) for c in queued[:2]]
    # Plain ids: an object of this thread's session must not be read from the racing ones.
    boss_id, direct_id = boss.id, direct.id
    _db.session.commit()  # and no transaction of this thread left open beside them
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def run(work) -> None:
        with race_app.app_context():
            barrier.wait()
            try:
                work(_db.session.get(User, boss_id))
                _db.session.commit()
            except services.QuotaBlocked:
                _db.session.rollback()
            except Exception as exc:
                _db.session.rollback()
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                _db.session.remove()

    threads = [
        threading.Thread(target=run, args=(lambda u: waiting.approve_in_line(u, shown),)),
        threading.Thread(target=run, args=(lambda u: services.transition(
            _db.session.get(Case, direct_id), "approve", u),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    _db.session.expire_all()
    period = quota.get_period("QMAS", YEAR)
    active = _db.session.scalar(select(func.count()).select_from(QuotaAllocation).where(
        QuotaAllocation.period_id == period.id, QuotaAllocation.released_at.is_(None)))
    assert period.allocated == active == limit
    approved = _db.session.scalar(select(func.count()).select_from(Case).where(
        Case.id.in_([*(c.id for c in queued), direct.id]), Case.status == CaseStatus.APPROVED))
    assert approved == 2

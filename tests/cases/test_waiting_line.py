"""The QMAS waiting line: Awaiting quota in the order cases began to wait (then reference),
each case's place in line on the queue and on its page, and free places said beside it."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import update

from backoffice.auth.models import Role
from backoffice.cases import queries, services
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.extensions import db as _db
from backoffice.quota.models import QuotaPeriod
from tests.cases.factories import make_case, step_data


def waiting(actor, on: date) -> Case:
    """A QMAS case held for a quota place on ``on``."""
    case = make_case(actor, Scheme.QMAS, CaseStatus.UNDER_REVIEW)
    services.transition(case, "hold_for_quota", actor, data=step_data("hold_for_quota", on))
    _db.session.commit()
    return case


@pytest.fixture
def me(as_role):
    return as_role(Role.SUPERVISOR)


@pytest.fixture
def line_of_four(me) -> list[Case]:
    """Held on 5 May, 1 Apr, 1 Apr (a later reference) and 20 Apr: in line, the two of
    1 April by reference, then 20 April, then 5 May."""
    made = [waiting(me, date(2026, 5, 5)), waiting(me, date(2026, 4, 1)),
            waiting(me, date(2026, 4, 1)), waiting(me, date(2026, 4, 20))]
    return [made[1], made[2], made[3], made[0]]


def test_the_line_is_in_the_order_cases_began_to_wait_then_by_reference(db, me, line_of_four):
    line = queries.waiting_line(Scheme.QMAS)
    assert line.length == 4
    assert [line.place_of(case.id) for case in line_of_four] == [1, 2, 3, 4]
    assert queries.waiting_line(Scheme.QMAS, [line_of_four[2].id]).places == {
        line_of_four[2].id: 3}
    assert queries.waiting_line(Scheme.QMAS, []).length == 4


def test_a_case_recorded_before_step_dates_waits_after_those_that_have_one(db, me,
                                                                           line_of_four):
    undated = waiting(me, date(2026, 3, 20))
    _db.session.execute(update(Case).where(Case.id == undated.id).values(status_since=None))
    _db.session.commit()
    line = queries.waiting_line(Scheme.QMAS)
    assert line.place_of(undated.id) == 5
    assert line.place_of(line_of_four[0].id) == 1


def test_a_case_that_leaves_the_line_moves_everyone_behind_it_up(db, me, line_of_four):
    services.transition(line_of_four[0], "withdraw", me, reason="Found a job elsewhere.")
    line = queries.waiting_line(Scheme.QMAS)
    assert [line.place_of(case.id) for case in line_of_four] == [None, 1, 2, 3]


def test_the_awaiting_quota_queue_is_the_line_with_each_cases_place(client, me, line_of_four):
    page = BeautifulSoup(client.get("/cases/queue/awaiting-quota").get_data(as_text=True),
                         "html.parser")
    rows = page.select("table tbody tr")
    assert [row.select_one("td.place-in-line").text for row in rows] == ["1", "2", "3", "4"]
    assert [row.select_one("a.mono").text for row in rows] == [c.reference for c in line_of_four]
    assert page.select_one("select[name=sort] option[selected]")["value"] == "waiting"
    assert "4 cases are waiting for a" in page.select_one("#waiting-line").text


def test_the_case_page_says_its_place_in_line(client, me, line_of_four):
    page = BeautifulSoup(client.get(f"/cases/{line_of_four[2].id}").get_data(as_text=True),
                         "html.parser")
    assert page.select_one("#place-in-line").text == (
        f"Number 3 of 4 waiting for a {hk_today().year} place.")


@pytest.mark.parametrize(("limit", "free"), [(None, None), (4, None), (6, 2)])
def test_free_places_beside_the_line_are_said(client, me, line_of_four, limit, free):
    year = hk_today().year
    _db.session.execute(update(QuotaPeriod).where(QuotaPeriod.scheme == "QMAS",
                                                  QuotaPeriod.year == year)
                        .values(quota_limit=limit, allocated=4))
    _db.session.commit()
    text = BeautifulSoup(client.get("/cases/queue/awaiting-quota").get_data(as_text=True),
                         "html.parser").select_one("#waiting-line").text
    if free:
        assert f"{free} places free, 4 cases waiting." in text
    elif limit is None:
        assert "quota has no limit (suspended): 4 cases waiting can be approved." in text
    else:
        assert "free" not in text

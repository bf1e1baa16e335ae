"""The busiest pages send a fixed number of statements, however much the case or list holds.

Each statement costs a round trip and ORM work on every view; a lazy load slipping into a
loop (one query per dependant, per event, per row) would multiply them. These tests count
statements, not milliseconds: the timings are in bench/ and docs/PERFORMANCE.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from backoffice.auth.models import Role
from backoffice.cases import services
from backoffice.cases.models import Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from tests.cases.factories import dependant_data, make_case


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)  # queries, not SQLite's explicit transaction control

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(client, url: str) -> list[str]:
    with counted_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return statements


def case_in_stay(actor, boss, dependants: int, extra_events: int):
    case = make_case(actor, Scheme.QMAS, CaseStatus.IN_STAY)
    for n in range(dependants):
        services.add_dependant(actor, case, Relationship.CHILD,
                               dependant_data(given_names=f"Child {n}",
                                              passport_number=f"AB76543{n:02d}"),
                               False, expected_version=case.version)
    for _ in range(extra_events):  # given back and taken again: two timeline events each time
        services.reassign(boss, [case], None)
        services.take_case(actor, case, expected_version=case.version)
        _db.session.flush()
    _db.session.commit()
    return case


# (who looks, dependants, extra timeline events): the count must not change with the sizes.
@pytest.mark.parametrize(("role", "expected"), [
    # user (with the unread badge's count), case with applicant + assignee + dependants,
    # timeline with actors, notes with authors, deadlines, job offers; a supervisor also gets
    # the list of people to reassign to; the documents panel's checklist rows, the letters
    # panel's letters.
    (Role.CASEWORKER, 8),
    (Role.SUPERVISOR, 9),
])
def test_the_case_page_sends_the_same_statements_for_a_small_and_a_large_case(
        client, as_role, make_user, role, expected):
    me = as_role(role)
    boss = make_user(Role.SUPERVISOR)
    small = case_in_stay(me, boss, dependants=0, extra_events=0)
    large = case_in_stay(me, boss, dependants=4, extra_events=5)
    first = services.add_note(me, large, "A note.")
    services.add_note(boss, large, "Its correction, by someone else.", corrects_note_id=first.id)
    _db.session.commit()

    small_statements = statements_for(client, f"/cases/{small.id}")
    large_statements = statements_for(client, f"/cases/{large.id}")

    assert len(small_statements) == expected, small_statements
    assert len(large_statements) == expected, large_statements


@pytest.mark.parametrize(("rows", "expected"), [(1, 4), (60, 5)])
def test_a_queue_page_sends_four_statements_or_five_for_more_than_a_page(client, as_role, rows,
                                                                        expected):
    me = as_role(Role.SUPERVISOR)
    for _ in range(rows):
        make_case(me, Scheme.GEP_PRO, CaseStatus.UNDER_REVIEW)

    statements = statements_for(client, "/cases/queue/all?scheme=GEP_PRO&status=under_review")

    # user (with the unread badge's count), the caseworkers for the filter and bulk
    # reassign, the rows, the user's saved filters; and the (capped) count once the rows
    # fill more than a page
    assert len(statements) == expected, statements

"""Approving from the case page when the quota is full: a clear message, and the case waits in
the Awaiting quota queue. The move is a change, so the answer is a redirect to the case (303,
post/redirect/get) with the reason on the page it lands on, not the form shown again (422)."""

from __future__ import annotations

from datetime import UTC, datetime

from backoffice.auth.models import Role
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from backoffice.quota import services as quota
from tests.cases.factories import make_case


def test_full_quota_moves_the_case_to_awaiting_quota(client, as_role, make_user, db):
    supervisor = make_user(Role.SUPERVISOR)
    year = hk_today().year
    quota.set_limit(supervisor, "QMAS", year, 1)
    db.session.commit()
    me = as_role(Role.CASEWORKER)
    now = datetime.now(UTC)
    holder = make_case(me, Scheme.QMAS, CaseStatus.APPROVED, now=now)
    waiting = make_case(me, Scheme.QMAS, CaseStatus.UNDER_REVIEW, now=now)
    assert holder.status == CaseStatus.APPROVED

    response = client.post_form(f"/cases/{waiting.id}/step/approve",
                                {"version": waiting.version, "on": hk_today().isoformat(),
                                 "confirmed": "1"}, token_from=f"/cases/{waiting.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{waiting.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"The QMAS quota for {year} is full (1 of 1 places allocated)." in page
    assert "It has been moved to the Awaiting quota queue." in page
    db.session.refresh(waiting)
    assert waiting.status == CaseStatus.AWAITING_QUOTA
    assert waiting.reference in client.get("/cases/queue/awaiting-quota").get_data(as_text=True)


def test_quota_not_set_keeps_the_case_and_says_why(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, CaseStatus.UNDER_REVIEW, now=datetime.now(UTC))
    response = client.post_form(f"/cases/{case.id}/step/approve",
                                {"version": case.version, "on": hk_today().isoformat(),
                                 "confirmed": "1"}, token_from=f"/cases/{case.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert "has not been set" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(case)
    assert case.status == CaseStatus.AWAITING_QUOTA

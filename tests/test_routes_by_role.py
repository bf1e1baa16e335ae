"""Every route by every role: who gets the page, who is sent to sign in, who is refused.

``ROUTES`` is the one table of expectations. A new endpoint fails
``test_every_endpoint_is_in_the_table`` until its row is added here, so no page can ship
without someone deciding who may see it.

Each row is ``(method, url, {role: status})`` where role ``None`` is an anonymous visitor.
``{user}`` in a url stands for another account's id, ``{case}`` for a case of that
account (a QMAS draft) and ``{dependant}`` for a child on it. POSTs carry a valid CSRF token and no
other data, so an authorised role gets the form's error status (422) where the view
validates input. Anonymous requests to protected pages get 302 to ``/login?next=...``;
a forbidden role gets 403 rendered in the site layout.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from backoffice.auth.models import Role
from backoffice.extensions import db as _db
from tests.conftest import build_app

ANON, CW, SUP, ADMIN = None, Role.CASEWORKER, Role.SUPERVISOR, Role.ADMIN
ALL_ROLES = [ANON, CW, SUP, ADMIN]
# Served files, not pages: no role rules apply.
NOT_PAGES = {"static", "bootstrap.static", "core.static"}
# Methods Werkzeug adds to every route by itself.
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


def expect(anon: int, caseworker: int, supervisor: int, admin: int) -> dict[Role | None, int]:
    return {ANON: anon, CW: caseworker, SUP: supervisor, ADMIN: admin}


ROUTES: list[tuple[str, str, dict[Role | None, int]]] = [
    # core: the start page sends each role to its own home.
    ("GET", "/", expect(302, 302, 302, 302)),
    # core: the load balancer's probes, open to everyone (tests/core/test_health.py).
    ("GET", "/healthz", expect(200, 200, 200, 200)),
    ("GET", "/readyz", expect(200, 200, 200, 200)),
    # core: the header's language switcher, for everyone (an empty choice changes nothing).
    ("POST", "/language", expect(302, 302, 302, 302)),
    # auth: sign-in, sign-out, own password.
    ("GET", "/login", expect(200, 302, 302, 302)),
    ("POST", "/login", expect(422, 302, 302, 302)),
    ("POST", "/logout", expect(302, 302, 302, 302)),
    ("GET", "/account/password", expect(302, 200, 200, 200)),
    ("POST", "/account/password", expect(302, 422, 422, 422)),
    ("POST", "/account/language", expect(302, 422, 422, 422)),
    # auth: account administration, admins only.
    ("GET", "/admin/users", expect(302, 403, 403, 200)),
    ("GET", "/admin/users/new", expect(302, 403, 403, 200)),
    ("POST", "/admin/users/new", expect(302, 403, 403, 422)),
    ("GET", "/admin/users/{user}", expect(302, 403, 403, 200)),
    ("POST", "/admin/users/{user}/role", expect(302, 403, 403, 422)),
    ("POST", "/admin/users/{user}/language", expect(302, 403, 403, 422)),
    ("POST", "/admin/users/{user}/deactivate", expect(302, 403, 403, 302)),
    ("POST", "/admin/users/{user}/reactivate", expect(302, 403, 403, 302)),
    ("GET", "/admin/security-log", expect(302, 403, 403, 200)),
    ("GET", "/admin/security-log/export.csv", expect(302, 403, 403, 200)),
    # Unlocking an account that is not locked is refused on its page; an empty reset form too.
    ("POST", "/admin/users/{user}/unlock", expect(302, 403, 403, 422)),
    ("POST", "/admin/users/{user}/password", expect(302, 403, 403, 422)),
    # cases: caseworkers and supervisors. {case} belongs to another caseworker, so a
    # caseworker may read it but not change it; a supervisor may do both.
    ("GET", "/cases/", expect(302, 200, 200, 403)),
    ("GET", "/cases/queue/unassigned", expect(302, 200, 200, 403)),
    # All cases: every caseworker reads it (no bulk reassignment); its export is a
    # supervisor's.
    ("GET", "/cases/queue/all", expect(302, 200, 200, 403)),
    ("GET", "/cases/queue/mine/export.csv", expect(302, 200, 200, 403)),
    # The header search: every case a caseworker may view (any case), not an admin's.
    ("GET", "/cases/search", expect(302, 200, 200, 403)),
    ("GET", "/cases/queue/all/export.csv", expect(302, 403, 200, 403)),
    ("GET", "/cases/new", expect(302, 200, 200, 403)),
    ("POST", "/cases/new", expect(302, 422, 422, 403)),
    ("GET", "/cases/{case}", expect(302, 200, 200, 403)),
    ("GET", "/cases/{case}/edit", expect(302, 403, 200, 403)),
    ("POST", "/cases/{case}/edit", expect(302, 403, 422, 403)),
    # A step's own page: the caseworker, who may not change the case, is sent back to it
    # (which says why); the supervisor gets the questions. Its form and the case page's
    # inline steps, posted empty: refused as not the caseworker's, or for the missing date.
    ("GET", "/cases/{case}/step/withdraw", expect(302, 302, 200, 403)),
    ("POST", "/cases/{case}/step/withdraw", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/step/submit", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/step/refuse_ineligible", expect(302, 422, 422, 403)),
    # A draft's change of scheme, a page of its own like a step's: the caseworker, who may
    # not change the case, is sent back to it (which says why); the supervisor gets the
    # questions. Posted empty: refused as not the caseworker's, or for what is missing.
    ("GET", "/cases/{case}/scheme", expect(302, 302, 200, 403)),
    ("POST", "/cases/{case}/scheme", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/dependants", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/dependants/{dependant}/remove", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/take", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/reassign", expect(302, 403, 422, 403)),
    ("POST", "/cases/reassign", expect(302, 403, 302, 403)),
    # cases: approving the first in the waiting line, supervisors only (no case named: 422).
    ("GET", "/cases/waiting-line/approve", expect(302, 403, 200, 403)),
    ("POST", "/cases/waiting-line/approve", expect(302, 403, 422, 403)),
    # cases: saved filters are their owner's. An empty save lacks the name (422); a saved
    # filter that is not one's own (here: none) is not found.
    ("POST", "/cases/queue/all/saved-filters", expect(302, 422, 422, 403)),
    ("POST", "/cases/saved-filters/987654/delete", expect(302, 404, 404, 403)),
    # cases: a note, by whoever may read the case (an empty one is refused on the page: 422).
    ("POST", "/cases/{case}/notes", expect(302, 422, 422, 403)),
    # cases: the stay. A caseworker's is refused as not theirs to change, a supervisor's as
    # empty: both 422, the reason on the case page (tests/cases/test_refusals_on_the_case_page.py).
    ("POST", "/cases/{case}/step/record_arrival", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/dates", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/job-offers", expect(302, 422, 422, 403)),
    # documents: the checklist page for whoever may read the case; its forms posted empty are
    # refused on the page (422); a file or letter no row has is not found; withdrawing a
    # file is a supervisor's.
    ("GET", "/cases/{case}/documents", expect(302, 200, 200, 403)),
    ("POST", "/cases/{case}/documents/upload", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/documents/receive", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/documents/accept", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/documents/reject", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/documents/waive", expect(302, 422, 422, 403)),
    ("POST", "/cases/{case}/documents/request", expect(302, 422, 422, 403)),
    ("GET", "/cases/{case}/documents/files/987654", expect(302, 404, 404, 403)),
    ("POST", "/cases/{case}/documents/files/987654/withdraw", expect(302, 403, 404, 403)),
    ("GET", "/cases/{case}/letters/987654", expect(302, 404, 404, 403)),
    # cases: deadlines across cases and the calendar feed (the office scope of due-soon,
    # supervisors only, is tested in tests/cases/test_deadline_routes.py).
    ("GET", "/cases/due-soon", expect(302, 200, 200, 403)),
    ("GET", "/cases/calendar", expect(302, 200, 200, 403)),
    ("POST", "/cases/calendar/reset", expect(302, 302, 302, 403)),
    # The feed needs no sign-in; a token nobody holds is not found, whoever asks.
    ("GET", "/cases/calendar/not-a-real-token.ics", expect(404, 404, 404, 404)),
    # notifications: the worker's health, supervisors only.
    ("GET", "/notifications/worker", expect(302, 403, 200, 403)),
    # notifications: the centre and a case's reminders for those who work cases; failed
    # reminders and their retry for supervisors. 987654 is an id no row has: marking it read
    # or retrying it is not found (as someone else's notification is).
    ("GET", "/notifications/", expect(302, 200, 200, 403)),
    ("POST", "/notifications/987654/read", expect(302, 404, 404, 403)),
    ("POST", "/notifications/read-all", expect(302, 302, 302, 403)),
    ("GET", "/notifications/case/{case}", expect(302, 200, 200, 403)),
    ("GET", "/notifications/failed", expect(302, 403, 200, 403)),
    ("POST", "/notifications/reminders/987654/retry", expect(302, 403, 404, 403)),
    # quota: the QMAS quota dashboard, supervisors only. An empty POST lacks the year: 422.
    ("GET", "/quota/", expect(302, 403, 200, 403)),
    ("GET", "/quota/export.csv", expect(302, 403, 200, 403)),
    ("POST", "/quota/limit", expect(302, 403, 422, 403)),
]

# Where a signed-in user lands on a 302 that is not a refusal.
SIGNED_IN_REDIRECTS = {
    ("POST", "/language"): {CW: "/", SUP: "/", ADMIN: "/"},
    ("GET", "/"): {CW: "/cases/", SUP: "/cases/", ADMIN: "/admin/users"},
    ("GET", "/login"): {CW: "/", SUP: "/", ADMIN: "/"},
    ("GET", "/cases/{case}/step/withdraw"): {CW: "/cases/{case}"},  # not theirs to change
    ("GET", "/cases/{case}/scheme"): {CW: "/cases/{case}"},  # not theirs to change
    ("POST", "/login"): {CW: "/", SUP: "/", ADMIN: "/"},
    ("POST", "/logout"): {CW: "/login", SUP: "/login", ADMIN: "/login"},
    ("POST", "/admin/users/{user}/deactivate"): {ADMIN: "/admin/users/{user}"},
    ("POST", "/admin/users/{user}/reactivate"): {ADMIN: "/admin/users/{user}"},
    ("POST", "/cases/reassign"): {SUP: "/cases/queue/all"},  # back, with the reason flashed
    ("POST", "/cases/calendar/reset"): {CW: "/cases/calendar", SUP: "/cases/calendar"},
    ("POST", "/notifications/read-all"): {CW: "/notifications/", SUP: "/notifications/"},
}

# Where an anonymous visitor lands on a 302 from a page open to everyone.
OPEN_REDIRECTS = {("POST", "/language"): "/"}

CASES = [
    pytest.param(method, url, role, statuses[role],
                 id=f"{method} {url} {role.value if role else 'anonymous'}")
    for method, url, statuses in ROUTES
    for role in ALL_ROLES
]


def test_table_rows_are_unique_and_complete():
    keys = [(method, url) for method, url, _ in ROUTES]
    assert len(keys) == len(set(keys)), "a route appears twice in ROUTES"
    for method, url, statuses in ROUTES:
        assert set(statuses) == set(ALL_ROLES), f"{method} {url} misses a role"
        assert method in {"GET", "POST"}


@pytest.mark.parametrize(("method", "url", "role", "expected"), CASES)
def test_route_by_role(client, make_user, as_role, method, url, role, expected):
    as_role(role)
    target = make_user(Role.CASEWORKER) if "{" in url else None
    path = url.replace("{user}", str(target.id)) if target else url
    case = None
    if "{case}" in url:
        case, dependant = _case_with_dependant(target)
        path = path.replace("{case}", str(case.id)).replace("{dependant}", str(dependant.id))
    if method == "GET":
        response = client.get(path)
    else:
        # Any page gives the session's CSRF token: the sign-in page to a visitor, the
        # password page (open to every role) to a signed-in user.
        token_from = "/login" if role is None else "/account/password"
        response = client.post_form(path, {}, token_from=token_from)

    html = response.get_data(as_text=True)
    assert response.status_code == expected, html[:2000]
    assert response.status_code < 500

    if expected == 403:
        assert "Not allowed" in html
        assert "Talent Admission Back Office</title>" in html  # rendered in the layout
        assert '<nav class="navbar' in html
    if expected == 302:
        location = response.headers["Location"]
        if role is None and (method, url) in OPEN_REDIRECTS:
            assert location == OPEN_REDIRECTS[(method, url)]
        elif role is None:
            parts = urlsplit(location)
            assert parts.path == "/login"
            if url != "/":  # the start page itself simply shows the sign-in page
                assert parse_qs(parts.query)["next"] == [path]
        else:
            wanted = SIGNED_IN_REDIRECTS[(method, url)][role]
            assert location == wanted.replace("{user}", str(target.id) if target else "") \
                .replace("{case}", str(case.id) if case else "")


def _case_with_dependant(owner):
    from datetime import date

    from backoffice.cases import services
    from backoffice.cases.models import Relationship
    from backoffice.cases.schemes import Scheme

    identity = {"family_name": "Lee", "given_names": "Mei", "chinese_name": None,
                "nationality": "GB", "passport_number": "K1234567"}
    case = services.create_case(
        owner, Scheme.QMAS, services.ApplicantData(date_of_birth=date(1990, 1, 1), **identity),
        services.CaseFacts(submitted_on=date(2026, 3, 1)))
    dependant = services.add_dependant(
        owner, case, Relationship.CHILD,
        services.IdentityData(date_of_birth=date(2015, 1, 1), **identity), False, case.version)
    _db.session.commit()
    return case, dependant


def _endpoint_for(app, method: str, url: str) -> str:
    adapter = app.url_map.bind("localhost")
    for placeholder in ("{user}", "{case}", "{dependant}"):
        url = url.replace(placeholder, "1")
    endpoint, _ = adapter.match(url, method=method)
    return endpoint


def test_every_endpoint_is_in_the_table(app):
    """Fails when a route exists that ROUTES does not cover: add a row for it."""
    covered = {(_endpoint_for(app, method, url), method) for method, url, _ in ROUTES}
    registered = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in NOT_PAGES
        for method in rule.methods - IMPLICIT_METHODS
    }
    missing = sorted(registered - covered)
    assert not missing, f"add these (endpoint, method) pairs to ROUTES: {missing}"
    assert covered <= registered


def test_the_table_check_notices_a_new_endpoint(tmp_path):
    """The guard above really fails for a route nobody added to the table."""
    fresh = build_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path)
    fresh.add_url_rule("/reports/new-feature", "reports.new_feature", lambda: "hi")
    with pytest.raises(AssertionError, match=r"reports\.new_feature"):
        test_every_endpoint_is_in_the_table(fresh)
    with fresh.app_context():
        _db.engine.dispose()

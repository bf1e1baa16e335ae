"""Security headers, CSRF, safe redirects, error pages and self-hosted assets."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.auth.models import Role, SecurityEvent, User
from backoffice.core.security import is_safe_redirect
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD, build_app

LAYOUT_MARKERS = ("Talent Admission Back Office</title>", '<nav class="navbar', "<footer")


def count(model) -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(model))


def assert_in_layout(html: str) -> None:
    for marker in LAYOUT_MARKERS:
        assert marker in html


# --- Headers ---------------------------------------------------------------------------------

def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_pages_send_security_headers(client):
    response = client.get("/login")
    headers = response.headers
    csp = csp_directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    for directive, sources in csp.items():
        for source in sources:
            # Only this site: no hosts, no schemes other than data: images, no wildcards.
            assert source in {"'self'", "'none'"} or (directive, source) == ("img-src", "data:"), (
                f"{directive} allows {source}")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin"}
    assert "Strict-Transport-Security" not in headers  # HSTS only in production over HTTPS


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.CASEWORKER, "/cases/"),
        (Role.CASEWORKER, "/account/password"),
        (Role.SUPERVISOR, "/notifications/worker"),
        (Role.ADMIN, "/admin/users"),
        (Role.ADMIN, "/admin/security-log"),
        (Role.ADMIN, "/no-such-page"),
    ],
)
def test_signed_in_pages_are_not_stored_by_caches(client, as_role, role, url):
    as_role(role)
    response = client.get(url)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in response.headers


# --- CSRF ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("role", "url", "data"),
    [
        (None, "/login", {"email": "known@example.org", "password": PASSWORD}),
        (Role.ADMIN, "/admin/users/new",
         {"full_name": "Lee Ka Yan", "email": "lee@example.org", "role": "admin",
          "password": PASSWORD, "confirm": PASSWORD}),
        (Role.CASEWORKER, "/logout", {}),
        (Role.CASEWORKER, "/account/password",
         {"current_password": PASSWORD, "new_password": "another long password",
          "confirm": "another long password"}),
    ],
)
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
        client, make_user, as_role, role, url, data, token):
    user = as_role(role)
    make_user(Role.CASEWORKER, email="known@example.org")
    users, events = count(User), count(SecurityEvent)
    signed_in_before = client.get("/account/password").status_code

    form = dict(data)
    if token:
        form["csrf_token"] = token
    response = client.post(url, data=form)

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This form has expired" in html
    assert "nothing was saved" in html
    assert_in_layout(html)
    assert (count(User), count(SecurityEvent)) == (users, events)
    assert client.get("/account/password").status_code == signed_in_before
    if user is not None:  # the password was not changed either
        assert client.post_form("/logout", token_from="/account/password").status_code == 302
        assert client.post_form("/login", {"email": user.email, "password": PASSWORD}
                                ).status_code == 302


# --- Safe redirects --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/", True),
        ("/cases/", True),
        ("/admin/users?page=2", True),
        ("/cases/#top", True),
        ("/%2F%2Fevil.example", True),  # an encoded slash is a path here, not a host
        (None, False),
        ("", False),
        ("cases/", False),
        ("//evil.example", False),
        ("///evil.example", False),
        ("/\\evil.example", False),
        ("\\\\evil.example", False),
        ("\\/evil.example", False),
        ("http://evil.example/", False),
        ("https://localhost/cases/", False),  # absolute, even to this host
        ("http:/evil.example", False),
        ("HTTPS://evil.example", False),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        (" //evil.example", False),
        ("/\t/evil.example", False),
        ("/\n/evil.example", False),
        ("/\r\nSet-Cookie: x=1", False),
        ("/\x00", False),
    ],
)
def test_is_safe_redirect(target, safe):
    assert is_safe_redirect(target) is safe


# --- Error pages -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", [None, Role.CASEWORKER])
def test_404_page_uses_the_layout(client, as_role, role):
    as_role(role)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Not found" in html
    assert_in_layout(html)
    assert "Content-Security-Policy" in response.headers


def test_405_page_uses_the_layout(client, db):
    response = client.get("/logout")
    assert response.status_code == 405
    assert_in_layout(response.get_data(as_text=True))


class Boom(RuntimeError):
    pass


@pytest.fixture
def failing_app(tmp_path):
    """A fresh app (not the shared one) with a route that raises, run as in production:
    exceptions become the 500 page instead of propagating to the test."""
    app = build_app(f"sqlite:///{tmp_path / 'boom.sqlite3'}", tmp_path,
                    PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise Boom("secret detail: password=hunter2 at /srv/backoffice/boom.py line 42")

    yield app
    with app.app_context():
        _db.engine.dispose()


def test_an_exception_renders_the_500_page_not_a_traceback(failing_app):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html
    assert "nothing was saved" in html
    assert_in_layout(html)
    for leak in ("Traceback", "Boom", "secret detail", "hunter2", "boom.py"):
        assert leak not in html
    assert response.headers["X-Frame-Options"] == "DENY"


# --- Assets ----------------------------------------------------------------------------------

class AssetLinks(HTMLParser):
    """Collects the URLs of stylesheets, scripts and icons a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("href"):
            self.urls.append(values["href"])
        elif tag in {"script", "img"} and values.get("src"):
            self.urls.append(values["src"])


def test_every_asset_of_the_login_page_is_served_by_the_app(client):
    parser = AssetLinks()
    parser.feed(client.get("/login").get_data(as_text=True))
    urls = parser.urls
    assert any(Path(url).suffix == ".css" for url in urls)
    assert any(Path(url).suffix == ".js" for url in urls)
    for url in urls:
        assert not url.startswith(("http://", "https://", "//")), url
        assert url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.data, url
        response.close()


# --- Bad input on the sign-in form -----------------------------------------------------------

CONTROL = "Remove the invisible control characters from this field."
WRONG = "The email address or password is incorrect."

@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("nul\x00@example.org", PASSWORD, CONTROL),
        ("known@example.org", "nul \x00 byte password", CONTROL),
        ("\x01\x02@example.org", PASSWORD, CONTROL),
        ("é" * 254, PASSWORD, WRONG),
        ("known@example.org", "é" * 128, WRONG),
    ],
)
def test_strange_sign_in_input_never_gives_a_500(app, monkeypatch, client, make_user, email,
                                                  password, message):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    make_user(Role.CASEWORKER, email="known@example.org")
    response = client.post_form("/login", {"email": email, "password": password})
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert message in response.get_data(as_text=True)

"""The security log: filters, keyset pages, the CSV export, and where each sign-in came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import delete

from backoffice.auth import queries
from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD, read_csv

LOG = "/admin/security-log"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def add_event(kind: SecurityEventKind, email: str, at: datetime, **fields) -> SecurityEvent:
    event = SecurityEvent(kind=kind, email=email, at=at, **fields)
    _db.session.add(event)
    return event


@pytest.fixture
def admin(client, make_user, login):
    """An admin signed in, with the log emptied of the events that made them."""
    user = make_user(Role.ADMIN, email="the.admin@example.org")
    login(user)
    _db.session.execute(delete(SecurityEvent))
    _db.session.commit()
    return user


@pytest.fixture
def scenery(admin):
    """Events over three Hong Kong days (HK is UTC+8: 16:00 UTC is midnight in HK)."""
    day = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # 2026-03-11 00:00 in Hong Kong
    add_event(SecurityEventKind.LOGIN, "chan@example.org", day - timedelta(minutes=1),
              ip="192.0.2.1")  # 2026-03-10 23:59 HK
    add_event(SecurityEventKind.LOGIN_FAILED, "chan@example.org", day, ip="198.51.100.9")
    add_event(SecurityEventKind.LOGIN_FAILED, "wong@example.org", day + timedelta(hours=5))
    add_event(SecurityEventKind.LOCKED_OUT, "wong@example.org", day + timedelta(days=1))
    add_event(SecurityEventKind.LOGIN, "ho_wing@example.org", day + timedelta(days=1, hours=23,
                                                                             minutes=59))
    _db.session.commit()


def shown(response) -> list[tuple[str, str]]:
    """(event label, email) of each row of the log's table."""
    page = text(response)
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    rows = []
    for row in body.split("<tr>")[1:]:
        cells = [c.split("</td>")[0].strip() for c in row.split("<td")[1:]]
        cells = [c[c.index(">") + 1:] for c in cells]
        if len(cells) > 2:
            rows.append((cells[1], cells[2]))
    return rows


@pytest.mark.parametrize(("query", "expected"), [
    ({}, [("Login", "ho_wing@example.org"), ("Locked out", "wong@example.org"),
          ("Login failed", "wong@example.org"), ("Login failed", "chan@example.org"),
          ("Login", "chan@example.org")]),
    ({"email": "chan@example.org"}, [("Login failed", "chan@example.org"),
                                     ("Login", "chan@example.org")]),
    ({"email": "WONG"}, [("Locked out", "wong@example.org"), ("Login failed", "wong@example.org")]),
    ({"email": "_"}, [("Login", "ho_wing@example.org")]),  # _ is a letter, not a wildcard
    ({"email": "%"}, []),
    ({"kind": "login_failed"}, [("Login failed", "wong@example.org"),
                                ("Login failed", "chan@example.org")]),
    ({"date_from": "2026-03-11", "date_to": "2026-03-11"},
     [("Login failed", "wong@example.org"), ("Login failed", "chan@example.org")]),
    ({"date_to": "2026-03-10"}, [("Login", "chan@example.org")]),
    ({"date_from": "2026-03-12"}, [("Login", "ho_wing@example.org"),
                                   ("Locked out", "wong@example.org")]),
    ({"date_from": "0001-01-01", "date_to": "9999-12-31", "kind": "locked_out"},
     [("Locked out", "wong@example.org")]),
    ({"email": "wong", "kind": "login_failed", "date_from": "2026-03-11"},
     [("Login failed", "wong@example.org")]),
])
def test_filters(client, scenery, query, expected):
    response = client.get(LOG, query_string=query)
    assert response.status_code == 200
    assert shown(response) == expected


@pytest.mark.parametrize(("query", "message"), [
    ({"date_from": "2026-03-12", "date_to": "2026-03-11"}, "The end date is before the start"),
    ({"date_from": "2026-02-30"}, "Not a valid date value."),
    ({"kind": "nope"}, "Not a valid choice."),
])
def test_a_bad_filter_is_explained_beside_it(client, scenery, query, message):
    response = client.get(LOG, query_string=query)
    assert response.status_code == 422
    assert message in text(response)
    assert len(shown(response)) == 5  # the whole log, unfiltered, under the explanation


def test_keyset_pages_walk_the_whole_log_once_newest_first(client, admin):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(230):
        # Pairs share a timestamp, so the id must break the tie.
        add_event(SecurityEventKind.LOGIN_FAILED, f"user{n:03d}@example.org",
                  start + timedelta(seconds=n // 2))
    _db.session.commit()
    seen, url, pages = [], LOG, 0
    while url:
        page = text(client.get(url))
        seen += [email for _, email in shown(client.get(url))]
        pages += 1
        marker = 'href="/admin/security-log?after='
        url = ("/admin/security-log?after=" + page.split(marker)[1].split('"')[0]
               if marker in page else None)
        assert pages < 10
    assert pages == 3
    assert seen == [f"user{n:03d}@example.org" for n in reversed(range(230))]


def test_paging_keeps_the_filters(client, admin):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(300):
        add_event(SecurityEventKind.LOGIN_FAILED if n % 2 else SecurityEventKind.LOGIN,
                  f"u{n}@example.org", start + timedelta(minutes=n))
    _db.session.commit()
    page = text(client.get(LOG, query_string={"kind": "login"}))
    next_link = page.split(">Next page<")[0].rsplit('href="', 1)[1].split('"')[0]
    assert "kind=login" in next_link and "after=" in next_link
    second = client.get(next_link.replace("&amp;", "&"))
    rows = shown(second)
    assert len(rows) == 50
    assert {label for label, _ in rows} == {"Login"}
    assert "Next page" not in text(second)
    assert "First page" in text(second)


@pytest.mark.parametrize("cursor", ["", "nope", "1~2~3", "~", "-1~-1", "99999999999999999999~1",
                                    "1764140000123456~99999999999", "1e309~1", "\x00"])
def test_a_cursor_the_app_never_wrote_reads_as_the_first_page(client, scenery, cursor):
    response = client.get(LOG, query_string={"after": cursor})
    assert response.status_code == 200
    assert len(shown(response)) == 5


def test_sign_ins_show_the_address_and_the_browser(client, make_user):
    worker = make_user(Role.CASEWORKER, email="desk@example.org")
    client.post_form("/login", {"email": worker.email, "password": PASSWORD},
                     environ_base={"REMOTE_ADDR": "192.0.2.44"}, headers={"User-Agent": FIREFOX})
    client.post_form("/logout", token_from="/cases/")
    admin = make_user(Role.ADMIN)
    client.post_form("/login", {"email": admin.email, "password": PASSWORD})
    page = text(client.get(LOG, query_string={"email": "desk@", "kind": "login"}))
    assert "<td class=\"mono\">192.0.2.44</td>" in page
    assert FIREFOX in page
    assert "<th scope=\"col\">Browser</th>" in page


# --- The export ------------------------------------------------------------------------------

def export(client, **query) -> list[dict[str, str]]:
    """The export's rows, each by its English column header."""
    response = client.get(f"{LOG}/export.csv", query_string=query)
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header == [str(name) for name in queries.CSV_HEADER]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_export_has_every_filtered_event(client, scenery):
    rows = export(client, email="wong")
    assert [(r["Event (code)"], r["Event"], r["Account email"]) for r in rows] == [
        ("locked_out", "Locked out", "wong@example.org"),
        ("login_failed", "Login failed", "wong@example.org")]
    # 21:00 UTC on 10 March is 05:00 on 11 March in Hong Kong.
    assert rows[1]["Time (Hong Kong time)"] == "2026-03-11 05:00:00"
    assert len(export(client)) == 5


def test_the_export_is_safe_to_open_in_a_spreadsheet(client, admin):
    add_event(SecurityEventKind.LOGIN_FAILED, "=cmd@example.org", datetime.now(UTC),
              user_agent='=HYPERLINK("https://evil.example","x")', ip="@1.2.3.4",
              detail="+1 -2")
    _db.session.commit()
    [row] = export(client)
    assert row["Account email"] == "'=cmd@example.org"
    assert row["Browser"] == "'=HYPERLINK(\"https://evil.example\",\"x\")"
    assert row["IP address"] == "'@1.2.3.4"
    assert row["Detail"] == "'+1 -2"


def test_the_export_names_who_acted(client, make_user, admin):
    worker = make_user(Role.CASEWORKER, email="promoted@example.org")
    client.post_form(f"/admin/users/{worker.id}/role", {"role": "supervisor"},
                     token_from=f"/admin/users/{worker.id}")
    rows = export(client, kind="role_changed")
    assert [(r["Account email"], r["By"], r["Detail"]) for r in rows] == [
        ("promoted@example.org", "the.admin@example.org", "Caseworker → Supervisor")]


def test_an_export_with_a_bad_filter_goes_back_to_the_log_that_explains_it(client, scenery):
    response = client.get(f"{LOG}/export.csv", query_string={"date_from": "2026-02-30"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(LOG + "?")
    page = client.get(response.headers["Location"])
    assert page.status_code == 422
    assert "Not a valid date value." in text(page)

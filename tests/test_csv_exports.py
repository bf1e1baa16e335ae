"""Every CSV export of the back office, as a spreadsheet opens it.

One table of the three exports (the cases queue, the security log, the QMAS quota), read back
the way Excel and Python read them: the UTF-8 byte order mark first, the header row in the
reader's language, each coded value beside its name in that language, instants in Hong Kong
time to the second, and a file name that says which filters were used and when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from sqlalchemy import delete, update

from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme, step_label
from backoffice.core.i18n import force_language
from backoffice.core.identity import country_name
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaAllocation
from tests.cases.factories import make_case
from tests.conftest import read_csv

ZH = "zh_Hant_HK"
YEAR = 2026
# A second before midnight UTC: already the next morning (07:59:59) in Hong Kong. The
# microseconds must be dropped, not rounded up to 08:00:00.
LATE_UTC = datetime(YEAR, 12, 1, 23, 59, 59, 987_654, tzinfo=UTC)
LATE_HK = "2026-12-02 07:59:59"
# The moment of the export, for its file name: 00:05 on 2 December in Hong Kong.
EXPORTED_AT = datetime(YEAR, 12, 1, 16, 5, 42, tzinfo=UTC)
STAMP = "2026-12-02T0005"


@dataclass(frozen=True)
class Export:
    url: str
    role: Role
    header: dict[str, list[str]]  # by language
    instants: tuple[str, ...]  # the English headers of the columns that hold instants


EXPORTS = {
    "cases": Export(
        "/cases/queue/all/export.csv", Role.SUPERVISOR,
        {"en": ["Reference", "Scheme (code)", "Scheme", "Status (code)", "Status",
                "Submitted on", "Family name", "Given names", "Chinese name",
                "Nationality (code)", "Nationality", "Passport (masked)", "HKID (masked)",
                "Assignee", "Last updated (Hong Kong time)"],
         ZH: ["檔案編號", "計劃（代碼）", "計劃", "狀態（代碼）", "狀態", "遞交日期", "姓", "名",
              "中文姓名", "國籍（代碼）", "國籍", "護照號碼（已遮蓋）", "香港身份證號碼（已遮蓋）",
              "負責人員", "最後更新時間（香港時間）"]},
        ("Last updated (Hong Kong time)",)),
    "security log": Export(
        "/admin/security-log/export.csv", Role.ADMIN,
        {"en": ["Time (Hong Kong time)", "Event (code)", "Event", "Account email", "By",
                "IP address", "Browser", "Detail"],
         ZH: ["時間（香港時間）", "事項（代碼）", "事項", "帳戶電郵", "執行者", "IP地址", "瀏覽器",
              "詳情"]},
        ("Time (Hong Kong time)",)),
    "quota": Export(
        f"/quota/export.csv?year={YEAR}", Role.SUPERVISOR,
        {"en": ["Reference", "Family name", "Given names", "Chinese name", "Nationality (code)",
                "Nationality", "Allocated (Hong Kong time)", "Released (Hong Kong time)",
                "Release step (code)", "Release step", "Release reason"],
         ZH: ["檔案編號", "姓", "名", "中文姓名", "國籍（代碼）", "國籍", "分配時間（香港時間）",
              "釋出時間（香港時間）", "釋出步驟（代碼）", "釋出步驟", "釋出理由"]},
        ("Allocated (Hong Kong time)", "Released (Hong Kong time)")),
}

# The name of each kind of code, in the reader's language, from the one place that names it.
NAMES = {
    "Scheme (code)": lambda code: Scheme(code).label,
    "Status (code)": lambda code: CaseStatus(code).label,
    "Nationality (code)": country_name,
    "Event (code)": lambda code: SecurityEventKind(code).label,
    "Release step (code)": step_label,
}


@pytest.fixture
def scenery(db, make_user):
    """Cases of several schemes, statuses and nationalities, a QMAS year with a place given
    back, and security events of several kinds; every instant a second before midnight UTC."""
    supervisor = make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", YEAR, 10)
    make_case(supervisor, Scheme.QMAS, CaseStatus.APPROVED, nationality="GB")
    released = make_case(supervisor, Scheme.QMAS, CaseStatus.APPROVED, nationality="PH")
    quota.release_place(released.id, supervisor, "withdraw", "The applicant declined.")
    make_case(supervisor, Scheme.GEP_PRO, CaseStatus.UNDER_REVIEW, nationality="IN")
    make_case(supervisor, Scheme.ASSG)
    _db.session.execute(delete(SecurityEvent))
    for kind in (SecurityEventKind.LOGIN, SecurityEventKind.LOGIN_FAILED,
                 SecurityEventKind.LOCKED_OUT):
        _db.session.add(SecurityEvent(kind=kind, email="chan@example.org", at=LATE_UTC,
                                      ip="192.0.2.1"))
    _db.session.execute(update(Case).values(updated_at=LATE_UTC))
    _db.session.execute(update(QuotaAllocation).values(allocated_at=LATE_UTC))
    _db.session.execute(update(QuotaAllocation).where(QuotaAllocation.released_at.is_not(None))
                        .values(released_at=LATE_UTC))
    _db.session.commit()


@pytest.fixture
def reader(client, make_user, login):
    """Sign in someone who may take ``export``, reading in ``language``."""

    def sign_in(export: Export, language: str):
        user = make_user(export.role)
        user.language = language
        _db.session.commit()
        login(user)
        # The log keeps the scene's events only (the sign-in just made is of this instant).
        _db.session.execute(delete(SecurityEvent).where(SecurityEvent.email == user.email))
        _db.session.commit()
        return user

    return sign_in


def rows_by_header(rows: list[list[str]], english: list[str]) -> list[dict[str, str]]:
    """The rows after the header, each by the English name of its column."""
    return [dict(zip(english, row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("language", ["en", ZH])
@pytest.mark.parametrize("name", EXPORTS)
def test_an_export_opens_with_the_bom_and_its_header_in_the_readers_language(
        client, scenery, reader, name, language):
    export = EXPORTS[name]
    reader(export, language)
    response = client.get(export.url)
    assert response.get_data()[:3] == b"\xef\xbb\xbf"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = read_csv(response)  # Python's csv module, after decoding utf-8-sig
    assert rows[0] == export.header[language]
    assert len(rows) > 2 and all(len(row) == len(rows[0]) for row in rows)


@pytest.mark.parametrize("language", ["en", ZH])
@pytest.mark.parametrize("name", EXPORTS)
def test_every_code_has_its_name_in_the_readers_language_beside_it(
        app, client, scenery, reader, name, language):
    export = EXPORTS[name]
    reader(export, language)
    english = export.header["en"]
    rows = rows_by_header(read_csv(client.get(export.url)), english)
    coded = [header for header in english if header.endswith(" (code)")]
    assert coded, "every export has at least one coded value"
    codes: dict[str, set[str]] = {header: set() for header in coded}
    with app.test_request_context(), force_language(language):
        for header in coded:
            label = english[english.index(header) + 1]
            assert label == header.removesuffix(" (code)")
            for row in rows:
                code = row[header]
                assert row[label] == (str(NAMES[header](code)) if code else ""), (header, row)
                codes[header].add(code)
    # Several values of each code (the one step that gives a place back aside), so that a
    # name read from the wrong row or column would show.
    assert all(len(codes[header] - {""}) > (header != "Release step (code)")
               for header in coded), codes


@pytest.mark.parametrize("name", EXPORTS)
def test_instants_are_hong_kong_time_to_the_second(client, scenery, reader, name):
    export = EXPORTS[name]
    reader(export, "en")
    rows = rows_by_header(read_csv(client.get(export.url)), export.header["en"])
    cells = [row[header] for row in rows for header in export.instants if row[header]]
    assert cells and set(cells) == {LATE_HK}


def test_dates_are_iso_hong_kong_dates(client, scenery, reader):
    reader(EXPORTS["cases"], ZH)
    rows = rows_by_header(read_csv(client.get(EXPORTS["cases"].url)),
                          EXPORTS["cases"].header["en"])
    assert {row["Submitted on"] for row in rows} == {"2026-03-02"}


# --- File names ---------------------------------------------------------------------------

def filenames(response) -> tuple[str, str]:
    """The attachment's two names: the ASCII ``filename=`` and the UTF-8 ``filename*=``."""
    disposition = response.headers["Content-Disposition"]
    match = re.fullmatch(r"attachment; filename=\"([A-Za-z0-9_.-]+)\"; "
                         r"filename\*=UTF-8''([A-Za-z0-9_.%-]+)", disposition)
    assert match, disposition
    return match.group(1), unquote(match.group(2))


@pytest.mark.parametrize(("url", "role", "query", "ascii", "utf8"), [
    ("/cases/queue/all/export.csv", Role.SUPERVISOR, {}, f"cases-all-{STAMP}.csv", None),
    ("/cases/queue/all/export.csv", Role.SUPERVISOR,
     {"scheme": "QMAS", "status": "under_review", "q": "chan", "sort": "oldest"},
     f"cases-all-QMAS-under_review-q_chan-{STAMP}.csv", None),
    ("/cases/queue/mine/export.csv", Role.CASEWORKER, {"q": "陳大文"},
     f"cases-mine-q-{STAMP}.csv", f"cases-mine-q_陳大文-{STAMP}.csv"),
    ("/cases/queue/all/export.csv", Role.SUPERVISOR, {"q": 'Chan Tai-man/../"x";'},
     f"cases-all-q_Chan_Tai-man_x-{STAMP}.csv", None),
    # CHAN in full-width letters.
    ("/cases/queue/all/export.csv", Role.SUPERVISOR, {"q": "\uff23\uff28\uff21\uff2e"},
     f"cases-all-q_CHAN-{STAMP}.csv", None),
    ("/cases/queue/all/export.csv", Role.SUPERVISOR, {"q": "x" * 100},
     f"cases-all-q_{'x' * 38}-{STAMP}.csv", None),
    # Identity numbers stay masked, in the file name as in the file.
    ("/cases/queue/all/export.csv", Role.SUPERVISOR, {"q": "a123456(3)"},
     f"cases-all-q_A123xxxx-{STAMP}.csv", None),
    ("/cases/queue/all/export.csv", Role.SUPERVISOR, {"q": "533 380 006"},
     f"cases-all-q_xxxxx006-{STAMP}.csv", None),
    ("/cases/queue/all/export.csv", Role.SUPERVISOR,
     {"nationality": "GB", "submitted_from": "2026-01-01", "submitted_to": "2026-03-31"},
     f"cases-all-nationality_GB-from_2026-01-01-to_2026-03-31-{STAMP}.csv", None),
    ("/cases/queue/awaiting-quota/export.csv", Role.SUPERVISOR, {"scheme": "QMAS"},
     f"cases-awaiting-quota-QMAS-{STAMP}.csv", None),
    ("/cases/queue/all/export.csv", Role.SUPERVISOR, {"assignee": "{assignee}"},
     f"cases-all-assignee_Ho_Ka-yan-{STAMP}.csv", None),
    # The assignee filter applies to All cases only: other queues do not name it.
    ("/cases/queue/mine/export.csv", Role.SUPERVISOR, {"assignee": "{assignee}"},
     f"cases-mine-{STAMP}.csv", None),
    ("/admin/security-log/export.csv", Role.ADMIN, {}, f"security-log-{STAMP}.csv", None),
    ("/admin/security-log/export.csv", Role.ADMIN,
     {"email": "Wong@Example.org", "kind": "login_failed", "date_from": "2026-03-01",
      "date_to": "2026-03-31"},
     f"security-log-email_wong_example_org-login_failed-from_2026-03-01-to_2026-03-31-{STAMP}"
     ".csv", None),
    ("/admin/security-log/export.csv", Role.ADMIN, {"email": "陳"},
     f"security-log-email-{STAMP}.csv", f"security-log-email_陳-{STAMP}.csv"),
    ("/quota/export.csv", Role.SUPERVISOR, {"year": "2027"},
     f"qmas-quota-2027-allocations-{STAMP}.csv", None),
])
def test_the_file_name_says_the_filters_in_use_and_the_hong_kong_minute(
        client, as_role, make_user, monkeypatch, url, role, query, ascii, utf8):
    monkeypatch.setattr("backoffice.core.export.utcnow", lambda: EXPORTED_AT)
    assignee = make_user(Role.CASEWORKER, full_name="Ho Ka-yan")
    as_role(role)
    query = {key: value.format(assignee=assignee.id) for key, value in query.items()}
    response = client.get(url, query_string=query)
    read_csv(response)
    assert filenames(response) == (ascii, utf8 or ascii)


def test_a_long_chinese_file_name_is_cut_to_what_file_systems_take(client, as_role,
                                                                    monkeypatch):
    monkeypatch.setattr("backoffice.core.export.utcnow", lambda: EXPORTED_AT)
    as_role(Role.SUPERVISOR)
    response = client.get("/cases/queue/all/export.csv", query_string={
        "scheme": "GEP_PRO", "status": "extension_requested", "nationality": "GB",
        "submitted_from": "2026-01-01", "submitted_to": "2026-12-31", "q": "陳" * 100})
    ascii, utf8 = filenames(response)
    assert ascii == ("cases-all-GEP_PRO-extension_requested-nationality_GB-from_2026-01-01-"
                     f"to_2026-12-31-q-{STAMP}.csv")
    assert utf8.startswith("cases-all-GEP_PRO-extension_requested-nationality_GB-"
                           "from_2026-01-01-to_2026-12-31-q_陳陳")
    assert utf8.endswith(f"陳-{STAMP}.csv")
    assert len(utf8.encode()) <= 150 + len(f"-{STAMP}.csv")

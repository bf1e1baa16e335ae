"""The account pages in Traditional Chinese: sign-in, the users list, a lockout, the security
log's details (stored as a message key and values, written in the reader's language) and the
language an account reads the back office in."""

# The Chinese strings use full-width punctuation, as the catalogue (and HK usage) has it.

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, select

from backoffice.auth import services as accounts
from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, User
from backoffice.core.i18n import force_language
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD, read_csv

ZH = "zh_Hant_HK"
ZH_HTML = '<html lang="zh-Hant-HK">'


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def in_chinese(user: User) -> User:
    user.language = ZH
    _db.session.commit()
    return user


# --- Pages in Chinese ---------------------------------------------------------------------

@pytest.mark.parametrize(("expected", "english"), [
    ("<title>登入 · ", "<title>Sign in"),
    ("電郵地址", "Email address"),
    ("密碼", "Password"),
    ('value="登入"', 'value="Sign in"'),
    ("連續登入失敗5次後，帳戶會對該網絡地址鎖定15分鐘", "failed attempts in a row"),
])
def test_the_sign_in_page_is_in_chinese(client, expected, english):
    client.set_cookie("lang", ZH)
    page = text(client.get("/login"))
    assert ZH_HTML in page
    assert expected in page
    assert english not in page


def test_a_wrong_password_is_refused_in_chinese(client, make_user):
    user = make_user()
    client.set_cookie("lang", ZH)
    response = client.post_form("/login", {"email": user.email, "password": "not it at all!"})
    assert response.status_code == 422
    page = text(response)
    assert "電郵地址或密碼不正確。" in page
    assert "出現問題" in page  # the error summary's heading
    assert "incorrect" not in page


def test_a_lockout_is_refused_in_chinese_with_the_time_in_chinese(app, client, make_user):
    user = make_user()
    client.set_cookie("lang", ZH)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = client.post_form("/login", {"email": user.email, "password": "wrong guess!!"})
    assert response.status_code == 429
    page = text(response)
    assert "從你的網絡地址登入此帳戶失敗的次數過多。請於香港時間" in page
    assert "年" in page.split("請於香港時間")[1][:20]  # the time is written the Chinese way
    assert "後再試，或請系統管理員解除帳戶鎖定。" in page
    assert "Too many" not in page and "Hong Kong time" not in page


@pytest.mark.parametrize("expected", [
    "<title>用戶 · ", "開立帳戶", "姓名", "電郵", "角色", "狀態", "上次登入", "個案主任",
    "系統管理員", "使用中", "已停用", "從未", ">保安記錄</a>",
])
def test_the_users_page_is_in_chinese(client, make_user, login, expected):
    admin = in_chinese(make_user(Role.ADMIN, full_name="Lee Siu Ming"))
    make_user(Role.CASEWORKER, active=False, full_name="Chan Tai Man")
    login(admin)
    page = text(client.get("/admin/users"))
    assert ZH_HTML in page
    assert expected in page
    for english in ("Create account", "Last sign-in", "Caseworker", "Deactivated", "Never"):
        assert english not in page


# --- The security log's details -------------------------------------------------------------

UNTIL = "2026-03-10T21:00:00+00:00"  # 5:00 on 11 March in Hong Kong
DETAILS = [
    ("locked_out", {"failures": 5, "address": "203.0.113.9", "until": UNTIL},
     "5 failed attempts from 203.0.113.9; that address is locked out until 11 Mar 2026",
     "從203.0.113.9登入失敗5次；該地址已被鎖定至2026年3月11日 上午5:00。"),
    ("locked_out", {"failures": 1, "address": "", "until": UNTIL},
     "1 failed attempt from unknown address; that address is locked out until 11 Mar 2026",
     "從不明地址登入失敗1次；該地址已被鎖定至2026年3月11日 上午5:00。"),
    ("unlocked", {"addresses": ["127.0.0.1", ""]},
     "Unlocked for 127.0.0.1, unknown address.", "已為127.0.0.1、不明地址解除鎖定。"),
    ("user_created", {"role": "admin"},
     "Role: Admin; the password was chosen by the user.", "角色：系統管理員；密碼由用戶自行設定。"),
    ("user_created_temporary", {"role": "caseworker"},
     "Role: Caseworker; temporary password.", "角色：個案主任；臨時密碼。"),
    ("role_changed", {"old": "caseworker", "new": "supervisor"},
     "Caseworker → Supervisor", "個案主任 → 主管"),
    ("password_reset", {},
     "Temporary password; a new one must be chosen at next sign-in.",
     "臨時密碼；下次登入時須設定新密碼。"),
]


@pytest.mark.parametrize(("key", "values", "english", "chinese"), DETAILS,
                         ids=[f"{row[0]}-{n}" for n, row in enumerate(DETAILS)])
def test_a_detail_is_written_in_the_readers_language(app, key, values, english, chinese):
    event = SimpleNamespace(detail=None, detail_data=accounts.detail_of(key, **values))
    with app.test_request_context():
        with force_language("en"):
            assert accounts.describe_detail(event).startswith(english)
        with force_language(ZH):
            assert accounts.describe_detail(event) == chinese


@pytest.mark.parametrize(("detail", "detail_data", "shown"), [
    ("role caseworker; temporary password", None, "role caseworker; temporary password"),
    (None, None, ""),
    (None, {"key": "no_such_key", "values": {}}, "no_such_key"),
    (None, {"key": "role_changed", "values": {"old": "caseworker"}}, "role_changed"),
    (None, {"key": "role_changed", "values": {"old": "clerk", "new": "admin"}},
     "clerk → 系統管理員"),
])
def test_an_older_or_odd_detail_is_shown_as_it_is(app, detail, detail_data, shown):
    event = SimpleNamespace(detail=detail, detail_data=detail_data)
    with app.test_request_context(), force_language(ZH):
        assert accounts.describe_detail(event) == shown


def test_an_unknown_detail_key_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown security event detail"):
        accounts.detail_of("made_up")


@pytest.fixture
def chinese_admin(client, make_user, login):
    admin = in_chinese(make_user(Role.ADMIN, email="the.admin@example.org"))
    login(admin)
    _db.session.execute(delete(SecurityEvent))
    _db.session.commit()
    return admin


def test_the_log_page_and_its_export_write_details_in_chinese(client, make_user, chinese_admin):
    worker = make_user(Role.CASEWORKER, email="promoted@example.org")
    response = client.post_form(f"/admin/users/{worker.id}/role", {"role": "supervisor"},
                                token_from=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    _db.session.add(SecurityEvent(kind=SecurityEventKind.LOGIN, email="old@example.org",
                                  at=datetime(2026, 1, 2, tzinfo=UTC),
                                  detail="an older English detail"))
    _db.session.commit()
    [event] = _db.session.scalars(select(SecurityEvent).where(
        SecurityEvent.kind == SecurityEventKind.ROLE_CHANGED))
    assert event.detail is None

    page = text(client.get("/admin/security-log"))
    assert ZH_HTML in page
    for words in ("<td>個案主任 → 主管</td>", "<td>已更改角色</td>", "匯出 CSV", "篩選保安記錄",
                  "<td>an older English detail</td>"):
        assert words in page
    assert "Caseworker → Supervisor" not in page and "Role changed" not in page

    rows = read_csv(client.get("/admin/security-log/export.csv"))
    assert rows[0] == ["時間（香港時間）", "事項（代碼）", "事項", "帳戶電郵", "執行者", "IP地址",
                       "瀏覽器", "詳情"]
    # The kind twice: its code (data, the same for every reader) and its name in Chinese.
    by_kind = {row[1]: row for row in rows[1:]}
    assert by_kind["role_changed"][2] == "已更改角色"
    assert by_kind["role_changed"][3] == "promoted@example.org"
    assert by_kind["role_changed"][7] == "個案主任 → 主管"
    assert by_kind["user_created"][7] == "角色：個案主任；密碼由用戶自行設定。"
    assert by_kind["login"][7] == "an older English detail"
    assert by_kind["login"][0] == "2026-01-02 08:00:00"  # midnight UTC, 8 a.m. in Hong Kong


def test_the_export_is_in_english_for_an_english_reader(client, make_user, login):
    admin = make_user(Role.ADMIN)
    login(admin)
    worker = make_user(Role.CASEWORKER)
    client.post_form(f"/admin/users/{worker.id}/role", {"role": "supervisor"},
                     token_from=f"/admin/users/{worker.id}")
    rows = read_csv(client.get("/admin/security-log/export.csv",
                               query_string={"kind": "role_changed"}))
    assert rows[0][:3] == ["Time (Hong Kong time)", "Event (code)", "Event"]
    assert [row[1:3] + row[7:] for row in rows[1:]] == [
        ["role_changed", "Role changed", "Caseworker → Supervisor"]]


# --- The language an account reads the back office in ----------------------------------------

def test_the_account_page_saves_the_language_and_the_next_page_is_chinese(client, make_user,
                                                                         login):
    user = make_user(Role.CASEWORKER)
    login(user)
    page = text(client.get("/account/password"))
    assert '<html lang="en-HK">' in page
    assert '<option value="en" selected>English</option>' in page
    response = client.post_form("/account/language", {"language": ZH},
                                token_from="/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"
    _db.session.expire_all()
    assert _db.session.get(User, user.id).language == ZH
    page = text(client.get(response.headers["Location"]))
    assert ZH_HTML in page
    assert "由現在起，後勤系統會以繁體中文顯示。" in page  # said in the language chosen
    assert "更改你的密碼" in page and "語言" in page
    assert f'<option value="{ZH}" selected>繁體中文</option>' in page
    assert "Change your password" not in page


@pytest.mark.parametrize("code", ["fr", "zh_Hans_CN", "ZH_HANT_HK", "", "x" * 300])
def test_the_account_page_refuses_a_language_it_does_not_offer(client, make_user, login, code):
    user = make_user(Role.CASEWORKER)
    login(user)
    response = client.post_form("/account/language", {"language": code},
                                token_from="/account/password")
    assert response.status_code == 422
    page = text(response)
    assert "Choose one of the languages offered." in page
    assert "Change your password" in page  # the same account page, with its other form
    _db.session.expire_all()
    assert _db.session.get(User, user.id).language == "en"


def test_the_refusal_of_an_unknown_language_is_in_chinese_for_a_chinese_reader(
        client, make_user, login):
    user = in_chinese(make_user(Role.CASEWORKER))
    login(user)
    page = text(client.post_form("/account/language", {"language": "fr"},
                                 token_from="/account/password"))
    assert "請從所列語言中選擇一種。" in page
    assert "Choose one of" not in page


def test_an_admin_sets_a_users_language_on_their_page(client, make_user, login):
    admin = make_user(Role.ADMIN)
    login(admin)
    worker = make_user(Role.CASEWORKER)
    page = text(client.get(f"/admin/users/{worker.id}"))
    assert "<dt class=\"col-sm-3\">Language</dt><dd class=\"col-sm-9\">English</dd>" in page
    response = client.post_form(f"/admin/users/{worker.id}/language", {"language": ZH},
                                token_from=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert f"{worker.full_name} reads the back office in 繁體中文." in page
    _db.session.expire_all()
    assert _db.session.get(User, worker.id).language == ZH
    assert '<html lang="en-HK">' in page  # the admin's own language is unchanged


@pytest.mark.parametrize(("sent", "stored"), [({}, "en"), ({"language": "en"}, "en"),
                                              ({"language": ZH}, ZH)])
def test_a_new_account_gets_the_language_chosen_for_it(client, make_user, login, sent, stored):
    login(make_user(Role.ADMIN))
    response = client.post_form("/admin/users/new", {
        "full_name": "Wong Ka Yan", "email": "ka.yan@example.org", "role": "caseworker",
        "password": "a long initial password", "confirm": "a long initial password", **sent})
    assert response.status_code == 302
    user = _db.session.scalar(select(User).where(User.email == "ka.yan@example.org"))
    assert user.language == stored


def test_the_create_user_service_refuses_an_unknown_language(db):
    with pytest.raises(accounts.AccountError, match=r"Choose one of the languages offered\."):
        accounts.create_user(None, email="a@example.org", full_name="A", role=Role.CASEWORKER,
                             password=PASSWORD, language="fr")


def test_a_chinese_reader_signs_in_and_is_greeted_in_chinese(client, make_user):
    user = in_chinese(make_user(Role.CASEWORKER))
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD},
                                follow_redirects=True)
    page = text(response)
    assert ZH_HTML in page
    assert f"已以{user.full_name}的身分登入。" in page

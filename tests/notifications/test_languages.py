"""Reminders and notification pages in both languages: an email is written in its
recipient's language (the applicant's own, or the account's), in the worker too, where there
is no request; the centre writes a reminder's title in the reader's language at display time;
the supervisors' pages read in Chinese with no English sentence left."""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from flask import has_request_context, render_template_string
from flask_babel import get_locale, gettext
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.cases.models import DeadlineState
from backoffice.core.i18n import force_language, format_date
from backoffice.extensions import db as _db
from backoffice.notifications import services, tasks
from backoffice.notifications.models import Channel, Notification, Reminder
from tests.cases.factories import NOW, TODAY
from tests.notifications.test_pages import _reminders_in_every_state
from tests.notifications.test_planning import APPLICANT_EMAIL, plan, stay_case

ZH = "zh_Hant_HK"
CHANNELS_ZH = {Channel.EMAIL: "<td>電郵</td>", Channel.IN_APP: "<td>系統內</td>"}


@pytest.fixture
def frozen_today(monkeypatch):
    monkeypatch.setattr("backoffice.core.dates.hk_today", lambda now=None: TODAY)


@pytest.fixture
def outbox(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", tmp_path / "mail")
    return tmp_path / "mail"


# --- The worker: no request, a forced language --------------------------------------------------

@pytest.mark.parametrize(("code", "locale", "word"), [
    ("en", "en_HK", "Notifications"), (ZH, "zh_Hant_HK", "通知"), (None, "en_HK", "Notifications"),
])
def test_force_language_works_in_an_app_context_without_a_request(app, code, locale, word):
    """The worker runs each task in an app context and no request: Flask-Babel's locale and
    catalogue there follow force_language, and go back to English after it."""
    with app.app_context():
        assert not has_request_context()
        assert str(get_locale()) == "en_HK"
        with force_language(code):
            assert str(get_locale()) == locale
            assert gettext("Notifications") == word
            assert render_template_string('{{ _("Notifications") }}') == word
        assert str(get_locale()) == "en_HK"
        assert gettext("Notifications") == "Notifications"


@pytest.mark.parametrize(("applicant_language", "caseworker_language"), [
    ("en", "en"), (ZH, "en"), ("en", ZH), (ZH, ZH),
])
def test_the_dispatch_task_writes_each_email_in_its_recipients_language(
        app, db, make_user, outbox, frozen_today, applicant_language, caseworker_language):
    caseworker = make_user(Role.CASEWORKER)
    caseworker.language = caseworker_language
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=3))
    case.applicant.language = applicant_language
    db.session.commit()
    plan(now=NOW)
    assert not has_request_context()  # as in the worker: an app context, no request
    assert tasks.dispatch_reminders.run() == {"sent": 3}

    wanted = {APPLICANT_EMAIL: applicant_language, caseworker.email: caseworker_language}
    sent = {}
    for path in outbox.glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        sent[message["To"]] = message
    assert set(sent) == set(wanted)
    for address, language in wanted.items():
        message = sent[address]
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        with app.app_context(), force_language(language):
            due = format_date(deadline.due_on)
        if address == APPLICANT_EMAIL:  # the applicant's own words
            subject, opening = {
                ZH: (f"在港逗留期限屆滿：{due}（檔案編號 {case.reference}）",
                     f"閣下獲准在港逗留的期限於{due}屆滿。"),
                "en": (f"End of your permitted stay in Hong Kong: {due} "
                       f"(reference {case.reference})",
                       f"Your permitted stay in Hong Kong ends on {due}."),
            }[language]
            assert message["Subject"] == subject
            assert text.splitlines()[2] == opening
            assert f'<html lang="{"zh-Hant-HK" if language == ZH else "en-HK"}">' in html
            assert ("閣下" in text) is (language == ZH)
            assert ("Please quote" in text) is (language == "en")
        elif language == ZH:
            assert message["Subject"] == f"逗留期限於{due}屆滿（3 日後）：{case.reference}"
            assert text.startswith(f"提示：個案 {case.reference} 的逗留期限於{due}屆滿")
            assert '<html lang="zh-Hant-HK">' in html
            assert "Reminder" not in text and "Hong Kong dates" not in text
        else:
            assert message["Subject"] == f"Stay ends on {due} (in 3 days): {case.reference}"
            assert text.startswith(f"Reminder: the stay of case {case.reference} ends on {due}")
            assert '<html lang="en-HK">' in html
            assert "提示" not in text


# --- The notification centre --------------------------------------------------------------------

def _delivered_in_app(db, caseworker) -> tuple[Notification, str]:
    case, _ = stay_case(caseworker, TODAY + timedelta(days=20), email_consent=False)
    plan(now=NOW)
    (reminder,) = db.session.scalars(select(Reminder).where(Reminder.channel == Channel.IN_APP))
    services.claim_due(now=NOW)
    prepared = services.prepare([reminder.id])
    services.deliver_prepared(prepared[reminder.id], now=NOW)
    db.session.commit()
    return db.session.scalars(select(Notification)).one(), case.reference


@pytest.mark.parametrize(("delivered_in", "read_in", "title", "absent"), [
    ("en", "en", "Stay ends on 5 Apr 2026 (in 20 days): {ref}", "逗留期限"),
    ("en", ZH, "逗留期限於2026年4月5日屆滿（20 日後）：{ref}", "Stay ends on"),
    (ZH, "en", "Stay ends on 5 Apr 2026 (in 20 days): {ref}", "逗留期限"),
    (ZH, ZH, "逗留期限於2026年4月5日屆滿（20 日後）：{ref}", "Stay ends on"),
])
def test_the_centre_writes_a_reminder_in_the_readers_language(
        db, client, as_role, frozen_today, delivered_in, read_in, title, absent):
    """The stored title is the recipient's language on delivery; the centre writes it again
    in the language the reader has now (one who switched language reads it in the new one)."""
    caseworker = as_role(Role.CASEWORKER)
    caseworker.language = delivered_in
    db.session.commit()
    note, reference = _delivered_in_app(db, caseworker)
    assert ("逗留期限" in note.title) is (delivered_in == ZH)
    caseworker.language = read_in
    db.session.commit()

    html = client.get("/notifications/").get_data(as_text=True)
    assert title.format(ref=reference) in html
    assert absent not in html
    if read_in == ZH:
        for words in (">通知</h1>", "全部標示為已讀", "標示為已讀", "開啟個案",
                      "未讀："):
            assert words in html
        for english in ("Mark all as read", "Mark as read", "Open the case", "Unread:"):
            assert english not in html


@pytest.mark.parametrize(("language", "flash"), [
    ("en", "2 notifications marked as read."), (ZH, "已將 2 項通知標示為已讀。"),
])
def test_marking_all_read_says_so_in_the_readers_language(client, as_role, language, flash):
    user = as_role(Role.CASEWORKER)
    user.language = language
    for title in ("One", "Two"):
        _db.session.add(Notification(user_id=user.id, title=title, body=title))
    _db.session.commit()
    response = client.post_form("/notifications/read-all", token_from="/notifications/")
    assert flash in client.get(response.headers["Location"]).get_data(as_text=True)


def test_an_empty_centre_in_chinese(client, as_role):
    as_role(Role.CASEWORKER).language = ZH
    _db.session.commit()
    html = client.get("/notifications/").get_data(as_text=True)
    assert "沒有通知。" in html and "No notifications." not in html


# --- The supervisors' pages ----------------------------------------------------------------------

def test_the_failed_reminders_page_in_chinese(db, client, as_role, make_user):
    failed = _reminders_in_every_state(db, make_user(Role.CASEWORKER))["failed"]
    supervisor = as_role(Role.SUPERVISOR)
    supervisor.language = ZH
    db.session.commit()
    html = client.get("/notifications/failed").get_data(as_text=True)
    for words in ("<title>發送失敗的提示", "經多次重試後仍未能發送", ">重試</button>",
                  "<td>發送失敗</td>", CHANNELS_ZH[failed.channel],
                  # Planned in no set order: whichever offset this one has.
                  f"限期前 {failed.offset_days} 日",
                  f"個案 {failed.case_id}", "發送時間／下次嘗試（香港時間）"):  # noqa: RUF001
        assert words in html, words
    # A mail server's own words are shown as they came.
    assert "mailbox unavailable" in html
    for english in ("Failed reminders", "could not be sent", ">Retry<", "<td>Failed</td>",
                    "days before", "Sent / next try"):
        assert english not in html, english


@pytest.mark.parametrize(("language", "reason"), [
    ("en", "The deadline no longer applies."), (ZH, "有關限期已不再適用。"),
])
def test_a_cancelled_reminders_reason_reads_in_the_readers_language(
        db, client, as_role, language, reason):
    caseworker = as_role(Role.CASEWORKER)
    caseworker.language = language
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=20))
    plan(now=NOW)
    deadline.state, deadline.closed_at = DeadlineState.CANCELLED, NOW
    db.session.commit()
    plan(now=NOW)  # cancels what no longer applies, with the system's reason
    html = client.get(f"/notifications/case/{case.id}").get_data(as_text=True)
    assert html.count(reason) == 3  # the caseworker's two and the applicant's one


def test_the_worker_page_in_chinese(db, client, as_role, make_user):
    _reminders_in_every_state(db, make_user(Role.CASEWORKER))
    supervisor = as_role(Role.SUPERVISOR)
    supervisor.language = ZH
    db.session.commit()
    html = client.get("/notifications/worker").get_data(as_text=True)
    for words in ("<h1 class=\"h3 mb-3\">背景程序</h1>", "每 30 秒記錄一次運作訊號", "提示隊列",
                  "等候發送", "從未有背景程序回報"):
        assert words in html, words
    for english in ("Background worker", "heartbeat every 30 seconds", "Reminder queue",
                    "Waiting to be sent", "No worker has ever reported"):
        assert english not in html, english

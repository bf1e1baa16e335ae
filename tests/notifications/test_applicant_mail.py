"""An applicant's email is an applicant's email: in their language, it says what is due,
the date, what to do, whom to contact and the reference to quote, and nothing of the back
office (no staff link, no "Assigned", no staff name unless the office says so). Staff and
escalation reminders have each deadline kind's own words too. Escalations never go to
applicants. Every deadline kind gets reminders. ``scripts/run.sh`` tells the app the port
it really serves on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from backoffice.cases.models import Deadline, DeadlineKind, DeadlineState
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.i18n import lazy_gettext
from backoffice.extensions import db as _db
from backoffice.notifications import mail, services
from backoffice.notifications.models import ESCALATION, Reminder
from backoffice.notifications.wording import render_reminder
from config import Config
from tests.cases.factories import NOW, TODAY, make_case
from tests.notifications.test_planning import APPLICANT_EMAIL, plan, stay_case

ROOT = Path(__file__).resolve().parents[2]
ZH = "zh_Hant_HK"
REFERENCE = "QMAS-2026-000123"
STAFF_URL = "http://127.0.0.1:5000/cases/42"
CONTACT_EMAIL, CONTACT_PHONE = "talent@example.gov.hk", "+852 2824 6111"
DUE = date(2026, 6, 30)  # a Tuesday, no public holiday


@pytest.fixture
def settings(app, monkeypatch):
    """The applicant mail settings a test starts from (whatever the environment says), and
    a way to change them."""
    values = {"MAIL_FROM": "Talent Admission Back Office <no-reply@localhost>",
              "APPLICANT_MAIL_FROM": None, "APPLICANT_MAIL_REPLY_TO": None,
              "APPLICANT_CONTACT_EMAIL": CONTACT_EMAIL, "APPLICANT_CONTACT_PHONE": CONTACT_PHONE,
              "APPLICANT_EMAIL_NAMES_CASEWORKER": False}
    for key, value in values.items():
        monkeypatch.setitem(app.config, key, value)

    def change(**changes):
        for key, value in changes.items():
            monkeypatch.setitem(app.config, key, value)

    with app.app_context():
        yield change


def context(kind: str, language: str = "en", *, days: int = 40, due_on: date = DUE,
            **extra) -> dict:
    """An applicant's reminder as ``services._context`` gives it: written 40 days before
    ``due_on`` by default, for a stay that ends on the due date and whose extension window
    opens four weeks before it."""
    return {
        "language": language, "kind": kind, "escalation": False, "reference": REFERENCE,
        "scheme": Scheme.QMAS, "applicant": "CHAN, Mei Ling", "due_on": due_on, "days": days,
        "assignee": "Wong Tai Sin", "case_url": STAFF_URL, "for_applicant": True,
        "addressee": "CHAN Mei Ling", "stay_ends_on": due_on,
        "extension_opens_on": due_on - timedelta(days=28),
    } | extra


def email(ctx: dict, reminder_id: int = 7):
    raw = bytes(services.build_email(Reminder(id=reminder_id, email=APPLICANT_EMAIL), ctx))
    message = BytesParser(policy=policy.default).parsebytes(raw)
    return (message, message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


ITEMS = [lazy_gettext("Passport number"), "Degree certificate (BSc, 2019)"]
ITEMS_IN = {"en": ["Passport number", "Degree certificate (BSc, 2019)"],
            ZH: ["護照號碼", "Degree certificate (BSc, 2019)"]}

# What each kind's email says (beside the reference and the contact, checked for all):
# (what is due, with its date in the language's own format; what to do).
SAYS = {
    ("stay_end", "en"): ("Your permitted stay in Hong Kong ends on 30 Jun 2026.",
                         "You may apply for an extension of stay from 2 Jun 2026."),
    ("stay_end", ZH): ("閣下獲准在港逗留的期限於2026年6月30日屆滿。",
                       "閣下可於2026年6月2日起申請延期逗留。"),
    ("job_offer", "en"): ("To be able to extend your stay, you need a job offer recorded "
                          "with us by 30 Jun 2026.", "Please send us your job offer"),
    ("job_offer", ZH): ("閣下須於2026年6月30日或之前向本處提交聘用通知並獲記錄，方可申請延期逗留。",
                        "請盡快將聘用通知（聘書或僱傭合約副本）送交本處。"),
    ("extension_window", "en"): ("You may apply to extend your stay in Hong Kong from "
                                 "30 Jun 2026.",
                                 "If you wish to stay in Hong Kong after 28 Jul 2026, please "
                                 "send us your application for an extension before that date."),
    ("extension_window", ZH): ("閣下可於2026年6月30日起申請延長在港逗留期限。",
                               "如閣下擬於2026年7月28日後繼續在港逗留，請於該日前向本處遞交延期逗留申請。"),
    ("entry", "en"): ("Your visa/entry permit allows you to enter Hong Kong until 30 Jun 2026.",
                      "Please enter Hong Kong by then."),
    ("entry", ZH): ("閣下的簽證／進入許可准許閣下於2026年6月30日或之前入境香港。",  # noqa: RUF001
                    "請於該日或之前入境香港。"),
    ("documents_due", "en"): ("We asked you for the documents below. Please send them to us "
                              "by 30 Jun 2026.", "If you have already done so"),
    ("documents_due", ZH): ("本處早前要求閣下提交下列文件，請於2026年6月30日或之前送交本處。",
                            "如閣下已辦妥上述事宜"),
}
SUBJECTS = {
    ("stay_end", "en"): "End of your permitted stay in Hong Kong: 30 Jun 2026 "
                        f"(reference {REFERENCE})",
    ("stay_end", ZH): f"在港逗留期限屆滿：2026年6月30日（檔案編號 {REFERENCE}）",
    ("job_offer", "en"): f"Job offer needed by 30 Jun 2026 to extend your stay (reference "
                         f"{REFERENCE})",
    ("job_offer", ZH): f"須於2026年6月30日或之前提交聘用通知，方可延期逗留（檔案編號 {REFERENCE}）",
    ("extension_window", "en"): f"You may apply to extend your stay from 30 Jun 2026 "
                                f"(reference {REFERENCE})",
    ("extension_window", ZH): f"閣下可於2026年6月30日起申請延期逗留（檔案編號 {REFERENCE}）",
    ("entry", "en"): "Last day to enter Hong Kong on your visa/entry permit: 30 Jun 2026 "
                     f"(reference {REFERENCE})",
    ("entry", ZH): f"憑簽證／進入許可入境香港的最後一日：2026年6月30日（檔案編號 {REFERENCE}）",  # noqa: RUF001
    ("documents_due", "en"): f"Reminder: documents due by 30 Jun 2026 (reference {REFERENCE})",
    ("documents_due", ZH): f"提示：文件須於2026年6月30日或之前提交（檔案編號 {REFERENCE}）",
}
EVERY_EMAIL_SAYS = {
    "en": ["Dear CHAN Mei Ling,", "That date is 40 days away.",
           f"Please quote your reference {REFERENCE} whenever you contact us.",
           f"If you have any questions, please contact us by email at {CONTACT_EMAIL} or by "
           f"phone on {CONTACT_PHONE}.", "Dates in this email are Hong Kong dates."],
    ZH: ["CHAN Mei Ling台鑒：", "距該日尚有 40 日。",
         f"與本處聯絡時，請註明閣下的檔案編號 {REFERENCE}。",
         f"如有查詢，請電郵至 {CONTACT_EMAIL} 或致電 {CONTACT_PHONE} 與本處聯絡。",
         "本電郵所列日期均為香港日期。"],
}
# The staff email's words, and anything of the back office: never in an applicant's.
NEVER_SAYS = ["Wong Tai Sin", "Assigned", "負責人員", STAFF_URL, "/cases/", "Case:", "個案：",
              "Applicant:", "申請人：", "Deadline:", "Stay ends", "Talent Admission Back Office",
              "人才入境後勤系統", "Reminder: the", "提示：個案"]
APPLICANT_CASES = [(kind.value, language) for kind in DeadlineKind for language in ("en", ZH)]


@pytest.mark.parametrize(("kind", "language"), APPLICANT_CASES)
def test_an_applicants_reminder_says_what_is_due_what_to_do_and_whom_to_contact(
        settings, kind, language):
    extra = {"items": ITEMS} if kind == DeadlineKind.DOCUMENTS_DUE else {}
    if kind == DeadlineKind.EXTENSION_WINDOW:
        extra["stay_ends_on"] = DUE + timedelta(days=28)
    if kind == DeadlineKind.ENTRY:  # before arrival there is no stay yet
        extra |= {"stay_ends_on": None, "extension_opens_on": None}
    message, text, html = email(context(kind, language, **extra))

    assert message["Subject"] == SUBJECTS[kind, language]
    for words in (*SAYS[kind, language], *EVERY_EMAIL_SAYS[language]):
        assert words in text, words
        assert words in html, words
    if kind == DeadlineKind.DOCUMENTS_DUE:
        for item in ITEMS_IN[language]:
            assert f"\n- {item}\n" in text
            assert f"<li>{item}</li>" in html
    for words in NEVER_SAYS:
        assert words not in text, words
        assert words not in html, words
        assert words not in message["Subject"], words
    assert f'<html lang="{"zh-Hant-HK" if language == ZH else "en-HK"}">' in html


@pytest.mark.parametrize(("language", "request_", "items", "says", "subject"), [
    ("en", True, ITEMS, "We need the following documents from you by 30 Jun 2026:",
     f"Documents needed by 30 Jun 2026 (reference {REFERENCE})"),
    ("en", True, None, "We need the documents listed in our letter from you by 30 Jun 2026.",
     f"Documents needed by 30 Jun 2026 (reference {REFERENCE})"),
    ("en", False, [], "We asked you for the documents listed in our letter. Please send them "
     "to us by 30 Jun 2026.", f"Reminder: documents due by 30 Jun 2026 (reference {REFERENCE})"),
    (ZH, True, ITEMS, "本處需要閣下於2026年6月30日或之前提交下列文件：",
     f"須於2026年6月30日或之前提交的文件（檔案編號 {REFERENCE}）"),
    (ZH, True, None, "本處需要閣下於2026年6月30日或之前提交本處信件所列的文件。",
     f"須於2026年6月30日或之前提交的文件（檔案編號 {REFERENCE}）"),
    (ZH, False, None, "本處早前要求閣下提交本處信件所列的文件，請於2026年6月30日或之前送交本處。",
     f"提示：文件須於2026年6月30日或之前提交（檔案編號 {REFERENCE}）"),
])
def test_a_documents_request_and_its_reminders(settings, language, request_, items, says,
                                               subject):
    """The request's first email says what is needed; its reminders, what was asked; with
    no list, the letter's."""
    extra = {"request": request_} | ({"items": items} if items is not None else {})
    message, text, html = email(context("documents_due", language, **extra))
    assert message["Subject"] == subject
    assert says in text and says in html
    assert ("\n- " in text) is bool(items)
    assert ("<li>" in html) is bool(items)
    # A request is not a reminder: nothing to disregard.
    done = {"en": "please disregard this reminder", ZH: "無須理會本提示"}[language]
    assert (done in text) is not request_


@pytest.mark.parametrize(("kind", "days", "extra", "says", "not_says"), [
    # The day itself.
    ("stay_end", 0, {}, ["ends on 30 Jun 2026.", "That date is today."], ["days away"]),
    ("documents_due", 1, {}, ["That date is 1 day away."], ["days away"]),
    # Past, still open (the sweep has not marked it missed yet).
    ("stay_end", -2, {}, ["Your permitted stay in Hong Kong ended on 30 Jun 2026 "
                          "(2 days ago).", "If you have not yet applied for an extension of "
                          "stay, please contact us immediately."], ["That date is"]),
    ("job_offer", -1, {}, ["you needed a job offer recorded with us by 30 Jun 2026 "
                           "(1 day ago)."], ["That date is"]),
    ("entry", -3, {}, ["Your visa/entry permit allowed you to enter Hong Kong until "
                       "30 Jun 2026 (3 days ago).",
                       "If you have not entered Hong Kong, please contact us."],
     ["Please enter Hong Kong by then."]),
    ("documents_due", -4, {"items": ["Passport"]},
     ["The documents below, which we asked you for, were due on 30 Jun 2026 (4 days ago)."],
     ["That date is"]),
    ("documents_due", -1, {}, ["The documents listed in our letter were due on 30 Jun 2026 "
                               "(1 day ago)."], []),
    # An extension window that has opened is news: no countdown.
    ("extension_window", 0, {}, ["You may now apply to extend your stay in Hong Kong: "
                                 "applications are accepted from 30 Jun 2026."],
     ["That date is"]),
    # When an extension may be applied for: from the window's opening, now, or the rule.
    ("stay_end", 20, {}, ["You may apply for an extension of stay now."], ["from 2 Jun"]),
    ("stay_end", 40, {"extension_opens_on": None},
     ["Applications for an extension of stay are accepted in the weeks before a stay ends."],
     ["You may apply for an extension of stay"]),
    ("extension_window", 5, {"stay_ends_on": None},
     ["please send us your application for an extension before your stay ends."], ["after"]),
])
def test_the_days_to_the_date_and_when_to_act(settings, kind, days, extra, says, not_says):
    _, text, _ = email(context(kind, days=days, **extra))
    for words in says:
        assert words in text, words
    for words in not_says:
        assert words not in text, words


@pytest.mark.parametrize(("language", "due", "holiday"), [
    ("en", "25 Dec 2026 (Christmas Day)",
     "Our office is closed on Hong Kong public holidays; please allow for this."),
    (ZH, "2026年12月25日（聖誕節）", "本處於香港公眾假期暫停辦公，敬請留意。"),
])
def test_a_date_on_a_hong_kong_holiday_says_so(settings, language, due, holiday):
    _, text, html = email(context("stay_end", language, due_on=date(2026, 12, 25)))
    assert due in text and due in html
    assert holiday in text and holiday in html
    _, ordinary, _ = email(context("stay_end", language))
    assert holiday not in ordinary


@pytest.mark.parametrize(("from_", "reply_to", "want_from", "want_reply_to"), [
    (None, None, "Talent Admission Back Office <no-reply@localhost>", None),
    ("Talent Admission <talent@example.gov.hk>", None,
     "Talent Admission <talent@example.gov.hk>", None),
    ("Talent Admission <noreply@example.gov.hk>", "enquiries@example.gov.hk",
     "Talent Admission <noreply@example.gov.hk>", "enquiries@example.gov.hk"),
    (None, "enquiries@example.gov.hk",
     "Talent Admission Back Office <no-reply@localhost>", "enquiries@example.gov.hk"),
])
def test_the_applicants_sender_and_reply_to(settings, from_, reply_to, want_from,
                                            want_reply_to):
    settings(APPLICANT_MAIL_FROM=from_, APPLICANT_MAIL_REPLY_TO=reply_to)
    message, _, _ = email(context("stay_end"))
    assert message["From"] == want_from
    assert message["Reply-To"] == want_reply_to
    # Staff mail keeps the office's own sender, and no Reply-To.
    staff = services.build_email(Reminder(id=8, email="wong@example.org"),
                                 context("stay_end") | {"for_applicant": False})
    assert staff["From"] == "Talent Admission Back Office <no-reply@localhost>"
    assert staff["Reply-To"] is None
    # The envelope the dispatch sends before the message is built says the same.
    for reminder, ctx, built in (
            (Reminder(id=7, email=APPLICANT_EMAIL), context("stay_end"), message),
            (Reminder(id=8, email="wong@example.org"),
             context("stay_end") | {"for_applicant": False}, staff)):
        assert services.envelope(reminder, ctx) == mail.Envelope.of(built)


@pytest.mark.parametrize(("names", "assignee", "language", "named"), [
    (False, "Wong Tai Sin", "en", None),
    (True, "Wong Tai Sin", "en", "The officer handling your application is Wong Tai Sin."),
    (True, "Wong Tai Sin", ZH, "負責處理閣下申請的人員為Wong Tai Sin。"),
    (True, None, "en", None),  # nobody holds the case: no sentence
])
def test_the_caseworker_is_named_only_when_the_office_says_so(settings, names, assignee,
                                                               language, named):
    settings(APPLICANT_EMAIL_NAMES_CASEWORKER=names)
    _, text, html = email(context("stay_end", language, assignee=assignee))
    if named:
        assert named in text and named in html
    else:
        assert "Wong Tai Sin" not in text and "Wong Tai Sin" not in html
        assert "officer handling" not in text and "負責處理" not in text


@pytest.mark.parametrize(("contact_email", "phone", "says"), [
    (CONTACT_EMAIL, None,
     f"If you have any questions, please contact us by email at {CONTACT_EMAIL}."),
    (None, CONTACT_PHONE,
     f"If you have any questions, please contact us by phone on {CONTACT_PHONE}."),
    (None, None, "If you have any questions, please contact us."),
])
def test_whom_to_contact_follows_the_settings(settings, contact_email, phone, says):
    settings(APPLICANT_CONTACT_EMAIL=contact_email, APPLICANT_CONTACT_PHONE=phone)
    _, text, _ = email(context("entry"))
    assert says in text


def test_an_escalation_is_never_written_to_an_applicant(settings):
    with pytest.raises(ValueError, match="never sent to an applicant"):
        render_reminder(context("stay_end", escalation=True, days=-2))


def test_a_missed_deadline_escalates_to_supervisors_never_to_the_applicant(
        db, caseworker, supervisor):
    case, deadline = stay_case(caseworker, TODAY - timedelta(days=1))
    assert case.applicant.email_consent and case.applicant.email == APPLICANT_EMAIL
    deadline.state, deadline.closed_at = DeadlineState.MISSED, NOW
    db.session.commit()
    plan()
    escalations = db.session.scalars(select(Reminder).where(
        Reminder.offset_days == ESCALATION)).all()
    assert escalations
    assert {r.user_id for r in escalations} == {supervisor.id}
    assert all(r.recipient.startswith("user:") for r in escalations)


# --- Every kind of deadline, to everyone, in its own words --------------------------------------

# A phrase each kind's message has, for an applicant, for its caseworker and for a supervisor
# once missed: each must appear in its own kind's message and in no other kind's.
OWN_WORDS = {
    DeadlineKind.STAY_END: {"applicant": "permitted stay in Hong Kong ends",
                            "staff": "the stay of case", "escalation": "the stay of case"},
    DeadlineKind.JOB_OFFER: {"applicant": "job offer recorded with us",
                             "staff": "a job offer for case", "escalation": "a job offer for case"},
    DeadlineKind.EXTENSION_WINDOW: {"applicant": "apply to extend your stay",
                                    "staff": "the extension window of case",
                                    "escalation": "the extension window of case"},
    DeadlineKind.ENTRY: {"applicant": "allows you to enter Hong Kong",
                         "staff": "must enter Hong Kong", "escalation": "had to enter Hong Kong"},
    DeadlineKind.DOCUMENTS_DUE: {"applicant": "documents listed in our letter",
                                 "staff": "the documents asked of the applicant",
                                 "escalation": "the documents asked of the applicant"},
}
OWN_SUBJECTS = {
    DeadlineKind.STAY_END: {"applicant": "End of your permitted stay", "staff": "Stay ends on",
                            "escalation": "Missed deadline: Stay ends for"},
    DeadlineKind.JOB_OFFER: {"applicant": "Job offer needed by", "staff": "Job offer due on",
                             "escalation": "Missed deadline: Job offer due for"},
    DeadlineKind.EXTENSION_WINDOW: {"applicant": "You may apply to extend your stay from",
                                    "staff": "Extension window opens on",
                                    "escalation": "Missed deadline: Extension window opens for"},
    DeadlineKind.ENTRY: {"applicant": "Last day to enter Hong Kong",
                         "staff": "Entry to Hong Kong by",
                         "escalation": "Missed deadline: Entry to Hong Kong for"},
    DeadlineKind.DOCUMENTS_DUE: {"applicant": "Reminder: documents due by",
                                 "staff": "Documents due on",
                                 "escalation": "Missed deadline: Documents due for"},
}
RECIPIENTS = ["applicant", "staff", "escalation"]


def rendered_for(kind: DeadlineKind, recipient: str):
    ctx = context(kind.value, days=-2 if recipient == "escalation" else 10)
    if recipient != "applicant":
        ctx |= {"for_applicant": False, "escalation": recipient == "escalation"}
    return render_reminder(ctx)


def test_the_tables_cover_every_deadline_kind():
    assert set(OWN_WORDS) == set(OWN_SUBJECTS) == set(DeadlineKind)


@pytest.mark.parametrize(("kind", "recipient"),
                         [(kind, recipient) for kind in DeadlineKind for recipient in RECIPIENTS])
def test_every_kind_has_its_own_words_for_everyone(settings, kind, recipient):
    """Before, an entry or documents-due reminder fell through to the extension window's."""
    message = rendered_for(kind, recipient)
    assert message.subject.startswith(OWN_SUBJECTS[kind][recipient]), message.subject
    assert OWN_WORDS[kind][recipient] in message.text
    assert OWN_WORDS[kind][recipient] in message.html
    for other in set(DeadlineKind) - {kind}:
        assert OWN_WORDS[other][recipient] not in message.text, other
        assert not message.subject.startswith(OWN_SUBJECTS[other][recipient]), other
    if recipient == "staff":  # the staff template is kept: the case, its holder, its link
        assert "Assigned: Wong Tai Sin" in message.text
        assert f"Open the case: {STAFF_URL}" in message.text


def test_a_kind_without_words_is_an_error_not_another_kinds_words(settings):
    for ctx in (context("visa_expiry"), context("visa_expiry") | {"for_applicant": False}):
        with pytest.raises(ValueError, match="No words for deadline kind 'visa_expiry'"):
            render_reminder(ctx)


# --- Every kind of deadline is reminded -----------------------------------------------------------

# Kinds deliberately left without reminders, each with its reason. None today.
NOT_REMINDED: dict[DeadlineKind, str] = {}


@pytest.mark.parametrize("kind", list(DeadlineKind))
def test_every_deadline_kind_has_reminder_offsets(kind):
    offsets = Config.REMINDER_OFFSETS.get(kind.value)
    if kind in NOT_REMINDED:
        assert offsets is None and NOT_REMINDED[kind]
        return
    assert offsets, f"{kind} deadlines would never be reminded"
    assert all(isinstance(n, int) and n > 0 for n in offsets)
    assert list(offsets) == sorted(set(offsets), reverse=True)


def _visa_case(actor, due_on: date):
    """A GEP_PRO case whose visa was issued: its one open deadline is entry, due on ``due_on``."""
    case = make_case(actor, Scheme.GEP_PRO, CaseStatus.VISA_ISSUED, now=NOW)
    (entry,) = case.open_deadlines
    assert entry.kind == DeadlineKind.ENTRY
    entry.due_on = due_on
    _db.session.commit()
    return case


def _documents_case(actor, due_on: date):
    case, deadline = stay_case(actor, TODAY + timedelta(days=200))
    deadline.state, deadline.closed_at = DeadlineState.CANCELLED, NOW
    _db.session.flush()
    _db.session.add(Deadline(case_id=case.id, kind=DeadlineKind.DOCUMENTS_DUE, due_on=due_on))
    _db.session.commit()
    return case


@pytest.mark.parametrize(("make", "days_ahead", "offset", "words"), [
    (_visa_case, 20, 30, "allows you to enter Hong Kong until"),
    (_visa_case, 1, 1, "allows you to enter Hong Kong until"),
    (_documents_case, 10, 14, "documents listed in our letter"),
    (_documents_case, 7, 7, "documents listed in our letter"),
])
def test_entry_and_documents_deadlines_are_reminded_to_caseworker_and_applicant(
        db, caseworker, monkeypatch, make, days_ahead, offset, words):
    case = make(caseworker, TODAY + timedelta(days=days_ahead))
    plan()
    rows = db.session.scalars(select(Reminder).where(Reminder.case_id == case.id)).all()
    assert {(r.offset_days, r.recipient) for r in rows} == {
        (offset, f"user:{caseworker.id}"), (offset, f"email:{APPLICANT_EMAIL}")}
    monkeypatch.setattr("backoffice.core.dates.hk_today", lambda now=None: TODAY)
    (to_applicant,) = [r for r in rows if r.user_id is None]
    prepared = services.prepare([to_applicant.id])[to_applicant.id]
    assert prepared.context["addressee"] == "CHAN Mei Ling"
    message = render_reminder(prepared.context)
    assert words in message.text
    assert case.reference in message.text
    assert f"/cases/{case.id}" not in message.text


def test_an_applicants_stay_reminder_says_when_the_case_allows_an_extension(
        db, caseworker, monkeypatch):
    """From the case's own stay: its extension window opens ``extension_window_days``
    before the stay ends."""
    case, deadline = stay_case(caseworker, TODAY + timedelta(days=60))
    case.stay_ends_on = deadline.due_on
    db.session.commit()
    plan()
    (to_applicant,) = db.session.scalars(select(Reminder).where(Reminder.user_id.is_(None)))
    monkeypatch.setattr("backoffice.core.dates.hk_today", lambda now=None: TODAY)
    ctx = services.prepare([to_applicant.id])[to_applicant.id].context
    opens = deadline.due_on - timedelta(days=case.extension_window_days)
    assert (ctx["stay_ends_on"], ctx["extension_opens_on"]) == (deadline.due_on, opens)
    text = render_reminder(ctx).text
    assert f"You may apply for an extension of stay from {opens.day} {opens:%b %Y}." in text


# --- scripts/run.sh: the public address is the port it serves on ---------------------------------

FAKE = {
    # The worker writes what it was given, then runs until stopped; the web process waits
    # for the worker's record (so neither is stopped before writing), writes its own, exits.
    "celery": '#!/bin/sh\nprintf "%s" "$PUBLIC_URL" > "$RECORD/celery"\nexec tail -f /dev/null\n',
    "gunicorn": ('#!/bin/sh\nwhile [ ! -s "$RECORD/celery" ]; do :; done\n'
                 'printf "%s" "$PUBLIC_URL" > "$RECORD/gunicorn"\n'),
    "flask": "#!/bin/sh\nexit 0\n",
    "python": "#!/bin/sh\nexit 0\n",  # "the web app answers"
}


@pytest.mark.parametrize(("env", "public_url"), [
    ({}, "http://127.0.0.1:5000"),
    ({"PORT": "8123"}, "http://127.0.0.1:8123"),
    ({"PORT": "8123", "PUBLIC_URL": "https://backoffice.example.gov.hk"},
     "https://backoffice.example.gov.hk"),
])
def test_run_sh_gives_web_and_worker_the_address_it_serves_on(tmp_path, env, public_url):
    """The script runs against stand-ins for its programs, in a copy of the repository's
    layout; the worker needs the address as much as the web app (it writes the emails)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in FAKE.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    record = tmp_path / "record"
    record.mkdir()
    result = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "run.sh")], capture_output=True, text=True,
        timeout=60, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                         "SECRET_KEY": "x" * 64, "RECORD": str(record)} | env)
    assert "A process stopped" in result.stderr, result.stdout + result.stderr
    assert (record / "gunicorn").read_text() == public_url
    assert (record / "celery").read_text() == public_url

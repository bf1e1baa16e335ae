# Chinese sentences are written with full-width punctuation, as the HK Government writes them.
# ruff: noqa: RUF001
"""The rules' words in both languages: every refusal family, the labels and the case history
render in Traditional Chinese under ``force_language("zh_Hant_HK")`` and in English by
default, with their values filled in and dates in the reader's format.

The Chinese needs the compiled catalogue (``make translations``) with the entries of
/work/zh-parts/cases-rules.po.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.cases import deadline_sweep, lifecycle, services, stay
from backoffice.cases.eligibility import dependant_problem
from backoffice.cases.events import describe_event
from backoffice.cases.guards import StaleCase, check_can_act, check_open
from backoffice.cases.models import (
    CaseEvent,
    DeadlineKind,
    DeadlineState,
    EventKind,
    Relationship,
)
from backoffice.cases.schemes import POLICIES, CaseStatus, Scheme, SubmissionFacts
from backoffice.core.i18n import force_language
from backoffice.quota.models import QuotaPeriod
from tests.cases.factories import NOW, TODAY, make_case

ZH = "zh_Hant_HK"
SUBMITTED = date(2026, 3, 10)


def rendered(app, make, language: str | None) -> str:
    """``make()``'s message rendered in ``language`` (None: the default, English)."""
    with app.test_request_context():
        message = make()
        if language is None:
            return str(message)
        with force_language(language):
            return str(message)


def refusal(check):
    """The message of the refusal ``check()`` raises."""
    def make():
        try:
            check()
        except Exception as exc:  # any refusal: its words are what is tested
            return exc.args[0]
        raise AssertionError("nothing was refused")
    return make


def _case(**values) -> SimpleNamespace:
    """What the rules read off a case, without a database."""
    base = {"submitted_on": SUBMITTED, "active_dependants": [], "status": CaseStatus.DRAFT,
            "is_open": True, "can_act": lambda user: False}
    return SimpleNamespace(**(base | values))


SPOUSE = SimpleNamespace(id=1, relation=Relationship.SPOUSE, full_name="CHAN, Tai Man")
QMAS = POLICIES[Scheme.QMAS][0]
GEP_ENT = POLICIES[Scheme.GEP_ENT][0]
STAYING = _case(extension_window_opens_on=date(2027, 2, 16), extension_window_days=28,
                stay_ends_on=date(2027, 3, 16), job_offer_needed_to_extend=True,
                has_job_offer=False)

REFUSALS = [
    pytest.param(
        lambda: QMAS.check_submission(SubmissionFacts(date_of_birth=date(2009, 1, 10)),
                                      date(2026, 3, 2))[0],
        "The applicant is 17 on 2 Mar 2026; QMAS requires 18 or over.",
        "申請人於2026年3月2日為17歲；優才計劃規定申請人須年滿18歲或以上。", id="eligibility-age"),
    pytest.param(
        lambda: POLICIES[Scheme.ASSG][0].check_submission(
            SubmissionFacts(date_of_birth=date(1985, 3, 2), has_hk_parent=True,
                            emigrated_overseas=True), date(2026, 3, 2))[0],
        "ASSG applicants must be 18 to 40 on the submission date; the applicant turned 41 on "
        "2 Mar 2026.",
        "第二代計劃申請人在遞交日期須年滿18歲至40歲；申請人已於2026年3月2日年滿41歲。",
        id="eligibility-age-range"),
    pytest.param(
        lambda: GEP_ENT.check_submission(SubmissionFacts(nationality="LA", business_plan="A plan"),
                                         date(2026, 3, 2))[0],
        "Nationals of Laos (LA) cannot apply under the General Employment Policy – "
        "Entrepreneur Scheme (policy of 28 Jun 2006).",
        "老撾（LA）國民不可根據一般就業政策 – 企業家提出申請（2006年6月28日的政策）。",
        id="eligibility-nationality"),
    pytest.param(
        lambda: POLICIES[Scheme.GEP_PRO][0].check_submission(
            SubmissionFacts(job_post="Engineer", job_salary=50000, job_relevance="Yes",
                            job_local_unavailability="Rare"), date(2026, 3, 2))[0],
        "GEP (Professionals) requires a confirmed job offer; missing: employer.",
        "一般就業政策（專業人士）規定申請人須已獲確實聘用；欠缺：僱主。",
        id="eligibility-job-offer"),
    pytest.param(
        lambda: dependant_problem(_case(active_dependants=[SPOUSE]), Relationship.SPOUSE,
                                  date(1990, 1, 1), None),
        "The case already has a spouse (CHAN, Tai Man); remove that record first.",
        "此個案已有配偶（CHAN, Tai Man）；請先刪除該記錄。", id="dependant-spouse"),
    pytest.param(
        lambda: dependant_problem(_case(), Relationship.CHILD, date(2008, 3, 2), False),
        "Turned 18 on 2 Mar 2026, before the submission date (10 Mar 2026); children must be "
        "under 18 on that date.",
        "已於2026年3月2日年滿18歲，即在遞交日期（2026年3月10日）之前；子女在該日須未滿18歲。",
        id="dependant-child-age"),
    pytest.param(
        lambda: dependant_problem(_case(), Relationship.CHILD, date(2008, 3, 2), False,
                                  name="CHAN, Ka Yan"),
        "CHAN, Ka Yan: Turned 18 on 2 Mar 2026, before the submission date (10 Mar 2026); "
        "children must be under 18 on that date.",
        "CHAN, Ka Yan：已於2026年3月2日年滿18歲，即在遞交日期（2026年3月10日）之前；"
        "子女在該日須未滿18歲。", id="dependant-child-age-named"),
    pytest.param(
        lambda: StaleCase().args[0],
        "This case was changed by someone else while you were working on it. Nothing was "
        "saved: reload the case to see the changes, then try again.",
        "你處理此個案期間，其他人已更改個案。所有資料均未儲存：請重新載入個案查看有關更改，然後再試。",
        id="stale-case"),
    pytest.param(
        refusal(lambda: check_can_act(_case(), None)),
        "Only the caseworker assigned to this case or a supervisor can change it. Take the case "
        "first if it is unassigned.",
        "只有獲分派此個案的個案主任或主管可更改此個案。如個案未分派，請先接手。",
        id="not-assigned"),
    pytest.param(
        refusal(lambda: check_open(_case(status=CaseStatus.REFUSED, is_open=False))),
        "This case was refused; it can no longer be changed.",
        "此個案已被拒絕，不可再作更改。", id="closed-case"),
    pytest.param(
        refusal(lambda: lifecycle.checked_step(
            SimpleNamespace(policy=QMAS, status=CaseStatus.DRAFT), "approve", None)),
        "“Approve” is not possible for a case with the status “Draft”.",
        "個案狀況為「草擬」時，不能「批准」。", id="step-not-possible"),
    pytest.param(
        refusal(lambda: lifecycle.checked_step(
            SimpleNamespace(policy=QMAS, status=CaseStatus.SUBMITTED), "refuse", " ")),
        "Give a reason to refuse this case; it is recorded and shown in the case history.",
        "請說明拒絕此個案的理由；理由會記錄在個案記錄內並予顯示。", id="reason-needed"),
    pytest.param(
        refusal(lambda: stay.check_extension_request(STAYING, date(2027, 2, 1))),
        "The extension window opens on 16 Feb 2027 (28 days before the stay ends on 16 Mar "
        "2027); an extension cannot be requested before.",
        "延期逗留申請期於2027年2月16日開始（即逗留期限2027年3月16日屆滿前28日）；在此之前不可申請延期逗留。",
        id="deadline-extension-window"),
    pytest.param(
        refusal(lambda: stay.check_arrival(_case(visa_issued_on=None), date(2026, 3, 17),
                                           TODAY)),
        "The arrival date 17 Mar 2026 is in the future.",
        "抵港日期2026年3月17日尚未到來。", id="stay-arrival"),
]


@pytest.mark.parametrize(("make", "english", "chinese"), REFUSALS)
def test_each_refusal_renders_in_the_readers_language(app, make, english, chinese):
    assert rendered(app, make, None) == english
    assert rendered(app, make, "en") == english
    assert rendered(app, make, ZH) == chinese
    assert "%(" not in chinese


def test_the_reasons_a_case_cannot_be_submitted_are_one_message_in_each_language(
        db, caseworker):
    case = make_case(caseworker, Scheme.GEP_ENT, business_plan=None)
    with pytest.raises(services.CaseError) as refused:
        services.transition(case, "submit", caseworker, now=NOW)
    message = refused.value.args[0]
    assert str(message) == ("This case cannot be submitted: A business plan is required for "
                            "the General Employment Policy \u2013 Entrepreneur Scheme.")
    with force_language(ZH):
        assert str(message) == "此個案未能遞交：申請一般就業政策 \u2013 企業家須提交業務計劃。"
    # The case page lists them one by one: still lazy, each rendered where it is shown.
    [problem] = services.submission_problems(case)
    with force_language(ZH):
        assert str(problem).startswith("申請一般就業政策")


# A permanent ground is worded as final (no "yet"), in each language, and the step that
# refuses on it is named in the reader's language.
PERMANENT = [
    pytest.param(
        {"date_of_birth": date(2009, 1, 10)},
        "This application cannot be accepted: The applicant is 17 on 2 Mar 2026; QMAS requires "
        "18 or over. It can be refused as ineligible instead, so that the refusal is on record "
        "with its reason.",
        "此申請不獲接納：申請人於2026年3月2日為17歲；優才計劃規定申請人須年滿18歲或以上。"
        "可改為以不符合資格為由拒絕，使拒絕決定連同理由記錄在案。",
        id="qmas-under-18"),
]


@pytest.mark.parametrize(("overrides", "english", "chinese"), PERMANENT)
def test_a_permanent_ground_is_final_in_each_language(db, caseworker, overrides, english,
                                                      chinese):
    case = make_case(caseworker, **overrides)
    with pytest.raises(services.CaseError) as refused:
        services.transition(case, "submit", caseworker, now=NOW)
    message = refused.value.args[0]
    assert str(message) == english
    with force_language(ZH):
        assert str(message) == chinese
        assert "尚未" not in str(message)
    assert " yet" not in english
    event = services.transition(case, "refuse_ineligible", caseworker, reason="Under 18.",
                                now=NOW)
    assert str(describe_event(event)) == ("Refused as ineligible: The applicant is 17 on 2 Mar "
                                          "2026; QMAS requires 18 or over.")
    with force_language(ZH):
        assert str(describe_event(event)) == (
            "以不符合資格為由拒絕：申請人於2026年3月2日為17歲；優才計劃規定申請人須年滿18歲或以上。")
        assert str(case.policy.transition("refuse_ineligible").label) == "以不符合資格為由拒絕"


def test_a_full_quota_is_refused_in_the_readers_language_and_the_hold_says_why(
        db, caseworker, supervisor):
    case = make_case(caseworker, Scheme.QMAS, CaseStatus.UNDER_REVIEW)
    period = db.session.scalar(select(QuotaPeriod).where(QuotaPeriod.year == TODAY.year))
    period.quota_limit = 0
    db.session.commit()
    with pytest.raises(services.QuotaBlocked) as blocked:
        services.transition(case, "approve", caseworker, now=NOW)
    assert blocked.value.held
    message = blocked.value.args[0]
    assert str(message) == (
        "The QMAS quota for 2026 is full (0 of 0 places allocated). The case waits in the "
        "Awaiting quota queue until a place is released or the limit is raised. It has been "
        "moved to the Awaiting quota queue.")
    with force_language(ZH):
        assert str(message) == (
            "2026年的QMAS配額已滿（0個名額中已分配0個）。個案會在等候名額的工作隊列等候，直至有名額退回"
            "或配額上限提高為止。個案已移至等候名額的工作隊列。")
    held = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc())).first()
    assert (held.transition, held.reason) == ("hold_for_quota", None)
    assert describe_event(held) == "The QMAS quota for 2026 was full (0 of 0 places allocated)."
    with force_language(ZH):
        assert describe_event(held) == "2026年的QMAS配額已滿（0個名額中已分配0個）。"


LABELS = [
    (lambda: Scheme.QMAS.label, "Quality Migrant Admission Scheme", "優秀人才入境計劃"),
    (lambda: Scheme.GEP_ENT.label, "General Employment Policy – Entrepreneur Scheme",
     "一般就業政策 – 企業家"),
    (lambda: Scheme.GEP_PRO.label, "General Employment Policy – Professionals",
     "一般就業政策 – 專業人士"),
    (lambda: Scheme.ASSG.label,
     "Admission Scheme for the Second Generation of Chinese Hong Kong Permanent Residents",
     "輸入中國籍香港永久性居民第二代計劃"),
    (lambda: Scheme.GEP_PRO.short_label, "GEP (Professionals)", "一般就業政策（專業人士）"),
    (lambda: CaseStatus.DRAFT.label, "Draft", "草擬"),
    # "Submitted", "Created" and "Assigned" were once also column headers meaning a date or
    # a person (遞交日期, 開立日期, 負責人員); those headers have messages of their own now.
    (lambda: CaseStatus.SUBMITTED.label, "Submitted", "已遞交"),
    (lambda: CaseStatus.UNDER_REVIEW.label, "Under review", "審核中"),
    (lambda: CaseStatus.AWAITING_QUOTA.label, "Awaiting quota", "等候名額"),
    (lambda: CaseStatus.VISA_ISSUED.label, "Visa issued", "已發簽證"),
    (lambda: CaseStatus.LAPSED.label, "Lapsed", "已失效"),
    (lambda: CaseStatus.CLOSED.label, "Closed", "已結案"),
    (lambda: QMAS.transition("issue_visa").label, "Record visa issued", "記錄已發簽證"),
    (lambda: DeadlineKind.STAY_END.label, "Stay ends", "逗留期限屆滿"),
    (lambda: DeadlineKind.JOB_OFFER.label, "Job offer due", "聘用通知限期"),
    (lambda: DeadlineState.MISSED.label, "Missed", "已錯過"),
    (lambda: DeadlineState.CANCELLED.label, "Cancelled", "已取消"),
    (lambda: Relationship.SPOUSE.label, "Spouse", "配偶"),
    (lambda: EventKind.DEPENDANT_ADDED.label, "Dependant added", "已加入受養人"),
    (lambda: EventKind.CREATED.label, "Created", "已開立"),
    (lambda: EventKind.ASSIGNED.label, "Assigned", "已分派"),
]


@pytest.mark.parametrize(("make", "english", "chinese"), LABELS)
def test_labels_in_both_languages(app, make, english, chinese):
    assert (rendered(app, make, None), rendered(app, make, ZH)) == (english, chinese)


def test_every_status_scheme_and_deadline_label_is_translated(app):
    labels = [*(s.label for s in CaseStatus), *(s.label for s in Scheme),
              *(s.short_label for s in Scheme if s in (Scheme.GEP_ENT, Scheme.GEP_PRO)),
              *(k.label for k in DeadlineKind), *(k.label for k in DeadlineState),
              *(t.label for t in QMAS.transitions)]
    with app.test_request_context():
        english = [str(label) for label in labels]
        with force_language(ZH):
            chinese = [str(label) for label in labels]
    assert all(e != z and not z.isascii() for e, z in zip(english, chinese, strict=True)), [
        e for e, z in zip(english, chinese, strict=True) if z.isascii()]


EVENTS = [
    ({"key": "fields_changed", "fields": ["phone", "email"]},
     "Changed: Phone, Email", "已更改：電話、電郵"),
    ({"key": "fields_changed", "changes": [
        {"field": "family_name", "from": "CHAN", "to": "CHEN"},
        {"field": "date_of_birth", "from": "1990-05-17", "to": "1990-05-18"},
        {"field": "nationality", "from": "CA", "to": "PH"},
        {"field": "hkid", "from": None, "to": "A123456(3)"},
        {"field": "email_consent", "from": True, "to": False}]},
     "Family name: CHAN → CHEN; Date of birth: 17 May 1990 → 18 May 1990; Nationality: "
     "Canada → Philippines; HKID number: (none) → A123***(*); Consent to email reminders: "
     "Yes → No",
     "姓：CHAN → CHEN；出生日期：1990年5月17日 → 1990年5月18日；國籍：加拿大 → 菲律賓；"
     "香港身份證號碼：（無） → A123***(*)；同意以電郵接收提示：是 → 否"),
    ({"key": "dependant_added", "relation": "spouse", "name": "CHAN, Tai Man"},
     "Spouse: CHAN, Tai Man", "配偶：CHAN, Tai Man"),
    ({"key": "dependant_removed", "relation": "child", "name": "CHAN, Ka Ho"},
     "Child: CHAN, Ka Ho", "子女：CHAN, Ka Ho"),
    ({"key": "assigned", "from": "Alice Wong", "to": "Bob Lee"},
     "Reassigned from Alice Wong to Bob Lee.", "由Alice Wong重新分派予Bob Lee。"),
    ({"key": "assigned", "from": None, "to": "Bob Lee"}, "Assigned to Bob Lee.",
     "已分派予Bob Lee。"),
    ({"key": "assigned", "from": "Alice Wong", "to": None},
     "Returned to the unassigned queue (was Alice Wong).",
     "已退回未分派的工作隊列（原由Alice Wong負責）。"),
    ({"key": "job_offer", "post": "Data engineer", "employer": "Harbour Analytics Ltd",
      "start_date": "2026-06-01"},
     "Job offer recorded: Data engineer at Harbour Analytics Ltd, from 1 Jun 2026.",
     "已記錄聘用通知：Harbour Analytics Ltd的Data engineer職位，由2026年6月1日起。"),
    ({"key": "arrival_corrected", "from": "2026-03-16", "to": "2026-03-20",
      "stay_ends_on": "2027-03-20", "was": "2027-03-16"},
     "Arrival corrected from 16 Mar 2026 to 20 Mar 2026; the stay now ends on 20 Mar 2027 "
     "(was 16 Mar 2027).",
     "抵港日期由2026年3月16日更正為2026年3月20日；逗留期限現於2027年3月20日屆滿（原為2027年3月16日）。"),
    ({"key": "arrived", "arrived_on": "2026-03-16", "stay_ends_on": "2027-03-16"},
     "Arrived on 16 Mar 2026; the stay ends on 16 Mar 2027.",
     "於2026年3月16日抵港；逗留期限於2027年3月16日屆滿。"),
    ({"key": "stay_extended", "stay_ends_on": "2029-03-16"}, "Stay extended to 16 Mar 2029.",
     "逗留期限已延至2029年3月16日。"),
    ({"key": "lapsed"}, "The stay ended without an extension (deadline sweep).",
     "逗留期限屆滿，未有延期逗留（限期自動檢查）。"),
    ({"key": "quota_full", "scheme": "QMAS", "year": 2026, "allocated": 7, "limit": 7},
     "The QMAS quota for 2026 was full (7 of 7 places allocated).",
     "2026年的QMAS配額已滿（7個名額中已分配7個）。"),
    ({"key": "quota_not_set", "scheme": "QMAS", "year": 2026},
     "The QMAS quota for 2026 had not been set.", "當時尚未訂定2026年的QMAS配額。"),
    ({"key": "several", "parts": [{"key": "arrived", "arrived_on": "2026-03-16",
                                   "stay_ends_on": "2027-03-16"},
                                  {"key": "stay_extended", "stay_ends_on": "2029-03-16"}]},
     "Arrived on 16 Mar 2026; the stay ends on 16 Mar 2027. Stay extended to 16 Mar 2029.",
     "於2026年3月16日抵港；逗留期限於2027年3月16日屆滿。逗留期限已延至2029年3月16日。"),
]


@pytest.mark.parametrize(("data", "english", "chinese"), EVENTS,
                         ids=[f"{d['key']}-{i}" for i, (d, _, _) in enumerate(EVENTS)])
def test_describe_event_in_both_languages(app, data, english, chinese):
    event = SimpleNamespace(detail_data=data, detail=None)
    with app.test_request_context():
        assert describe_event(event) == english
        with force_language(ZH):
            assert describe_event(event) == chinese


@pytest.mark.parametrize("data", [None, {"key": "from_the_future", "x": 1},
                                  {"key": "job_offer"}])
def test_an_older_or_unknown_event_shows_its_stored_words(app, data):
    event = SimpleNamespace(detail_data=data, detail="Changed: phone")
    with app.test_request_context(), force_language(ZH):
        assert describe_event(event) == "Changed: phone"


def test_the_sweeps_lapse_describes_itself_in_both_languages(db, caseworker):
    case = make_case(caseworker, Scheme.GEP_ENT, CaseStatus.IN_STAY)
    deadline_sweep.sweep(case.stay_ends_on + timedelta(days=1))
    db.session.commit()
    lapse = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                               .order_by(CaseEvent.id.desc())).first()
    assert (lapse.transition, lapse.reason, lapse.detail, lapse.detail_data) == (
        "lapse", None, None, {"key": "lapsed"})
    assert describe_event(lapse) == "The stay ended without an extension (deadline sweep)."
    with force_language(ZH):
        assert describe_event(lapse) == "逗留期限屆滿，未有延期逗留（限期自動檢查）。"


def test_the_case_page_shows_refusals_and_history_in_chinese(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    me.language = ZH
    db.session.commit()
    case = make_case(me)
    services.update_case(me, case, services.ApplicantData(
        family_name=case.applicant.family_name, given_names=case.applicant.given_names,
        chinese_name=case.applicant.chinese_name, date_of_birth=case.applicant.date_of_birth,
        nationality=case.applicant.nationality, passport_number=case.applicant.passport_number,
        phone="+852 5555 0000"), services.CaseFacts(submitted_on=case.submitted_on),
        expected_version=case.version, today=TODAY)
    db.session.commit()
    response = client.post_form(f"/cases/{case.id}/step/approve", {"version": case.version},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "個案狀況為「草擬」時，不能「批准」。" in page
    assert "電郵：mei.ling.chan@example.com → （無）" in page
    assert "電話：+1 604 555 0100 → +852 5555 0000" in page
    assert "同意以電郵接收提示：是 → 否" in page
    assert "is not possible" not in page
    assert "Changed:" not in page


def test_names_in_a_refusal_are_escaped_on_a_page(app):
    from flask import render_template_string
    with app.test_request_context():
        message = dependant_problem(_case(), Relationship.CHILD, date(2012, 1, 1), True,
                                    name="<b>CHAN</b>")
        assert render_template_string("{{ m }}", m=message) == (
            "&lt;b&gt;CHAN&lt;/b&gt;: Only unmarried children can be dependants.")

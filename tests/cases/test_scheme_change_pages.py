"""The change of scheme's page: offered on a draft's case page and edit page only; its
questions (the new scheme, every scheme's section, the reason), the answers checked with
what the change will do before it is made, then the case (post/redirect/get); every refusal
said at the top of the form as it was typed (422), nothing changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from backoffice.auth.models import Role, User
from backoffice.cases import services
from backoffice.cases.models import Case, CaseEvent, FormerReference
from backoffice.cases.schemes import CaseStatus, GovernmentProgramme, Scheme
from backoffice.extensions import db
from tests.cases.factories import make_case
from tests.test_pages_by_language import stored_values, untranslated, visible_text

BUSINESS_PLAN = "A design studio for sustainable packaging in Kwun Tong."
REASON = "The applicant meant to apply as an entrepreneur."
TO_GEP_ENT = {"scheme": "GEP_ENT", "business_plan": BUSINESS_PLAN, "programme": "",
              "reason": REASON}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(response) -> str:
    return " ".join(soup(response).get_text(" ").split())


@pytest.fixture
def me(as_role):
    return as_role(Role.CASEWORKER)


def post(client, case: Case, data: dict, version: int | None = None, **kwargs):
    return client.post_form(f"/cases/{case.id}/scheme",
                            {"version": case.version if version is None else version} | data,
                            token_from=f"/cases/{case.id}", **kwargs)


def written() -> tuple:
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(CaseEvent)),
            db.session.scalar(select(func.count()).select_from(FormerReference)),
            db.session.scalar(select(func.max(Case.version))))


# --- Where it is offered ----------------------------------------------------------------------

@pytest.mark.parametrize(("status", "offered"), [
    (CaseStatus.DRAFT, True), (CaseStatus.SUBMITTED, False), (CaseStatus.WITHDRAWN, False),
], ids=lambda v: getattr(v, "value", v))
def test_the_case_page_and_the_edit_page_offer_it_on_a_draft_only(client, me, status,
                                                                  offered):
    case = make_case(me, Scheme.QMAS, status)
    assert bool(soup(client.get(f"/cases/{case.id}")).find(id="change-scheme")) is offered
    if case.is_open:
        edit = soup(client.get(f"/cases/{case.id}/edit")).find(id="change-scheme")
        assert bool(edit) is offered


def test_a_caseworker_who_may_not_change_the_case_is_not_offered_it(client, me, make_user):
    case = make_case(make_user(Role.CASEWORKER))
    assert soup(client.get(f"/cases/{case.id}")).find(id="change-scheme") is None


@pytest.mark.parametrize(("status", "words"), [
    (CaseStatus.SUBMITTED, "Only a draft's scheme can be changed, and QMAS-2026-000001 is "
                           "“Submitted”"),
    (CaseStatus.REFUSED, "This case was refused; it can no longer be changed."),
], ids=lambda v: getattr(v, "value", None))
def test_its_page_for_a_case_that_is_no_draft_goes_back_to_the_case_saying_why(
        client, me, status, words):
    case = make_case(me, Scheme.QMAS, status)
    page = client.get(f"/cases/{case.id}/scheme")
    assert page.status_code == 302
    assert page.headers["Location"] == f"/cases/{case.id}"
    assert words in text(client.get(page.headers["Location"]))


# --- Questions, check, change -----------------------------------------------------------------

def test_the_questions_show_the_other_schemes_every_section_and_the_reason(client, me):
    case = make_case(me, Scheme.GEP_PRO)
    page = soup(client.get(f"/cases/{case.id}/scheme"))
    assert [o["value"] for o in page.select("#scheme option")] == ["", "QMAS", "GEP_ENT",
                                                                    "ASSG"]
    assert [f["id"] for f in page.select("fieldset[data-schemes]")] == [
        "section-entrepreneur", "section-job-offer", "section-family"]
    # The case's own facts are there to keep or change.
    assert page.find(id="job_employer")["value"] == "Harbour Analytics Ltd"
    assert page.find(id="reason") is not None
    assert page.find(id="continue-step") is not None


def test_the_answers_are_checked_with_what_the_change_will_do_then_made(client, me):
    case = make_case(me)
    before = written()
    check = post(client, case, TO_GEP_ENT)
    assert check.status_code == 200, text(check)[:2000]
    page = soup(check)
    consequences = page.find(id="consequences").get_text(" ")
    assert ("The reference changes from QMAS-2026-000001 to GEP_ENT-2026-… (its number is "
            "given when you confirm); the old reference stays searchable.") in consequences
    assert "The scheme changes from QMAS to GEP (Entrepreneurs)" in consequences
    answers = page.select_one(".check-answers").get_text(" ")
    assert "General Employment Policy – Entrepreneur Scheme" in answers  # noqa: RUF001
    assert BUSINESS_PLAN in answers and REASON in answers
    assert written() == before, "checked, not yet made"

    made = confirm_on_check_page(client, check)
    assert made.status_code == 302
    assert made.headers["Location"] == f"/cases/{case.id}"
    db.session.expire_all()
    assert (case.scheme, case.reference, case.business_plan) == (
        Scheme.GEP_ENT, "GEP_ENT-2026-000001", BUSINESS_PLAN)
    shown = client.get(made.headers["Location"])
    assert ("QMAS-2026-000001 is now GEP_ENT-2026-000001, a GEP (Entrepreneurs) case; the old "
            "reference stays searchable.") in text(shown)
    assert soup(shown).find(id="former-references").get_text() == "QMAS-2026-000001"
    history = soup(shown).find(id="history").get_text(" ")
    assert "Scheme changed" in history and REASON in history
    assert "Reference changed from QMAS-2026-000001 to GEP_ENT-2026-000001" in history


def confirm_on_check_page(client, check):
    """Press the check page's button: post what its form holds, as a browser does."""
    form = soup(check).find(id="confirm-step").find_parent("form")
    data = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}
    return client.post(form["action"], data=data)


@pytest.mark.parametrize(("before", "answers", "kept"), [
    (Scheme.QMAS, {"scheme": "GEP_ENT", "business_plan": "A plan\non two lines.",
                   "programme": "hkstp_incu_bio"},
     {"business_plan": "A plan\non two lines.", "programme": GovernmentProgramme.HKSTP_INCU_BIO}),
    (Scheme.QMAS, {"scheme": "GEP_PRO", "job_employer": "Harbour Analytics Ltd",
                   "job_post": "Data engineer", "job_salary": "60000.5",
                   "job_relevance": "Six years.", "job_local_unavailability": "Advertised."},
     {"job_salary": Decimal("60000.50"), "job_post": "Data engineer"}),
    (Scheme.GEP_PRO, {"scheme": "ASSG", "has_hk_parent": "y", "emigrated_overseas": "y"},
     {"has_hk_parent": True, "emigrated_overseas": True, "job_employer": None}),
    (Scheme.ASSG, {"scheme": "QMAS"}, {"has_hk_parent": False, "emigrated_overseas": False}),
], ids=["GEP_ENT with a programme", "GEP_PRO", "ASSG", "QMAS"])
def test_the_check_page_carries_every_answer_through_to_the_change(client, me, before, answers,
                                                                 kept):
    case = make_case(me, before)
    check = post(client, case, {"reason": REASON, "programme": ""} | answers)
    assert check.status_code == 200, text(check)[:2000]
    assert soup(check).find(id="consequences") is not None
    made = confirm_on_check_page(client, check)
    assert made.status_code == 302, text(made)[:2000]
    db.session.expire_all()
    assert case.scheme == Scheme(answers["scheme"])
    assert {name: getattr(case, name) for name in kept} == kept


def test_change_your_answers_asks_again_as_answered(client, me):
    case = make_case(me)
    again = post(client, case, TO_GEP_ENT | {"change": "1"})
    assert again.status_code == 200
    page = soup(again)
    assert page.find(id="consequences") is None
    assert page.find(id="continue-step") is not None
    assert page.find(id="business_plan").get_text().strip() == BUSINESS_PLAN
    assert page.select_one("#scheme option[selected]")["value"] == "GEP_ENT"


def test_only_the_new_schemes_section_is_kept(client, me):
    """Facts typed into another scheme's section are not saved (the history keeps what the
    old scheme's section held)."""
    case = make_case(me, Scheme.GEP_PRO)
    made = post(client, case, TO_GEP_ENT | {"job_employer": "Typed by mistake",
                                            "has_hk_parent": "y", "confirmed": "1"})
    assert made.status_code == 302, text(made)[:2000]
    db.session.expire_all()
    assert (case.job_employer, case.job_salary, case.has_hk_parent) == (None, None, False)


# --- Refusals, in place -----------------------------------------------------------------------

@pytest.mark.parametrize(("data", "words"), [
    ({"scheme": "QMAS"}, "QMAS-2026-000001 is already a QMAS case: choose another scheme."),
    ({"business_plan": ""}, "A business plan is required for the General Employment Policy – "  # noqa: RUF001
                            "Entrepreneur Scheme."),
    ({"scheme": "GEP_PRO", "job_employer": "Harbour Analytics Ltd"},
     "GEP (Professionals) requires a confirmed job offer; missing: post, salary, relevance to "
     "qualifications or experience, why it cannot readily be filled locally."),
    ({"scheme": "ASSG"}, "ASSG requires a parent who is a Chinese Hong Kong permanent "
                         "resident."),
    ({"reason": ""}, "Give a reason for changing the scheme; it is recorded in the case "
                     "history."),
    ({"scheme": ""}, "Choose the new scheme."),
    ({"scheme": "NOPE"}, "Not a valid choice."),
], ids=["same scheme", "no business plan", "job offer in part", "no family background",
        "no reason", "no scheme", "no such scheme"])
@pytest.mark.parametrize("confirmed", ["", "1"], ids=["asked", "confirmed"])
def test_a_refusal_is_said_at_the_top_of_the_form_as_typed(client, me, data, words,
                                                           confirmed):
    case = make_case(me)
    before = written()
    response = post(client, case, TO_GEP_ENT | data | {"confirmed": confirmed})
    assert response.status_code == 422, text(response)[:2000]
    page = soup(response)
    assert words in page.find(id="error-summary").get_text(" ")
    assert page.find(id="continue-step") is not None  # the questions, as typed
    assert page.find(id="reason").get_text().strip() == (TO_GEP_ENT | data)["reason"]
    assert written() == before


def test_every_problem_of_the_new_scheme_is_listed(client, me):
    case = make_case(me, date_of_birth=date(1980, 1, 1))
    response = post(client, case, TO_GEP_ENT | {"scheme": "ASSG", "confirmed": "1"})
    assert response.status_code == 422
    problems = [li.get_text(" ", strip=True)
                for li in soup(response).select("#error-summary li")]
    assert problems == [
        "ASSG applicants must be 18 to 40 on the submission date; the applicant turned 41 on "
        "1 Jan 2021.",
        "ASSG requires a parent who is a Chinese Hong Kong permanent resident.",
        "ASSG requires the applicant to have emigrated overseas.",
    ]


def test_a_page_shown_before_someone_else_changed_the_case_is_refused(client, me):
    case = make_case(me)
    shown = case.version
    services.update_case(me, case, services.ApplicantData(
        **{**{k: getattr(case.applicant, k) for k in (
            "family_name", "given_names", "chinese_name", "date_of_birth", "nationality",
            "passport_number", "hkid", "email", "email_consent", "language")},
           "phone": "+852 5555 0000"}), services.CaseFacts(submitted_on=case.submitted_on),
        case.version)
    db.session.commit()
    before = written()
    response = post(client, case, TO_GEP_ENT | {"confirmed": "1"}, version=shown)
    assert response.status_code == 422
    assert "This case was changed by someone else while you were working on it." in \
        soup(response).find(id="error-summary").get_text(" ")
    assert written() == before


def test_a_case_submitted_since_the_page_was_shown_is_refused_in_place(client, me):
    case = make_case(me)
    shown = case.version
    services.transition(case, "submit", me)
    db.session.commit()
    response = post(client, case, TO_GEP_ENT | {"confirmed": "1"}, version=shown)
    assert response.status_code == 422
    assert "Only a draft's scheme can be changed" in text(response)
    db.session.expire_all()
    assert case.scheme == Scheme.QMAS


def test_a_colleagues_case_is_refused_in_place(client, me, make_user):
    case = make_case(make_user(Role.CASEWORKER))
    response = post(client, case, TO_GEP_ENT | {"confirmed": "1"})
    assert response.status_code == 422
    assert "Only the caseworker assigned to this case or a supervisor can change it." in \
        text(response)


def test_a_supervisor_changes_a_caseworkers_draft(client, as_role, make_user):
    case = make_case(make_user(Role.CASEWORKER))
    as_role(Role.SUPERVISOR)
    made = post(client, case, TO_GEP_ENT | {"confirmed": "1"})
    assert made.status_code == 302, text(made)[:2000]
    db.session.expire_all()
    assert case.reference == "GEP_ENT-2026-000001"


def test_the_header_search_finds_the_case_by_its_old_reference(client, me):
    case = make_case(me)
    post(client, case, TO_GEP_ENT | {"confirmed": "1"})
    found = client.get("/cases/search", query_string={"q": "QMAS-2026-000001"})
    assert found.status_code == 200
    row = soup(found).find("a", string="GEP_ENT-2026-000001")
    assert row is not None, text(found)[:2000]
    assert "Former reference, before a change of scheme" in text(found)


def test_the_change_of_scheme_in_chinese(client, me):
    """The check page, a refusal and what the case says after it, in the reader's language;
    and no English left on them but data (names, references) and codes."""
    reader = db.session.get(User, me.id)
    reader.language = "zh_Hant_HK"
    db.session.commit()
    case = make_case(me)
    refused = post(client, case, TO_GEP_ENT | {"business_plan": ""})
    assert refused.status_code == 422
    assert "申請一般就業政策 – 企業家須提交業務計劃。" in text(refused)  # noqa: RUF001
    check = post(client, case, TO_GEP_ENT)
    assert check.status_code == 200
    assert ("檔案編號由 QMAS-2026-000001 改為 GEP_ENT-2026-…（號碼於你確認時編配）；"
            "舊檔案編號仍可搜尋。") in text(check)
    assert "確認前請核對：更改計劃" in text(check)
    made = confirm_on_check_page(client, check)
    shown = client.get(made.headers["Location"])
    assert ("QMAS-2026-000001 現為 GEP_ENT-2026-000001（一般就業政策（企業家）個案）；"
            "舊檔案編號仍可搜尋。") in text(shown)
    assert "計劃由優才計劃改為一般就業政策（企業家）。" in text(shown)
    db.session.rollback()
    for page in (refused, check, shown):
        left = untranslated(visible_text(page.get_data(as_text=True)), stored_values())
        assert not left, left

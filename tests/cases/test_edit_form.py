"""The case form: only the case's scheme's fields, the fields fixed after submission shown as
text with the reason (``services.fixed_fields``, the one rule), and a forged value for them
ignored; the new-case form heads each scheme's section with its schemes."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backoffice.auth.models import Role
from backoffice.cases import services
from backoffice.cases.models import Case, CaseEvent, EventKind
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from tests.cases.factories import make_case

S = CaseStatus
ZH = "zh_Hant_HK"
REASON = {"en": "Judged at submission; cannot change after submission.",
          ZH: "已於遞交時審核；遞交後不能更改。"}

# Always inputs: what stays correctable after submission, and the form's own.
ALWAYS = {"csrf_token", "version", "family_name", "given_names", "chinese_name",
          "passport_number", "hkid", "email", "phone", "language", "email_consent", "submit"}
JUDGED = {"submitted_on", "date_of_birth", "nationality"}
SCHEME_FIELDS = {
    Scheme.QMAS: set(),
    Scheme.GEP_ENT: {"business_plan", "programme"},
    Scheme.GEP_PRO: {"job_employer", "job_post", "job_salary", "job_relevance",
                     "job_local_unavailability"},
    Scheme.ASSG: {"has_hk_parent", "emigrated_overseas"},
}
# What every fixed field reads for the factory's case (its values, shown the reader's way).
FIXED_TEXT = {
    "en": {"Submission date": "2 Mar 2026", "Date of birth": "17 May 1990",
           "Nationality": "Canada (CA)"},
}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def case_form(page: BeautifulSoup):
    return page.find("input", attrs={"name": "family_name"}).find_parent("form")


def inputs(page: BeautifulSoup) -> set[str]:
    form = case_form(page)
    return {control["name"] for control in form.find_all(["input", "select", "textarea"])
            if control.get("name")}


def fixed(page: BeautifulSoup) -> dict[str, tuple[str, str]]:
    """The fixed fields shown: label -> (value, reason)."""
    return {dl.dt.get_text(" ", strip=True): (dl.dd.span.get_text(" ", strip=True),
                                              dl.dd.find(class_="form-text").get_text(strip=True))
            for dl in page.select("dl.fixed-field")}


def reads_in(user, language: str) -> None:
    user.language = language
    _db.session.commit()


@pytest.mark.parametrize("scheme", list(Scheme))
@pytest.mark.parametrize(("status", "editable", "shown_fixed"), [
    # A draft: every field of its scheme is an input, none of another scheme's.
    (None, lambda s: ALWAYS | JUDGED | SCHEME_FIELDS[s], lambda s: set()),
    # Submitted, and further on: the judged fields and the scheme's facts are text.
    (S.SUBMITTED, lambda s: ALWAYS, lambda s: JUDGED | SCHEME_FIELDS[s]),
    (S.UNDER_REVIEW, lambda s: ALWAYS, lambda s: JUDGED | SCHEME_FIELDS[s]),
])
def test_the_edit_form_has_the_inputs_the_case_lets_change(client, as_role, scheme, status,
                                                          editable, shown_fixed):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, scheme, status)
    page = soup(client.get(f"/cases/{case.id}/edit"))
    assert inputs(page) == editable(scheme)
    shown = fixed(page)
    assert len(shown) == len(shown_fixed(scheme))
    assert {reason for _value, reason in shown.values()} <= {REASON["en"]}
    # Each fixed field is named as the form labels it.
    form = case_form(page)
    assert not (set(shown) & {label.get_text(strip=True) for label in form.find_all("label")})
    if status is not None:
        assert {k: v for k, (v, _r) in shown.items() if k in FIXED_TEXT["en"]} \
            == FIXED_TEXT["en"]


@pytest.mark.parametrize(("scheme", "facts"), [
    (Scheme.GEP_ENT, {"Business plan (entrepreneurs)":
                      "A design studio for sustainable packaging in Kwun Tong.",
                      "Government-backed programme (entrepreneurs)": "(none)"}),
    (Scheme.GEP_PRO, {"Monthly salary in HKD (professionals)": "68,000",
                      "Employer (professionals)": "Harbour Analytics Ltd"}),
    (Scheme.ASSG, {"A parent is a Chinese Hong Kong permanent resident (ASSG)": "Yes",
                   "The applicant has emigrated overseas (ASSG)": "Yes"}),
])
def test_a_submitted_cases_scheme_facts_read_as_text(client, as_role, scheme, facts):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, scheme, S.SUBMITTED)
    shown = fixed(soup(client.get(f"/cases/{case.id}/edit")))
    assert {label: shown[label][0] for label in facts} == facts


@pytest.mark.parametrize("language", ["en", ZH])
def test_the_reason_a_field_is_fixed_reads_in_the_readers_language(client, as_role, language):
    me = as_role(Role.CASEWORKER)
    reads_in(me, language)
    case = make_case(me, Scheme.GEP_ENT, S.SUBMITTED)
    page = soup(client.get(f"/cases/{case.id}/edit"))
    reasons = [reason for _value, reason in fixed(page).values()]
    assert reasons == [REASON[language]] * len(JUDGED | SCHEME_FIELDS[Scheme.GEP_ENT])


EDITABLE_POST = {"family_name": "Chan", "given_names": "Mei Ling", "chinese_name": "陳美玲",
                 "passport_number": "AB1234567", "hkid": "", "email": "mei.ling.chan@example.com",
                 "phone": "+852 5555 0101", "language": "en", "email_consent": "y"}


@pytest.mark.parametrize(("scheme", "forged"), [
    (Scheme.QMAS, {"submitted_on": "2026-03-10"}),
    (Scheme.QMAS, {"date_of_birth": "2008-03-03", "nationality": "VN"}),
    (Scheme.GEP_ENT, {"business_plan": "Another plan.", "programme": "cyberport_incubation"}),
    (Scheme.GEP_PRO, {"job_salary": "1"}),
    (Scheme.ASSG, {"has_hk_parent": ""}),
    # Another scheme's fact, posted to a case of this one.
    (Scheme.QMAS, {"business_plan": "Sneaked in."}),
])
def test_a_forged_value_for_a_fixed_field_changes_nothing(client, as_role, db, scheme, forged):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, scheme, S.SUBMITTED)
    before = {name: services.current_value(case, name) for name in services.FIXED_AFTER_SUBMISSION}
    response = client.post_form(f"/cases/{case.id}/edit",
                                {**EDITABLE_POST, **forged, "version": str(case.version)})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert {name: services.current_value(case, name)
            for name in services.FIXED_AFTER_SUBMISSION} == before
    assert case.applicant.phone == "+852 5555 0101"
    event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.kind == EventKind.EDITED)).one()
    assert [c["field"] for c in event.detail_data["changes"]] == ["phone"]


def test_the_service_still_refuses_a_fixed_field_however_it_is_called(db, as_role):
    """The form only shows the rule; the service keeps it (tests/cases/test_services.py has
    the table of fields)."""
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, S.SUBMITTED)
    facts = services.CaseFacts(submitted_on=date(2026, 3, 10))
    applicant = services.ApplicantData(**{
        name: services.current_value(case, name) for name in (
            "family_name", "given_names", "chinese_name", "date_of_birth", "nationality",
            "passport_number", "hkid", "email", "phone", "email_consent", "language")})
    with pytest.raises(services.CaseError, match="cannot change after submission"):
        services.update_case(me, case, applicant, facts, case.version)


def test_a_draft_keeps_another_schemes_facts_it_does_not_show(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.QMAS, business_plan="Typed before the scheme was chosen.")
    response = client.post_form(f"/cases/{case.id}/edit", {
        **EDITABLE_POST, "submitted_on": "2026-03-02", "date_of_birth": "1990-05-17",
        "nationality": "CA", "business_plan": "Forged.", "version": str(case.version)})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(case)
    assert case.business_plan == "Typed before the scheme was chosen."


# --- The new-case form ---------------------------------------------------------------------

def test_the_new_case_form_heads_each_section_with_its_schemes(client, as_role):
    as_role(Role.CASEWORKER)
    page = soup(client.get("/cases/new"))
    sections = {fs["id"]: (fs["data-schemes"], fs.legend.get_text(strip=True),
                           fs.find("p").get_text(strip=True))
                for fs in page.select("fieldset[data-schemes]")}
    assert sections == {
        "section-entrepreneur": ("GEP_ENT", "Entrepreneurs (GEP)",
                                 "Only for GEP (Entrepreneurs) applications."),
        "section-job-offer": ("GEP_PRO", "Professionals (GEP): confirmed job offer",
                              "Only for GEP (Professionals) applications."),
        "section-family": ("ASSG", "Second generation (ASSG)", "Only for ASSG applications."),
    }
    assert page.find("select", id="scheme").has_attr("data-scheme-sections")
    # Without a script every section shows.
    assert not page.select("fieldset[hidden]")


@pytest.mark.parametrize(("scheme", "kept"), [
    ("QMAS", set()),
    ("GEP_ENT", {"business_plan"}),
    ("GEP_PRO", {"job_employer"}),
    ("ASSG", {"has_hk_parent"}),
])
def test_a_new_case_keeps_only_its_schemes_section(client, as_role, db, scheme, kept):
    as_role(Role.CASEWORKER)
    every_section = {"business_plan": "A plan.", "job_employer": "Harbour Analytics Ltd",
                     "has_hk_parent": "y"}
    response = client.post_form("/cases/new", {
        **EDITABLE_POST, "scheme": scheme, "submitted_on": "2026-03-02",
        "date_of_birth": "1990-05-17", "nationality": "CA", "programme": "",
        **every_section}, token_from="/cases/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    case = db.session.scalar(select(Case))
    stored = {"business_plan": case.business_plan, "job_employer": case.job_employer,
              "has_hk_parent": case.has_hk_parent}
    assert {name for name, value in stored.items() if value} == kept

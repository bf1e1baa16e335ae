"""What each letter says, read off a real case in the state it follows: JSON values only,
both languages where the words come from the code (scheme names, grounds, documents), and a
clear refusal when the case cannot have the letter."""

from __future__ import annotations

import json
from datetime import date

import pytest

from backoffice.cases.schemes import POLICIES, CaseStatus, Scheme
from backoffice.core.i18n import lazy_gettext
from backoffice.letters.data import LetterDataError, letter_data
from backoffice.letters.kinds import STEP_LETTERS, LetterKind, letter_for_step
from tests.cases.factories import make_case
from tests.letters.conftest import (
    DOCUMENT_ITEMS,
    DOCUMENTS_DUE,
    EXTENSION_REFUSAL_REASON,
    LETTER_CASES,
    REFUSAL_REASON,
    approved_with_family,
    extension_granted,
    refused_after_review,
    submitted,
    under_review,
)

K = LetterKind
EN, ZH = "en", "zh_Hant_HK"
COMMON = {"format", "kind", "reference", "scheme", "applicant", "letter_date", "submitted_on",
          "step_date", "office"}
QMAS_NAMES = {"name": {EN: "Quality Migrant Admission Scheme", ZH: "優秀人才入境計劃"},
              "short_name": {EN: "QMAS", ZH: "優才計劃"}}
APPLICANT = {"family_name": "Chan", "given_names": "Mei Ling", "name": "CHAN Mei Ling",
             "chinese_name": "陳美玲", "email": "mei.ling.chan@example.com", "language": "en"}
SPOUSE = {"relation": "spouse", "family_name": "Wong", "given_names": "Siu Ming",
          "name": "WONG Siu Ming", "chinese_name": "黃小明", "date_of_birth": "1988-01-09"}
CHILD = {"relation": "child", "family_name": "Chan", "given_names": "Ka Ho",
         "name": "CHAN Ka Ho", "chinese_name": None, "date_of_birth": "2015-09-01"}
QMAS_STAY = {"initial_months": 12, "extension_months": 24, "extension_window_days": 28,
             "job_offer_needed_to_extend": True, "quota": True, "child_age_limit": 18}
# The step each letter tells took place on (None: a request for documents tells no step),
# and what the letter says besides what every letter says.
STEP_DATES = {K.ACKNOWLEDGEMENT: "2026-03-02", K.DOCUMENTS_REQUEST: None,
              K.APPROVAL: "2026-03-16", K.REFUSAL: "2026-03-16",
              K.EXTENSION_GRANTED: "2027-03-09", K.EXTENSION_REFUSED: "2027-03-09"}
SAYS = {
    K.ACKNOWLEDGEMENT: {},
    K.DOCUMENTS_REQUEST: {
        "due_on": "2026-04-13",
        "items": [{"label": {EN: "Degree certificates", ZH: "學位證書"},
                   "hint": {EN: "Certificates of each degree claimed, with transcripts.",
                            ZH: "所申報各學位的證書及成績單。"}, "person": None},
                  {"label": {EN: "Proof of relationship", ZH: "關係證明"}, "hint": None,
                   "person": "CHAN Ka Ho"}]},
    K.APPROVAL: {"stay": QMAS_STAY, "dependants": [SPOUSE, CHILD],
                 "next_steps": ["visa", "entry", "identity_card", "job_offer", "extension"]},
    K.REFUSAL: {
        "grounds": [{"key": "below_min_age", "text": {
            EN: "The applicant is 17 on 2 Mar 2026; QMAS requires 18 or over.",
            ZH: "申請人於2026年3月2日為17歲；優才計劃規定申請人須年滿18歲或以上。"}}],
        "reason": {EN: REFUSAL_REASON, ZH: REFUSAL_REASON}},
    K.EXTENSION_GRANTED: {"months": 24, "stay_ends_on": "2029-03-16",
                          "previous_stay_ends_on": "2027-03-16", "extension_window_days": 28},
    K.EXTENSION_REFUSED: {"stay_ends_on": "2027-03-16", "requested_on": "2027-03-09",
                          "reason": {EN: EXTENSION_REFUSAL_REASON, ZH: EXTENSION_REFUSAL_REASON}},
}


@pytest.mark.parametrize("kind", list(LetterKind))
def test_each_letter_says_what_its_case_decided_in_json_values(actor, kind):
    make, extra, on = LETTER_CASES[kind]
    case = make(actor)
    data = letter_data(case, kind, on=on, extra=extra)
    assert json.loads(json.dumps(data)) == data
    assert set(data) == COMMON | set(SAYS[kind])
    assert {key: data[key] for key in SAYS[kind]} == SAYS[kind]
    assert data["format"] == 1
    assert data["kind"] == kind.value
    assert data["reference"] == case.reference
    assert data["scheme"] == {"code": "QMAS", **QMAS_NAMES}
    assert data["applicant"] == APPLICANT
    assert data["letter_date"] == on.isoformat()
    assert data["submitted_on"] == "2026-03-02"
    assert data["step_date"] == STEP_DATES[kind]


def test_an_approval_without_a_job_offer_rule_says_its_schemes_own_terms(actor):
    data = letter_data(approved_with_family(actor, Scheme.GEP_PRO), K.APPROVAL,
                       on=date(2026, 3, 17))
    assert data["scheme"]["name"] == {EN: "General Employment Policy – Professionals",  # noqa: RUF001
                                      ZH: "一般就業政策 – 專業人士"}  # noqa: RUF001
    assert data["stay"] == QMAS_STAY | {"initial_months": 24, "quota": False,
                                        "job_offer_needed_to_extend": False}
    assert data["next_steps"] == ["visa", "entry", "identity_card", "extension"]
    assert data["dependants"] == [SPOUSE, CHILD]


def test_a_refusal_after_review_gives_the_caseworkers_reason_and_no_ground(actor):
    data = letter_data(refused_after_review(actor), K.REFUSAL, on=date(2026, 3, 17))
    typed = "The points claimed could not be verified."
    assert data["grounds"] == []
    assert data["reason"] == {EN: typed, ZH: typed}


@pytest.mark.parametrize(("given", "reason"), [
    ({EN: "Your points could not be verified.", ZH: "閣下申報的分數未能核實。"},
     {EN: "Your points could not be verified.", ZH: "閣下申報的分數未能核實。"}),
    ("  Your points could not be verified. ",
     {EN: "Your points could not be verified.", ZH: "Your points could not be verified."}),
    ("  ", {EN: "The points claimed could not be verified.",
            ZH: "The points claimed could not be verified."}),
])
def test_a_reason_worded_for_the_applicant_replaces_the_typed_one(actor, given, reason):
    data = letter_data(refused_after_review(actor), K.REFUSAL, on=date(2026, 3, 17),
                       extra={"reason": given})
    assert data["reason"] == reason


def test_an_extension_granted_for_fewer_months_says_those_months(actor):
    data = letter_data(extension_granted(actor, months=12), K.EXTENSION_GRANTED,
                       on=date(2027, 3, 10))
    assert (data["months"], data["stay_ends_on"], data["previous_stay_ends_on"]) == (
        12, "2028-03-16", "2027-03-16")


def test_a_request_for_documents_words_the_callers_labels_in_both_languages(actor):
    items = [{"label": lazy_gettext("Business plan"), "hint": lazy_gettext("Employer")},
             {"label": "Bank statement, March 2026", "person": "WONG Siu Ming"}]
    data = letter_data(under_review(actor), K.DOCUMENTS_REQUEST, on=date(2026, 3, 16),
                       extra={"items": items, "due_on": "2026-04-13"})
    assert data["items"] == [
        {"label": {EN: "Business plan", ZH: "業務計劃"}, "hint": {EN: "Employer", ZH: "僱主"},
         "person": None},
        {"label": {EN: "Bank statement, March 2026", ZH: "Bank statement, March 2026"},
         "hint": None, "person": "WONG Siu Ming"}]
    assert data["due_on"] == "2026-04-13"


@pytest.mark.parametrize(("make", "kind", "extra", "problem"), [
    (submitted, K.APPROVAL, {}, "has taken none of the steps approve"),
    (submitted, K.REFUSAL, {}, "has taken none of the steps refuse, refuse_ineligible"),
    (approved_with_family, K.EXTENSION_GRANTED, {}, "none of the steps grant_extension"),
    (under_review, K.DOCUMENTS_REQUEST, {"due_on": DOCUMENTS_DUE}, "needs extra['items']"),
    (under_review, K.DOCUMENTS_REQUEST, {"items": DOCUMENT_ITEMS}, "needs extra['due_on']"),
    (under_review, K.DOCUMENTS_REQUEST,
     {"items": [{"hint": "Any"}], "due_on": DOCUMENTS_DUE}, "needs a label"),
    (under_review, K.DOCUMENTS_REQUEST,
     {"items": [{"label": {EN: "Payslips"}}], "due_on": DOCUMENTS_DUE}, "no words in zh_Hant_HK"),
], ids=["approval-not-approved", "refusal-not-refused", "extension-not-granted",
        "no-items", "no-due-date", "item-without-label", "label-in-one-language"])
def test_a_letter_the_case_cannot_have_is_refused_with_why(actor, make, kind, extra, problem):
    case = make(actor)
    with pytest.raises(LetterDataError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        letter_data(case, kind, on=date(2026, 3, 17), extra=extra)


def test_the_letter_keeps_the_office_as_configured_when_it_was_written(app, actor, monkeypatch):
    for key, value in {"OFFICE_NAME_EN": "Harbour Talent Office",
                       "OFFICE_NAME_ZH": "海港人才辦事處",
                       "OFFICE_ADDRESS_EN": ("1 Pier Road", "Central"),
                       "OFFICE_ADDRESS_ZH": ("中環", "碼頭道1號"),
                       "OFFICE_PHONE": "+852 3000 0001", "OFFICE_EMAIL": "talent@example.net",
                       "OFFICE_SIGNATURE_EN": "for the Harbour Talent Office",
                       "OFFICE_SIGNATURE_ZH": "海港人才辦事處（代行）"}.items():
        monkeypatch.setitem(app.config, key, value)
    data = letter_data(submitted(actor), K.ACKNOWLEDGEMENT, on=date(2026, 3, 3))
    assert data["office"] == {
        "name": {EN: "Harbour Talent Office", ZH: "海港人才辦事處"},
        "address": {EN: ["1 Pier Road", "Central"], ZH: ["中環", "碼頭道1號"]},
        "phone": "+852 3000 0001", "email": "talent@example.net",
        "signature": {EN: "for the Harbour Talent Office", ZH: "海港人才辦事處（代行）"}}


def test_an_applicant_without_a_chinese_name_written_to_in_chinese(actor):
    case = make_case(actor, Scheme.QMAS, CaseStatus.SUBMITTED, chinese_name=None,
                     language=ZH, email=None)
    applicant = letter_data(case, K.ACKNOWLEDGEMENT, on=date(2026, 3, 3))["applicant"]
    assert applicant == APPLICANT | {"chinese_name": None, "language": ZH, "email": None}


# --- The kinds ------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "label", "steps"), [
    (K.ACKNOWLEDGEMENT, "Acknowledgement of the application", ("submit",)),
    (K.DOCUMENTS_REQUEST, "Request for documents", ()),
    (K.APPROVAL, "Approval of the application", ("approve",)),
    (K.REFUSAL, "Refusal of the application", ("refuse", "refuse_ineligible")),
    (K.EXTENSION_GRANTED, "Extension of stay granted", ("grant_extension",)),
    (K.EXTENSION_REFUSED, "Extension of stay refused", ("refuse_extension",)),
])
def test_each_kind_has_a_label_and_the_steps_it_follows(kind, label, steps):
    assert str(kind.label) == label
    assert kind.steps == steps
    assert [letter_for_step(step) for step in steps] == [kind] * len(steps)


def test_every_step_a_letter_follows_is_a_step_of_every_schemes_lifecycle():
    for versions in POLICIES.values():
        for policy in versions:
            assert [policy.transition(step).name for step in STEP_LETTERS] == list(STEP_LETTERS)
    assert letter_for_step("start_review") is None

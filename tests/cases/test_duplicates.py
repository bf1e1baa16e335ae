"""Duplicates: the same person in another case is shown before saving, saving anyway needs a
reason kept in the history, and one person holds one QMAS quota place at a time."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select, text

from backoffice.auth.models import Role, User
from backoffice.cases import duplicates, services
from backoffice.cases.duplicates import HKID, NAME, PASSPORT, Identity
from backoffice.cases.events import describe_event
from backoffice.cases.guards import CaseError
from backoffice.cases.models import Applicant, Case, CaseEvent, Dependant, EventKind, Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.i18n import force_language
from backoffice.extensions import db as _db
from tests.cases.factories import (
    NOW,
    TODAY,
    applicant_data,
    case_facts,
    dependant_data,
    make_case,
)

S = CaseStatus
ZH = "zh_Hant_HK"
REASON = "A new application after the first was refused."
# The factories' first applicant, given in full: a later make_case is otherwise another person.
SAME = {"passport_number": "AB1234567", "date_of_birth": date(1990, 5, 17),
        "given_names": "Mei Ling"}


def identity(**overrides) -> Identity:
    return Identity.of(applicant_data(**overrides))


# --- Normalisation ------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "key"), [
    ("AB1234567", "AB1234567"),
    ("ab1234567", "AB1234567"),  # case
    (" AB 123 4567 ", "AB1234567"),  # spaces
    ("AB-123-4567", "AB1234567"),  # hyphens
    ("AB\u2010123\u20134567", "AB1234567"),  # Unicode hyphen and dash
    ("\uff21\uff22\uff11\uff12\uff13\uff14\uff15\uff16\uff17", "AB1234567"),  # full width
    ("\uff41\uff42\u3000\uff11\uff12\uff13\uff0d\uff14\uff15\uff16\uff17", "AB1234567"),
])
def test_passport_key(typed, key):
    assert duplicates.passport_key(typed) == key


@pytest.mark.parametrize(("family", "given", "key"), [
    ("Chan", "Mei Ling", "chan|mei ling"),
    ("CHAN", "MEI LING", "chan|mei ling"),  # case
    ("  Chan ", "Mei   Ling", "chan|mei ling"),  # spaces collapsed
    ("\uff23\uff48\uff41\uff4e", "Mei\u3000Ling", "chan|mei ling"),  # full width
    ("Strauß", "Jürgen", "strauss|jürgen"),  # case folding
    ("Chan Mei", "Ling", "chan mei|ling"),  # the parts stay apart
])
def test_name_key(family, given, key):
    assert duplicates.name_key(family, given) == key


@pytest.mark.parametrize(("typed", "key"), [
    ("A123456(3)", "A123456(3)"),
    ("a1234563", "A123456(3)"),
    (" a 123456 (3) ", "A123456(3)"),
    (None, None),
    ("", None),
])
def test_hkid_key(typed, key):
    assert duplicates.hkid_key(typed) == key


# --- The rules ------------------------------------------------------------------------------

OTHER_PERSON = {"family_name": "Wong", "given_names": "Siu Fung", "passport_number": "ZZ9999999",
                "hkid": None}


@pytest.mark.parametrize(("stored", "typed", "rules"), [
    # passport with nationality, however it is typed
    ({}, {**OTHER_PERSON, "passport_number": "ab-123 4567"}, [PASSPORT]),
    ({}, {**OTHER_PERSON, "passport_number": "\uff21\uff22\uff11\uff12\uff13\uff14\uff15\uff16"
                                            "\uff17"}, [PASSPORT]),
    # the same passport number of another country is another passport
    ({}, {**OTHER_PERSON, "passport_number": "AB1234567", "nationality": "GB"}, []),
    # HKID
    ({"hkid": "A123456(3)"}, {**OTHER_PERSON, "hkid": "A123456(3)"}, [HKID]),
    # family name + given names + date of birth, however they are typed
    ({}, {"passport_number": "ZZ9999999", "family_name": "CHAN",
          "given_names": " mei   ling "}, [NAME]),
    ({}, {"passport_number": "ZZ9999999", "family_name": "\uff23\uff48\uff41\uff4e"}, [NAME]),
    # the same name born another day is another person
    ({}, {"passport_number": "ZZ9999999", "date_of_birth": TODAY.replace(year=1991)}, []),
    # every rule at once: one match naming all three
    ({"hkid": "A123456(3)"}, {"hkid": "a1234563"}, [PASSPORT, HKID, NAME]),
    # nobody
    ({}, OTHER_PERSON, []),
])
def test_each_rule_matches_the_applicant_of_another_case(db, caseworker, stored, typed, rules):
    case = make_case(caseworker, **stored)
    matches = duplicates.find_matches(identity(**typed))
    assert [(m.case_id, m.who, m.rules) for m in matches] == (
        [(case.id, "applicant", rules)] if rules else [])


@pytest.mark.parametrize(("relation", "rule", "typed"), [
    (Relationship.SPOUSE, PASSPORT, {"passport_number": "AB7654321"}),
    (Relationship.CHILD, NAME, {"family_name": "Chan", "given_names": "Ka Ho",
                                "date_of_birth": dependant_data().date_of_birth}),
    (Relationship.CHILD, HKID, {"hkid": "B987654(1)"}),
])
def test_current_dependants_of_other_cases_match(db, caseworker, relation, rule, typed):
    case = make_case(caseworker)
    services.add_dependant(caseworker, case, relation, dependant_data(
        hkid="B987654(1)", **({"date_of_birth": TODAY.replace(year=1990)} if relation ==
                              Relationship.SPOUSE else {})), False, case.version, today=TODAY)
    _db.session.commit()
    matches = duplicates.find_matches(identity(**{**OTHER_PERSON, **typed}))
    assert [(m.case_id, m.who, m.rules) for m in matches] == [(case.id, relation.value, [rule])]


def test_a_removed_dependant_no_longer_matches(db, caseworker):
    case = make_case(caseworker)
    child = services.add_dependant(caseworker, case, Relationship.CHILD, dependant_data(), False,
                                   case.version, today=TODAY)
    services.remove_dependant(caseworker, case, child, "Added by mistake.", case.version)
    _db.session.commit()
    assert duplicates.find_matches(identity(**{**OTHER_PERSON,
                                               "passport_number": "AB7654321"})) == []


def test_a_case_never_matches_itself(db, caseworker):
    case = make_case(caseworker)
    services.add_dependant(caseworker, case, Relationship.CHILD, dependant_data(), False,
                           case.version, today=TODAY)
    assert duplicates.find_matches(identity(), exclude_case_id=case.id) == []
    # a second child with the first's passport, on the same case: no warning either
    services.add_dependant(caseworker, case, Relationship.CHILD, dependant_data(
        given_names="Ka Yan"), False, case.version, today=TODAY)


def test_the_keys_are_kept_by_the_services(db, caseworker):
    case = make_case(caseworker, passport_number="ab 1234567")
    assert (case.applicant.passport_key, case.applicant.name_key) == ("AB1234567",
                                                                      "chan|mei ling")
    services.update_case(caseworker, case, applicant_data(passport_number="CD7654321",
                                                          family_name="Chen"),
                         case_facts(), case.version, today=TODAY)
    assert (case.applicant.passport_key, case.applicant.name_key) == ("CD7654321",
                                                                      "chen|mei ling")
    child = services.add_dependant(caseworker, case, Relationship.CHILD, dependant_data(),
                                   False, case.version, today=TODAY)
    assert (child.passport_key, child.name_key) == ("AB7654321", "chan|ka ho")


# --- Saving anyway ----------------------------------------------------------------------------

def accepted_events(case_id: int) -> list[CaseEvent]:
    return [e for e in _db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))
            if (e.detail_data or {}).get("key") in ("duplicates_accepted", "several")]


def test_a_match_is_refused_with_the_matches_and_nothing_is_saved(db, caseworker):
    first = make_case(caseworker)
    with pytest.raises(duplicates.DuplicatesFound) as found:
        services.create_case(caseworker, Scheme.QMAS, applicant_data(), case_facts(),
                             today=TODAY)
    assert [(m.reference, m.rules) for m in found.value.matches] == [
        (first.reference, [PASSPORT, NAME])]
    _db.session.rollback()
    assert _db.session.scalar(select(func.count()).select_from(Case)) == 1


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_saving_anyway_without_a_reason_is_refused(db, caseworker, reason):
    make_case(caseworker)
    expected = (duplicates.DuplicatesFound if reason is None
                else duplicates.DuplicateReasonMissing)
    with pytest.raises(expected):
        services.create_case(caseworker, Scheme.QMAS, applicant_data(), case_facts(),
                             today=TODAY, accept_duplicates=reason)


def test_saving_anyway_records_the_reason_and_the_cases_matched(app, db, caseworker):
    first = make_case(caseworker)
    second = services.create_case(caseworker, Scheme.QMAS, applicant_data(), case_facts(),
                                  today=TODAY, accept_duplicates=f"  {REASON} ")
    _db.session.commit()
    (event,) = accepted_events(second.id)
    assert (event.kind, event.reason) == (EventKind.CREATED, REASON)
    assert event.detail_data["matches"] == [
        {"case_id": first.id, "reference": first.reference, "who": "applicant",
         "rules": [PASSPORT, NAME]}]
    with app.test_request_context():
        assert describe_event(event) == (
            "Saved anyway, although the person matched someone in another case: "
            f"{first.reference}, the applicant (same passport number and nationality, "
            "same name and date of birth).")
        with force_language(ZH):
            chinese = describe_event(event)
    assert first.reference in chinese and "護照" in chinese


def test_an_edit_checks_again_only_the_rules_whose_fields_changed(db, caseworker):
    first = make_case(caseworker, hkid="A123456(3)")
    # the second case: the same name and date of birth, accepted when it was made
    second = make_case(caseworker, accept_duplicates=REASON,
                       **(SAME | {"passport_number": "ZZ9999999"}))
    same_person = applicant_data(passport_number="ZZ9999999")
    # an edit that leaves the identity as it was (the phone) asks nothing again
    services.update_case(caseworker, second, applicant_data(
        passport_number="ZZ9999999", phone="+852 5555 0101"), case_facts(), second.version,
        today=TODAY)
    assert same_person.family_name == second.applicant.family_name
    # a new match (the HKID of the first case) is asked about, and names only that rule
    with pytest.raises(duplicates.DuplicatesFound) as found:
        services.update_case(caseworker, second, applicant_data(
            passport_number="ZZ9999999", hkid="A123456(3)"), case_facts(), second.version,
            today=TODAY)
    assert [(m.case_id, m.rules) for m in found.value.matches] == [(first.id, [HKID])]
    _db.session.rollback()
    second = _db.session.get(Case, second.id)
    services.update_case(caseworker, second, applicant_data(
        passport_number="ZZ9999999", hkid="A123456(3)"), case_facts(), second.version,
        today=TODAY, accept_duplicates=REASON)
    edit = accepted_events(second.id)[-1]
    assert (edit.kind, edit.reason) == (EventKind.EDITED, REASON)
    assert [p["key"] for p in edit.detail_data["parts"]] == ["fields_changed",
                                                             "duplicates_accepted"]


def test_adding_a_dependant_who_matches_needs_a_reason(db, caseworker):
    first = make_case(caseworker)
    services.add_dependant(caseworker, first, Relationship.CHILD, dependant_data(), False,
                           first.version, today=TODAY)
    _db.session.commit()
    second = make_case(caseworker)
    with pytest.raises(duplicates.DuplicatesFound):
        services.add_dependant(caseworker, second, Relationship.CHILD, dependant_data(), False,
                               second.version, today=TODAY)
    _db.session.rollback()
    second = _db.session.get(Case, second.id)
    services.add_dependant(caseworker, second, Relationship.CHILD, dependant_data(), False,
                           second.version, today=TODAY, accept_duplicates=REASON)
    (event,) = accepted_events(second.id)
    assert (event.kind, event.reason) == (EventKind.DEPENDANT_ADDED, REASON)
    assert event.detail_data["parts"][1]["matches"][0]["who"] == "child"


# --- One QMAS place per person -----------------------------------------------------------------

def approve(case, actor):
    return services.transition(case, "approve", actor, now=NOW,
                               data=services.StepData(on=TODAY))


@pytest.mark.parametrize(("first_status", "same", "refused"), [
    (S.APPROVED, {}, True),
    (S.VISA_ISSUED, {}, True),
    (S.IN_STAY, {}, True),
    (S.EXTENDED, {}, True),
    (S.APPROVED, {"passport_number": "ZZ9999999", "hkid": "A123456(3)",
                  "given_names": "Siu Fung"}, True),  # by HKID alone
    # the first case holds no place (any more, or yet)
    (S.WITHDRAWN, {}, False),
    (S.LAPSED, {}, False),
    (S.CLOSED, {}, False),
    (S.REFUSED, {}, False),
    (S.UNDER_REVIEW, {}, False),
    (S.AWAITING_QUOTA, {}, False),
    # the same name and date of birth alone is not the same person for the quota
    (S.APPROVED, {"passport_number": "ZZ9999999"}, False),
])
def test_a_second_qmas_place_is_refused(db, caseworker, first_status, same, refused):
    first = make_case(caseworker, Scheme.QMAS, first_status, hkid="A123456(3)")
    second = make_case(caseworker, Scheme.QMAS, S.UNDER_REVIEW, accept_duplicates=REASON,
                       **(SAME | {"hkid": None} | same))
    options = {o.name: o for o in services.step_options(second, caseworker)}
    if not refused:
        assert options["approve"].available
        approve(second, caseworker)
        assert second.status == S.APPROVED
        return
    assert not options["approve"].available
    assert first.reference in str(options["approve"].refusal)
    assert options["approve"].see_case.case_id == first.id
    with pytest.raises(CaseError, match=first.reference):
        approve(second, caseworker)


def test_the_place_is_refused_from_the_awaiting_quota_queue_too(db, caseworker):
    second = make_case(caseworker, Scheme.QMAS, S.AWAITING_QUOTA)
    first = make_case(caseworker, Scheme.QMAS, S.APPROVED, accept_duplicates=REASON,
                      passport_number=second.applicant.passport_number,
                      date_of_birth=second.applicant.date_of_birth)
    with pytest.raises(CaseError, match=first.reference):
        approve(second, caseworker)


def test_another_schemes_case_does_not_hold_a_qmas_place(db, caseworker):
    make_case(caseworker, Scheme.GEP_PRO, S.APPROVED)
    second = make_case(caseworker, Scheme.QMAS, S.UNDER_REVIEW, accept_duplicates=REASON,
                       passport_number="AB1234567", date_of_birth=TODAY.replace(year=1990))
    approve(second, caseworker)
    assert second.status == S.APPROVED


# --- Pages ------------------------------------------------------------------------------------

def case_form(**overrides) -> dict:
    data = {"scheme": "QMAS", "submitted_on": "2026-03-02", "family_name": "Chan",
            "given_names": "Mei Ling", "chinese_name": "", "date_of_birth": "1990-05-17",
            "nationality": "CA", "passport_number": "ab 1234567", "hkid": "", "email": "",
            "phone": "", "programme": "", "language": "en"}
    return data | overrides


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("extra", "status", "saved", "message"), [
    ({}, 422, False, "Possible duplicates"),
    ({"accept_duplicates": "y"}, 422, False, "Give the reason for saving anyway"),
    ({"accept_duplicates": "y", "duplicate_reason": "  "}, 422, False,
     "Give the reason for saving anyway"),
    ({"duplicate_reason": REASON}, 422, False, "Possible duplicates"),  # not confirmed
    ({"accept_duplicates": "y", "duplicate_reason": REASON}, 302, True, None),
])
def test_the_new_case_form_shows_the_matches_before_saving(client, as_role, db, extra, status,
                                                            saved, message):
    me = as_role(Role.CASEWORKER)
    first = make_case(me, hkid="A123456(3)")
    response = client.post_form("/cases/new", case_form(**extra), token_from="/cases/new")
    assert response.status_code == status
    assert count(Case) == (2 if saved else 1)
    if saved:
        new = _db.session.scalar(select(Case).where(Case.id != first.id))
        history = client.get(f"/cases/{new.id}").get_data(as_text=True)
        assert REASON in history and first.reference in history
        return
    page = response.get_data(as_text=True)
    assert message in page
    soup = BeautifulSoup(page, "html.parser")
    warning = soup.select_one(".duplicate-matches")
    assert warning.select_one(f"a[href='/cases/{first.id}']").text == first.reference
    text = warning.get_text(" ")
    assert "AB1234567" not in text and "•••••567" in text  # masked
    assert "A123***(*)" in text and "A123456(3)" not in text
    assert soup.select_one("input[name=accept_duplicates]") is not None


def test_a_reason_too_long_is_explained_on_the_form(client, as_role, db):
    make_case(as_role(Role.CASEWORKER))
    response = client.post_form("/cases/new", case_form(accept_duplicates="y",
                                                        duplicate_reason="x" * 1001),
                                token_from="/cases/new")
    assert response.status_code == 422
    assert "Reason for saving anyway: Field cannot be longer than 1000 characters." in (
        response.get_data(as_text=True))
    assert count(Case) == 1


def test_the_edit_form_warns_only_when_the_identity_changes(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    first = make_case(me)
    second = make_case(me, accept_duplicates=REASON, **(SAME | {"passport_number": "ZZ9999999"}))
    url = f"/cases/{second.id}/edit"
    unchanged = case_form(passport_number="ZZ9999999", version=second.version,
                          phone="+852 5555 0101")
    response = client.post_form(url, unchanged, token_from=url)
    assert response.status_code == 302  # the accepted name match is not asked again
    second = _db.session.get(Case, second.id)
    changed = case_form(passport_number="AB1234567", version=second.version,
                        phone="+852 5555 0101")
    response = client.post_form(url, changed, token_from=url)
    assert response.status_code == 422
    assert "Possible duplicates" in response.get_data(as_text=True)
    assert f"/cases/{first.id}" in response.get_data(as_text=True)
    response = client.post_form(url, changed | {"accept_duplicates": "y",
                                                "duplicate_reason": REASON}, token_from=url)
    assert response.status_code == 302
    assert _db.session.get(Applicant, second.applicant_id).passport_number == "AB1234567"


def test_adding_a_dependant_on_the_case_page_shows_the_matches(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    first = make_case(me)
    second = make_case(me)
    url = f"/cases/{second.id}/dependants"
    child = {"relation": "child", "family_name": "Chan", "given_names": "Mei Ling",
             "date_of_birth": "2015-09-01", "nationality": "CA", "passport_number": "AB1234567",
             "version": second.version}
    response = client.post_form(url, child, token_from=f"/cases/{second.id}")
    assert response.status_code == 422
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert soup.select_one(f".duplicate-matches a[href='/cases/{first.id}']")
    assert "This person may already be in another case" in soup.select_one(
        ".error-summary").get_text()
    assert count(Dependant) == 0
    response = client.post_form(url, child | {"accept_duplicates": "y"},
                                token_from=f"/cases/{second.id}")
    assert response.status_code == 422
    assert "Give the reason for saving anyway" in response.get_data(as_text=True)
    response = client.post_form(url, child | {"accept_duplicates": "y",
                                              "duplicate_reason": REASON},
                                token_from=f"/cases/{second.id}")
    assert response.status_code == 302
    assert count(Dependant) == 1
    assert REASON in client.get(f"/cases/{second.id}").get_data(as_text=True)


def test_the_case_page_shows_the_second_place_refused_with_a_link(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    first = make_case(me, Scheme.QMAS, S.APPROVED)
    second = make_case(me, Scheme.QMAS, S.UNDER_REVIEW, accept_duplicates=REASON,
                       passport_number="AB1234567", date_of_birth=TODAY.replace(year=1990))
    soup = BeautifulSoup(client.get(f"/cases/{second.id}").get_data(as_text=True),
                         "html.parser")
    step = soup.select_one(".step-unavailable[data-step=approve]")
    assert first.reference in step.get_text()
    assert step.select_one(f"a[href='/cases/{first.id}']")
    # posted directly, the step refuses it all the same
    response = client.post_form(f"/cases/{second.id}/step/approve",
                                {"version": second.version, "on": TODAY.isoformat(),
                                 "confirmed": "1"}, token_from=f"/cases/{second.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert first.reference in page and f"/cases/{first.id}" in page
    assert _db.session.get(Case, second.id).status == S.UNDER_REVIEW


# --- Index-backed ----------------------------------------------------------------------------

def test_every_lookup_reads_an_index(app, db):
    """Each rule's select probes its own index (on PostgreSQL, asked not to scan: the tables
    of a test are too small for the planner to bother otherwise)."""
    identity_ = Identity("Chan", "Mei Ling", date(1990, 5, 17), "CA", "AB1234567",
                         "A123456(3)")
    statement = duplicates.matches_statement(identity_, exclude_case_id=1)
    sql = str(statement.compile(_db.engine, compile_kwargs={"literal_binds": True}))
    if app.config["BACKEND"] == "sqlite":
        plan = " ".join(row[-1] for row in _db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "SCAN applicants" not in plan and "SCAN dependants" not in plan
        assert plan.count("USING INDEX ix_") >= 6
    else:
        _db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in _db.session.execute(text(f"EXPLAIN {sql}")))
        assert "Seq Scan on applicants" not in plan and "Seq Scan on dependants" not in plan
    _db.session.rollback()


def test_the_warning_and_the_second_place_refusal_in_chinese(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    first = make_case(me, Scheme.QMAS, S.APPROVED)
    account = _db.session.get(User, me.id)
    account.language = ZH
    _db.session.commit()
    response = client.post_form("/cases/new", case_form(), token_from="/cases/new")
    warning = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        ".duplicate-matches").get_text(" ")
    assert "可能重複" in warning and "護照號碼及國籍相同" in warning and "申請人" in warning
    second = make_case(me, Scheme.QMAS, S.UNDER_REVIEW, accept_duplicates=REASON, **SAME)
    page = client.get(f"/cases/{second.id}").get_data(as_text=True)
    assert f"申請人已在個案 {first.reference} 佔用一個QMAS名額" in page
    assert REASON in page and "仍已儲存" in page

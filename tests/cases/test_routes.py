"""The caseworker's web UI: forms, the case page, actions, queues, search and CSV export."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from backoffice.auth.models import Role
from backoffice.cases import queries, services
from backoffice.cases.models import Case, CaseEvent, Dependant, EventKind, Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today
from tests.cases.factories import another_person, receive_documents
from tests.conftest import read_csv

SUBMITTED_ON = date(2026, 3, 1)


_LEE = dict(family_name="Lee", given_names="Mei Ling", chinese_name="李美玲",
            date_of_birth=date(1990, 4, 5), nationality="GB", passport_number="533380006",
            hkid=None, email="mei@example.org", phone="+852 5555 0000")


def applicant(**overrides) -> services.ApplicantData:
    return services.ApplicantData(**(_LEE | overrides))


@pytest.fixture
def new_case(db):
    """Create a case through the service, as ``actor``, and commit it."""

    def make(actor, scheme=Scheme.QMAS, steps=(), assignee="actor", **applicant_overrides):
        # Each case another person (factories.another_person): not duplicates of each other.
        values = another_person(_LEE, applicant_overrides) | applicant_overrides
        case = services.create_case(actor, scheme, services.ApplicantData(**values),
                                    services.CaseFacts(submitted_on=SUBMITTED_ON))
        for name in steps:
            services.transition(case, name, actor, reason="test reason")
            if name == "submit":  # the application came with its documents
                receive_documents(actor, case, hk_today())
        if assignee is None:
            case.assignee_id = None
        db.session.commit()
        return case

    return make


def case_form(**overrides) -> dict:
    data = {"scheme": "QMAS", "submitted_on": "2026-03-01", "family_name": "Lee",
            "given_names": "Mei Ling", "chinese_name": "李美玲", "date_of_birth": "1990-04-05",
            "nationality": "GB", "passport_number": "K1234567", "hkid": "A123456(3)",
            "email": "", "phone": "", "programme": ""}
    data.update(overrides)
    return data


def page_text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    from backoffice.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


# --- New case and edit --------------------------------------------------------------------

def test_new_case_form_creates_a_draft_assigned_to_me(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    response = client.post_form("/cases/new", case_form(), token_from="/cases/new")
    assert response.status_code == 302
    case = db.session.scalar(select(Case))
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert case.status == CaseStatus.DRAFT
    assert case.assignee_id == me.id
    assert re.fullmatch(r"QMAS-\d{4}-000001", case.reference)
    assert case.applicant.hkid == "A123456(3)"
    page = page_text(client.get(f"/cases/{case.id}"))
    assert "K1234567" in page  # in full on the case page
    assert "A123456(3)" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"family_name": ""}, "Enter the family name."),
        ({"hkid": "A123456(4)"}, "check digit does not match"),
        ({"hkid": "12345"}, "HKID"),
        ({"passport_number": "A!"}, "passport"),
        ({"nationality": "XX"}, "Not a valid choice"),
        ({"date_of_birth": "31/02/1990"}, "Not a valid date value."),
        ({"date_of_birth": (hk_today() + timedelta(days=2)).isoformat()}, "is in the future"),
        ({"submitted_on": (hk_today() + timedelta(days=2)).isoformat()}, "is in the future"),
        ({"job_salary": "-5"}, "Enter a monthly salary above 0 and at most 10,000,000."),
        ({"job_salary": "0"}, "Enter a monthly salary above 0 and at most 10,000,000."),
        ({"job_salary": "lots"}, "Not a valid decimal value."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"scheme": "NOPE"}, "Not a valid choice"),
    ],
)
def test_new_case_bad_input_is_explained_and_nothing_saved(client, as_role, overrides, message):
    as_role(Role.CASEWORKER)
    response = client.post_form("/cases/new", case_form(**overrides), token_from="/cases/new")
    assert response.status_code == 422
    text = page_text(response)
    assert message.lower() in text.lower()
    assert "There is a problem" in text
    assert count(Case) == 0


def test_edit_records_changed_fields(client, as_role, new_case, db):
    me = as_role(Role.CASEWORKER)
    case = new_case(me)
    form_page = page_text(client.get(f"/cases/{case.id}/edit"))
    assert 'value="Lee"' in form_page
    response = client.post_form(f"/cases/{case.id}/edit", case_form(
        family_name="Li", passport_number="533380006", hkid="", email="mei@example.org",
        phone="+852 5555 0000", version=str(case.version)))
    assert response.status_code == 302, page_text(response)
    db.session.refresh(case)
    assert case.applicant.family_name == "Li"
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == EventKind.EDITED))
    assert event.detail_data == {"key": "fields_changed", "changes": [
        {"field": "family_name", "from": "Lee", "to": "Li"}]}
    assert "Family name: Lee → Li" in page_text(client.get(f"/cases/{case.id}"))


def test_stale_edit_is_refused_and_nothing_overwritten(client, as_role, new_case, db):
    me = as_role(Role.CASEWORKER)
    case = new_case(me)
    stale_version = case.version
    services.update_case(me, case, applicant(given_names="Changed Elsewhere"),
                         services.CaseFacts(submitted_on=SUBMITTED_ON), case.version)
    db.session.commit()
    response = client.post_form(f"/cases/{case.id}/edit", case_form(
        given_names="My Version", version=str(stale_version)))
    assert response.status_code == 422
    assert "changed by someone else" in page_text(response)
    db.session.refresh(case.applicant)
    assert case.applicant.given_names == "Changed Elsewhere"


# --- Lifecycle from the case page ----------------------------------------------------------

def test_case_page_shows_only_the_steps_allowed_now(client, as_role, new_case):
    me = as_role(Role.CASEWORKER)
    case = new_case(me, steps=("submit", "start_review"))
    actions = actions_of(client.get(f"/cases/{case.id}"))
    offered = [control.get_text(strip=True) for control in actions.select("a.btn, button")]
    # Approve and the endings open their own page (a link); holding is taken here.
    assert offered == ["Hold for quota", "Approve", "Refuse", "Withdraw"]
    assert [a.get_text(strip=True) for a in actions.select("a.btn")] == [
        "Approve", "Refuse", "Withdraw"]


def test_step_moves_the_case_and_writes_the_event(client, as_role, new_case, db):
    me = as_role(Role.CASEWORKER)
    case = new_case(me)
    response = client.post_form(f"/cases/{case.id}/step/submit",
                                {"version": case.version}, token_from=f"/cases/{case.id}")
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.SUBMITTED
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == EventKind.TRANSITION))
    assert (event.from_status, event.to_status, event.actor_id) == (
        CaseStatus.DRAFT, CaseStatus.SUBMITTED, me.id)


@pytest.mark.parametrize(
    ("steps", "step", "data", "message"),
    [
        (("submit",), "refuse", {}, "Give a reason to refuse this case"),
        ((), "approve", {}, "is not possible for a case with the status “Draft”"),
        ((), "submit", {"version": "0"}, "changed by someone else"),
    ],
)
def test_refused_step_explains_on_the_case_page(client, as_role, new_case, db, steps, step,
                                                data, message):
    me = as_role(Role.CASEWORKER)
    case = new_case(me, steps=steps)
    before = case.status
    response = client.post_form(f"/cases/{case.id}/step/{step}",
                                {"version": case.version} | data, token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert message in page_text(response)
    db.session.refresh(case)
    assert case.status == before


def actions_of(response) -> BeautifulSoup:
    html = BeautifulSoup(page_text(response), "html.parser")
    return html.find(id="actions-heading").find_parent("section")


# A case page's words in each language, for the ineligible draft below.
INELIGIBLE_PAGE = {
    "en": {"heading": "This application cannot be accepted",
           "ground": "Nationals of Vietnam (VN) cannot apply", "submit": "Submit",
           "refuse": "Refuse as ineligible", "yet": "cannot be submitted yet",
           "history": "Refused as ineligible: Nationals of Vietnam (VN) cannot apply"},
    "zh_Hant_HK": {"heading": "此申請不獲接納", "ground": "越南（VN）國民不可根據",
                   "submit": "遞交", "refuse": "以不符合資格為由拒絕", "yet": "尚未能遞交",
                   "history": "以不符合資格為由拒絕：越南（VN）國民不可根據"},
}


@pytest.mark.parametrize("language", list(INELIGIBLE_PAGE))
def test_an_ineligible_draft_is_refused_on_its_ground_from_the_case_page(
        client, as_role, new_case, db, language):
    words = INELIGIBLE_PAGE[language]
    me = as_role(Role.CASEWORKER)
    me.language = language  # the account's choice is the language its pages are in
    db.session.commit()
    # A Vietnamese entrepreneur, and no business plan either: the permanent ground is what
    # the page says, since adding the plan would change nothing.
    case = new_case(me, scheme=Scheme.GEP_ENT, nationality="VN")
    response = client.get(f"/cases/{case.id}")
    html = BeautifulSoup(page_text(response), "html.parser")
    box = html.find(id="ineligible").get_text()
    assert words["heading"] in box and words["ground"] in box
    assert words["yet"] not in html.get_text()
    # Submit is shown as impossible, with why; the refusal on the ground is offered instead.
    actions = actions_of(response)
    submit = actions.find("button", string=words["submit"])
    assert submit.has_attr("disabled")
    assert words["ground"] in actions.find(id=submit["aria-describedby"]).get_text()
    assert actions.find("form", action=f"/cases/{case.id}/step/submit") is None
    link = actions.find("a", href=f"/cases/{case.id}/step/refuse_ineligible")
    assert link.get_text(strip=True) == words["refuse"]
    assert "btn-outline-danger" in link["class"]
    page = BeautifulSoup(page_text(client.get(link["href"])), "html.parser")
    reason = page.find("textarea", attrs={"name": "reason"}).get_text().strip()
    assert words["ground"] in reason  # pre-filled with the ground, in the reader's words

    response = client.post_form(link["href"], {"version": case.version, "reason": reason,
                                               "on": hk_today().isoformat(), "confirmed": "1"},
                                token_from=link["href"])

    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.REFUSED and case.submitted_at is not None
    html = BeautifulSoup(page_text(client.get(f"/cases/{case.id}")), "html.parser")
    history = html.find(id="timeline-heading").find_parent("section").get_text()
    assert words["history"] in history
    assert html.find(id="ineligible") is None


@pytest.mark.parametrize(("overrides", "box", "submit_blocked"), [
    # Something missing: worded as not yet, Submit shown disabled with it, no refusal offered.
    ({"scheme": Scheme.GEP_ENT}, "This case cannot be submitted yet", True),
    # Eligible: Submit is a real button, no refusal offered either.
    ({"scheme": Scheme.QMAS}, None, False),
])
def test_a_draft_that_can_still_be_submitted_is_not_offered_a_refusal(
        client, as_role, new_case, overrides, box, submit_blocked):
    me = as_role(Role.CASEWORKER)
    case = new_case(me, **overrides)
    response = client.get(f"/cases/{case.id}")
    text = page_text(response)
    assert "This application cannot be accepted" not in text
    assert (box in text) if box else ("cannot be submitted" not in text)
    actions = actions_of(response)
    assert actions.find("form", action=f"/cases/{case.id}/step/refuse_ineligible") is None
    assert "Refuse as ineligible" not in actions.get_text()
    assert (actions.find("form", action=f"/cases/{case.id}/step/submit") is None) \
        is submit_blocked
    response = client.post_form(f"/cases/{case.id}/step/refuse_ineligible",
                                {"version": case.version, "reason": "Ineligible.",
                                 "on": hk_today().isoformat(), "confirmed": "1"},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert "so it cannot be refused as ineligible" in page_text(response)


def test_other_caseworker_sees_no_actions_and_cannot_act(client, as_role, new_case, make_user,
                                                         db):
    owner = make_user(Role.CASEWORKER)
    case = new_case(owner)
    as_role(Role.CASEWORKER)
    page = page_text(client.get(f"/cases/{case.id}"))
    assert "Only the assigned caseworker or a supervisor can act" in page
    response = client.post_form(f"/cases/{case.id}/step/submit", {"version": case.version},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert "Only the caseworker assigned to this case or a supervisor" in page_text(response)
    db.session.refresh(case)
    assert case.status == CaseStatus.DRAFT


def test_supervisor_can_act_on_any_case(client, as_role, new_case, make_user, db):
    case = new_case(make_user(Role.CASEWORKER))
    as_role(Role.SUPERVISOR)
    response = client.post_form(f"/cases/{case.id}/step/submit", {"version": case.version},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.SUBMITTED


# --- Dependants ---------------------------------------------------------------------------

def dependant_form(version: int, **overrides) -> dict:
    data = {"relation": "child", "family_name": "Lee", "given_names": "Ann",
            "date_of_birth": "2010-05-01", "nationality": "GB", "passport_number": "P7654321",
            "version": str(version)}
    data.update(overrides)
    return data


def test_add_child_spouse_and_refusals(client, as_role, new_case, db):
    me = as_role(Role.CASEWORKER)
    case = new_case(me)
    url = f"/cases/{case.id}/dependants"
    assert client.post_form(url, dependant_form(case.version), token_from=f"/cases/{case.id}"
                            ).status_code == 302
    db.session.refresh(case)
    assert client.post_form(url, dependant_form(case.version, relation="spouse",
                                                given_names="Tom", date_of_birth="1989-01-01")
                            ).status_code == 302
    db.session.refresh(case)
    too_old = client.post_form(url, dependant_form(case.version, given_names="Bea",
                                                   date_of_birth="2008-02-15"))
    assert too_old.status_code == 422
    assert ("Turned 18 on 15 Feb 2026, before the submission date (1 Mar 2026)"
            in page_text(too_old))
    second_spouse = client.post_form(url, dependant_form(case.version, relation="spouse",
                                                         given_names="Sam"))
    assert second_spouse.status_code == 422
    assert "already has a spouse" in page_text(second_spouse)
    assert count(Dependant) == 2


def test_remove_dependant_needs_a_reason_and_keeps_the_row(client, as_role, new_case, db):
    me = as_role(Role.CASEWORKER)
    case = new_case(me)
    child = services.add_dependant(me, case, Relationship.CHILD, services.IdentityData(
        family_name="Lee", given_names="Ann", chinese_name=None, date_of_birth=date(2012, 1, 1),
        nationality="GB", passport_number="P1111111"), False, case.version)
    db.session.commit()
    url = f"/cases/{case.id}/dependants/{child.id}/remove"
    no_reason = client.post_form(url, {"version": case.version, "reason": ""},
                                 token_from=f"/cases/{case.id}")
    assert no_reason.status_code == 422
    assert "Give a reason for removing the dependant." in page_text(no_reason)
    assert client.post_form(url, {"version": case.version, "reason": "Left the family"}
                            ).status_code == 302
    db.session.refresh(child)
    assert child.removed_at is not None
    assert child.removal_reason == "Left the family"
    assert count(Dependant) == 1


# --- Assignment ---------------------------------------------------------------------------

def test_take_an_unassigned_case(client, as_role, new_case, make_user, db):
    case = new_case(make_user(Role.CASEWORKER), assignee=None)
    me = as_role(Role.CASEWORKER)
    page = page_text(client.get(f"/cases/{case.id}"))
    assert ">Assign to me</button>" in page
    response = client.post_form(f"/cases/{case.id}/take", {"version": case.version})
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.assignee_id == me.id


def test_two_caseworkers_take_the_same_case_only_one_wins(client, app, as_role, new_case,
                                                          make_user, db):
    case = new_case(make_user(Role.CASEWORKER), assignee=None)
    version = case.version
    first = make_user(Role.CASEWORKER)
    services.take_case(first, case, version)
    db.session.commit()
    as_role(Role.CASEWORKER)
    response = client.post_form(f"/cases/{case.id}/take", {"version": version},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert "changed by someone else" in page_text(response)
    db.session.refresh(case)
    assert case.assignee_id == first.id


def test_bulk_reassign_by_supervisor(client, as_role, new_case, make_user, db):
    owner, target = make_user(Role.CASEWORKER), make_user(Role.CASEWORKER)
    cases = [new_case(owner) for _ in range(3)]
    as_role(Role.SUPERVISOR)
    response = client.post_form("/cases/reassign", {
        "case_ids": [c.id for c in cases[:2]], "assignee": target.id,
        "back": "/cases/queue/all"}, token_from="/cases/queue/all")
    assert response.status_code == 302
    assert response.headers["Location"] == "/cases/queue/all"
    db.session.expire_all()
    assert [db.session.get(Case, c.id).assignee_id for c in cases] == [
        target.id, target.id, owner.id]
    assert db.session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.kind == EventKind.ASSIGNED)) == 2


def test_bulk_reassign_without_ticks_says_so(client, as_role, make_user):
    target = make_user(Role.CASEWORKER)
    as_role(Role.SUPERVISOR)
    response = client.post_form("/cases/reassign", {"assignee": target.id},
                                token_from="/cases/queue/all", follow_redirects=True)
    assert "Tick at least one case." in page_text(response)


# --- Queues, search and export -------------------------------------------------------------

def test_queues_show_the_right_cases_and_mask_identity_numbers(client, as_role, new_case,
                                                               make_user):
    me = as_role(Role.CASEWORKER)
    mine = new_case(me, passport_number="MINE12345", hkid="A123456(3)")
    unassigned = new_case(make_user(Role.CASEWORKER), assignee=None, family_name="Nobody")
    closed = new_case(me, steps=("withdraw",), family_name="Closed")
    page = page_text(client.get("/cases/"))
    assert mine.reference in page
    assert unassigned.reference not in page
    assert closed.reference not in page  # work queues show open cases by default
    assert "MINE12345" not in page and "•••••345" in page
    assert "A123456(3)" not in page and "A123***(*)" in page
    assert unassigned.reference in page_text(client.get("/cases/queue/unassigned"))
    assert closed.reference in page_text(client.get("/cases/?status=withdrawn"))


def test_all_cases_is_read_only_for_caseworkers(client, as_role):
    as_role(Role.CASEWORKER)
    page = client.get("/cases/queue/all")
    assert page.status_code == 200
    assert 'action="/cases/reassign"' not in page.get_data(as_text=True)
    assert client.get("/cases/queue/all/export.csv").status_code == 403
    assert client.get("/cases/queue/nonsense").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lee", {"lee"}),
        ("LEE", {"lee"}),
        ("ei lin", {"lee"}),
        ("美玲", {"lee"}),
        ("chan", {"chan"}),
        ("C7654321", {"chan"}),
        ("c765 4321", {"chan"}),
        ("B987654(0)", {"chan"}),
        ("b9876540", {"chan"}),
        # typed with a Chinese input method: full-width letters, digits and spaces
        ("\uff23\uff17\uff16\uff15\uff14\uff13\uff12\uff11", {"chan"}),
        ("\uff2c\uff25\uff25", {"lee"}),
        ("ei\u3000lin", {"lee"}),
        ("nobody-at-all", set()),
        ("%", set()),
        ("_", set()),
    ],
)
def test_search(client, as_role, new_case, query, expected):
    me = as_role(Role.SUPERVISOR)
    cases = {
        "lee": new_case(me),
        "chan": new_case(me, family_name="Chan", given_names="Tai Man", chinese_name="陳大文",
                         passport_number="C7654321", hkid="B987654(0)"),
    }
    page = page_text(client.get("/cases/queue/all", query_string={"q": query}))
    found = {key for key, case in cases.items() if case.reference in page}
    assert found == expected


def test_search_by_reference(client, as_role, new_case):
    me = as_role(Role.SUPERVISOR)
    first, second = new_case(me), new_case(me)
    page = page_text(client.get("/cases/queue/all", query_string={"q": second.reference.lower()}))
    assert second.reference in page and first.reference not in page


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"scheme": "ASSG"}, {"assg"}),
        ({"status": "submitted"}, {"submitted"}),
        ({"nationality": "JP"}, {"assg"}),
        ({"submitted_from": "2026-03-01", "submitted_to": "2026-03-01"},
         {"draft", "submitted", "assg"}),
        ({"submitted_to": "2026-02-28"}, set()),
    ],
)
def test_filters(client, as_role, new_case, args, expected):
    me = as_role(Role.SUPERVISOR)
    cases = {
        "draft": new_case(me),
        "submitted": new_case(me, steps=("submit",)),
        "assg": new_case(me, scheme=Scheme.ASSG, nationality="JP"),
    }
    page = page_text(client.get("/cases/queue/all", query_string=args))
    assert {k for k, c in cases.items() if c.reference in page} == expected


def test_filter_with_reversed_dates_explains(client, as_role):
    as_role(Role.SUPERVISOR)
    response = client.get("/cases/queue/all", query_string={
        "submitted_from": "2026-03-02", "submitted_to": "2026-03-01"})
    assert response.status_code == 422
    assert "The end date is before the start date." in page_text(response)


@pytest.mark.parametrize("sort", ["newest", "oldest", "submitted_desc", "submitted_asc"])
def test_keyset_pagination_walks_every_case_once(client, as_role, new_case, monkeypatch, sort):
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    me = as_role(Role.SUPERVISOR)
    references = {new_case(me).reference for _ in range(10)}
    seen: list[str] = []
    url = f"/cases/queue/all?sort={sort}"
    for _ in range(5):
        page = page_text(client.get(url))
        seen += re.findall(r'class="mono">(QMAS-\d{4}-\d{6})</a>', page)
        match = re.search(r'href="([^"]*after=[^"]*)">Next page', page)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
    assert len(seen) == len(set(seen)) == 10
    assert set(seen) == references
    if sort in ("newest", "oldest"):
        assert seen == sorted(seen, reverse=sort == "newest")


def test_bad_cursor_falls_back_to_the_first_page(client, as_role, new_case):
    me = as_role(Role.SUPERVISOR)
    case = new_case(me)
    response = client.get("/cases/queue/all", query_string={"after": "x~y~z"})
    assert response.status_code == 200
    assert case.reference in page_text(response)


def test_csv_export_streams_filtered_masked_rows(client, as_role, new_case):
    me = as_role(Role.SUPERVISOR)
    wanted = new_case(me, scheme=Scheme.ASSG, passport_number="SECRET999", chinese_name="李",
                      hkid="A123456(3)")
    new_case(me)
    response = client.get("/cases/queue/all/export.csv", query_string={"scheme": "ASSG"})
    assert response.was_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header == [str(name) for name in queries.CSV_HEADER]
    [row] = [dict(zip(header, row, strict=True)) for row in rows]
    assert row["Reference"] == wanted.reference
    assert row["Chinese name"] == "李"
    # Identity numbers as every list masks them: the passport's last three characters, the
    # HKID's letter and first three digits.
    assert "SECRET999" not in page_text(response) and "A123456" not in page_text(response)
    assert row["Passport (masked)"] == "•••••999"
    assert row["HKID (masked)"] == "A123***(*)"


def test_no_page_renders_python_none_into_html(client, as_role, new_case):
    me = as_role(Role.CASEWORKER)
    case = new_case(me)
    for url in ("/cases/", "/cases/new", f"/cases/{case.id}", f"/cases/{case.id}/edit"):
        assert '="None"' not in page_text(client.get(url)), url

"""Case notes: who wrote what on a case, when; append-only, corrected by later notes, shown in
the case page's history among the events, filtered to the notes alone and searched there."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backoffice.auth.models import Role
from backoffice.cases import queries, services
from backoffice.cases.models import NOTE_LENGTH, CaseEvent, CaseNote, Relationship
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from tests.cases.factories import dependant_data, make_case

EMPTY = "The note is empty; write what is to be kept."
NOT_OF_THIS_CASE = "The note to correct is not one of this case's notes; choose it from the list."
ALREADY_CORRECTED = ("That note was already corrected by a later note; correct the later note "
                     "instead.")
ADMINS_CANNOT = "Only caseworkers and supervisors can write notes on cases."
CONTROL = "Remove the invisible control characters from this field."


def too_long(length: str) -> str:
    return (f"Keep a note to 4,000 characters (this one has {length}); write the rest in a "
            "second note.")


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


# --- The rules ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kept", "refusal"), [
    ("Called the applicant; she will send the degree certificate.",
     "Called the applicant; she will send the degree certificate.", None),
    ("  Line one\r\nLine two\r\n\r\n", "Line one\nLine two", None),  # as a browser sends it
    ("申請人來電：下星期補交學歷證明。", "申請人來電：下星期補交學歷證明。", None),
    ("<b>bold?</b> & 'quotes'", "<b>bold?</b> & 'quotes'", None),  # kept; escaped when shown
    ("", None, EMPTY),
    (None, None, EMPTY),
    ("  \r\n\t \n ", None, EMPTY),
    ("n" * NOTE_LENGTH, "n" * NOTE_LENGTH, None),
    # A line break is one character, as the text box counts it, not the two a browser sends.
    ("n\r\n" * (NOTE_LENGTH // 2) + "n", None, too_long("4,001")),
    ("n\r\n" * 1000 + "n" * 1999, "n\n" * 1000 + "n" * 1999, None),
    ("n" * (NOTE_LENGTH + 1), None, too_long("4,001")),
    ("n" * 10_000, None, too_long("10,000")),
], ids=["plain", "crlf", "chinese", "markup", "empty", "none", "blank", "longest",
        "line-breaks-over", "line-breaks-fit", "one-too-many", "huge"])
def test_a_note_is_kept_as_typed_or_refused_for_why(app, db, make_user, text, kept, refusal):
    writer = make_user(Role.CASEWORKER)
    case = make_case(writer)
    if refusal is None:
        note = services.add_note(writer, case, text)
        db.session.commit()
        assert (note.text, note.author_id, note.case_id) == (kept, writer.id, case.id)
        assert note.written_at.tzinfo is not None
    else:
        with pytest.raises(services.CaseError) as refused:
            services.add_note(writer, case, text)
        assert str(refused.value) == refusal
        db.session.rollback()
        assert count(CaseNote) == 0


@pytest.mark.parametrize(("which", "refusal"), [
    ("none", None),
    ("own", None),
    ("correction", None),  # a correction is corrected in turn: the chain goes on
    ("corrected", ALREADY_CORRECTED),
    ("other_case", NOT_OF_THIS_CASE),
    ("unknown", NOT_OF_THIS_CASE),
    ("zero", NOT_OF_THIS_CASE),
    ("negative", NOT_OF_THIS_CASE),
    ("beyond_the_database", NOT_OF_THIS_CASE),
])
def test_a_correction_names_a_note_of_the_case_not_yet_corrected(app, db, make_user, which,
                                                                 refusal):
    writer = make_user(Role.CASEWORKER)
    case, other = make_case(writer), make_case(writer)
    first = services.add_note(writer, case, "The applicant's employer is Harbour Ltd.")
    correction = services.add_note(writer, case, "The employer is Harbour Analytics Ltd.",
                                   corrects_note_id=first.id)
    elsewhere = services.add_note(writer, other, "A note on another case.")
    db.session.commit()
    if which == "own":
        target = services.add_note(writer, case, "A note to correct.").id
    else:
        target = {"none": None, "correction": correction.id, "corrected": first.id,
                  "other_case": elsewhere.id, "unknown": 987654, "zero": 0, "negative": -1,
                  "beyond_the_database": 2**63}[which]
    notes_before = count(CaseNote)
    if refusal is None:
        note = services.add_note(writer, case, "The corrected text.", corrects_note_id=target)
        db.session.commit()
        assert note.corrects_note_id == target
    else:
        with pytest.raises(services.CaseError) as refused:
            services.add_note(writer, case, "The corrected text.", corrects_note_id=target)
        assert str(refused.value) == refusal
        db.session.rollback()
        assert count(CaseNote) == notes_before


def test_the_database_lets_a_note_be_corrected_only_once(app, db, make_user):
    """Two corrections of one note sent at once both pass the service's check; the unique key
    lets one in."""
    writer = make_user(Role.CASEWORKER)
    case = make_case(writer)
    first = services.add_note(writer, case, "First.")
    services.add_note(writer, case, "Correction.", corrects_note_id=first.id)
    db.session.commit()
    db.session.add(CaseNote(case_id=case.id, author_id=writer.id, text="Second correction.",
                            corrects_note_id=first.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_correction_that_lost_the_race_is_refused_in_words(app, db, make_user, monkeypatch):
    """The service's own check saw no correction, the database had one by then: the
    refusal is the same sentence, and the transaction can go on."""
    writer = make_user(Role.CASEWORKER)
    case = make_case(writer)
    first = services.add_note(writer, case, "First.")
    services.add_note(writer, case, "Correction.", corrects_note_id=first.id)
    db.session.commit()
    original = db.session.scalar
    monkeypatch.setattr(db.session, "scalar", lambda statement, *a, **k: (
        None if "corrects_note_id" in str(statement) else original(statement, *a, **k)))
    with pytest.raises(services.CaseError) as refused:
        services.add_note(writer, case, "Late correction.", corrects_note_id=first.id)
    assert str(refused.value) == ALREADY_CORRECTED
    monkeypatch.undo()
    assert count(CaseNote) == 2


@pytest.mark.parametrize("status", [CaseStatus.DRAFT, CaseStatus.IN_STAY, CaseStatus.WITHDRAWN,
                                    CaseStatus.CLOSED])
@pytest.mark.parametrize("who", ["assignee", "other_caseworker", "supervisor"])
def test_whoever_may_view_the_case_may_write_a_note_open_or_ended(app, db, make_user, status,
                                                                   who):
    owner = make_user(Role.CASEWORKER)
    case = make_case(owner, Scheme.GEP_PRO, status)
    writer = owner if who == "assignee" else make_user(
        Role.SUPERVISOR if who == "supervisor" else Role.CASEWORKER)
    services.add_note(writer, case, "Letter from the applicant received.")
    db.session.commit()
    assert count(CaseNote) == 1


def test_an_admin_may_not_write_a_note(app, db, make_user):
    case = make_case(make_user(Role.CASEWORKER))
    with pytest.raises(services.CaseError) as refused:
        services.add_note(make_user(Role.ADMIN), case, "Hello.")
    assert str(refused.value) == ADMINS_CANNOT


def test_a_note_is_no_change_to_the_case(app, db, make_user):
    """No case event, the same version, the same last-changed time: a colleague's open form
    on the case is not made stale by a note."""
    writer = make_user(Role.CASEWORKER)
    case = make_case(writer)
    version, updated_at, events = case.version, case.updated_at, count(CaseEvent)
    first = services.add_note(writer, case, "First.")
    services.add_note(make_user(Role.SUPERVISOR), case, "Correction.", corrects_note_id=first.id)
    db.session.commit()
    db.session.expire_all()
    assert (case.version, case.updated_at, count(CaseEvent)) == (version, updated_at, events)
    services.add_dependant(writer, case, Relationship.CHILD, dependant_data(), False, version)


def test_the_history_merges_events_and_notes_newest_first(app, db, make_user):
    writer = make_user(Role.CASEWORKER)
    case = make_case(writer)
    created = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
    start = created.at
    services.add_note(writer, case, "Before submission.", now=start + timedelta(minutes=1))
    services.transition(case, "submit", writer, now=start + timedelta(minutes=2))
    services.add_note(writer, case, "After submission.", now=start + timedelta(minutes=3))
    db.session.commit()

    def lines(**filters):
        shown = queries.history(queries.case_events(case.id), queries.case_notes(case.id),
                                **filters)
        return [e.note.text if e.note else e.event.kind.value for e in shown.entries]

    assert lines() == ["After submission.", "transition", "Before submission.", "created"]
    assert lines(notes_only=True) == ["After submission.", "Before submission."]
    assert lines(notes_only=True, search="AFTER") == ["After submission."]
    assert lines(search="before") == ["transition", "Before submission.", "created"]


@pytest.mark.parametrize(("text", "search", "found"), [
    ("Spoke to Ms CHAN about the visa.", "chan", True),
    ("spoke to ms chan", "CHAN", True),
    ("Die Straße ist lang.", "STRASSE", True),  # casefold, on both databases alike
    ("Élodie called.", "élodie", True),
    ("申請人來電", "來電", True),
    ("100% sure", "%", True),  # the search is text, not a pattern
    ("nothing", "_", False),
    ("Spoke to Ms Chan.", "Wong", False),
])
def test_the_notes_search_ignores_capitals(text, search, found):
    assert queries.matches(text, search) is found


# --- The case page ------------------------------------------------------------------------

def _history(response) -> list:
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return page.select("#history ol > li")


def _notes_url(case) -> str:
    return f"/cases/{case.id}/notes"


def test_a_note_is_added_from_the_case_page_and_shown_there(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    response = client.post_form(_notes_url(case), {"text": "Called the applicant.\r\nNo answer."},
                                token_from=f"/cases/{case.id}")
    note = db.session.scalar(select(CaseNote))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.id}#note-{note.id}"
    page = client.get(f"/cases/{case.id}")
    text = html.unescape(page.get_data(as_text=True))
    assert f"Note added to {case.reference}." in text
    entry = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one(
        f"#note-{note.id}")
    assert entry is not None and "case-note" in entry["class"]
    assert me.full_name in entry.get_text()
    assert entry.select_one(".keep-lines").get_text() == "Called the applicant.\nNo answer."


@pytest.mark.parametrize(("text", "message"), [
    ("", EMPTY),
    ("   \r\n  ", EMPTY),
    ("n" * (NOTE_LENGTH + 1), too_long("4,001")),
])
def test_a_refused_note_is_explained_in_place_and_its_form_returns_open(client, as_role, db,
                                                                         text, message):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    response = client.post_form(_notes_url(case), {"text": text}, token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.select_one("#case-error").get_text(strip=True) == message
    form = page.select_one("details#add-note")
    assert form.has_attr("open")
    # As typed (WTForms starts a text area with a line break, which HTML drops).
    assert form.select_one("textarea[name=text]").get_text().removeprefix("\r\n") == text
    assert count(CaseNote) == 0


def test_control_characters_are_explained_beside_the_note(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    response = client.post_form(_notes_url(case), {"text": "Lee\x00Mei"},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    form = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        "details#add-note")
    assert form.has_attr("open")
    assert CONTROL in form.select_one("#text-error").get_text()
    assert count(CaseNote) == 0


@pytest.mark.parametrize("corrects", ["NaN", "1e309", "abc"])
def test_a_choice_that_is_no_note_id_is_explained(client, as_role, db, corrects):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    response = client.post_form(_notes_url(case), {"text": "Hello.", "corrects": corrects},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert "could not coerce" in response.get_data(as_text=True)
    assert count(CaseNote) == 0


@pytest.mark.parametrize("corrects", ["987654", "0", str(2**63), "other"])
def test_a_correction_of_a_note_not_of_this_case_is_refused_on_the_page(client, as_role, db,
                                                                         corrects):
    me = as_role(Role.CASEWORKER)
    case, other = make_case(me), make_case(me)
    if corrects == "other":
        corrects = str(services.add_note(me, other, "Elsewhere.").id)
        db.session.commit()
    response = client.post_form(_notes_url(case), {"text": "Hello.", "corrects": corrects},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert html.unescape(response.get_data(as_text=True)).count(NOT_OF_THIS_CASE) == 1
    assert count(CaseNote) == (1 if corrects not in ("987654", "0", str(2**63)) else 0)


def test_a_correction_is_shown_as_such_and_its_note_as_corrected(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    first = services.add_note(me, case, "The passport number ends in 576.")
    db.session.commit()
    page = client.get(f"/cases/{case.id}")
    offered = BeautifulSoup(page.get_data(as_text=True), "html.parser").select(
        "select[name=corrects] option")
    assert [o["value"] for o in offered] == ["", str(first.id)]

    response = client.post_form(_notes_url(case), {"text": "It ends in 567.",
                                                   "corrects": str(first.id)},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 302
    correction = db.session.scalar(select(CaseNote).where(CaseNote.corrects_note_id.is_not(None)))
    page = client.get(f"/cases/{case.id}")
    assert "the note it corrects is marked as corrected" in page.get_data(as_text=True)
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    corrected = soup.select_one(f"#note-{first.id}")
    assert "Corrected by a later note" in corrected.get_text()
    assert corrected.select_one(".note-corrected a")["href"] == f"#note-{correction.id}"
    assert corrected.select_one(".keep-lines").get_text() == "The passport number ends in 576."
    shown = soup.select_one(f"#note-{correction.id}")
    assert "Corrects the note of" in shown.get_text()
    assert shown.select_one("a")["href"] == f"#note-{first.id}"
    # A corrected note is corrected again through its correction, not offered twice.
    assert [o["value"] for o in soup.select("select[name=corrects] option")] == [
        "", str(correction.id)]
    # Searched out of the page, the correction is linked on the whole history.
    searched = BeautifulSoup(client.get(f"/cases/{case.id}?show=notes&q=576").get_data(
        as_text=True), "html.parser")
    assert searched.select_one(f"#note-{correction.id}") is None
    assert searched.select_one(f"#note-{first.id} .note-corrected a")["href"] == \
        f"/cases/{case.id}#note-{correction.id}"


def test_a_note_twice_corrected_at_once_is_refused_the_second_time(client, as_role, db):
    """Two colleagues correct the same note from pages opened before either correction."""
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    first = services.add_note(me, case, "First.")
    db.session.commit()
    data = {"text": "Correction.", "corrects": str(first.id)}
    assert client.post_form(_notes_url(case), data, token_from=f"/cases/{case.id}"
                            ).status_code == 302
    response = client.post_form(_notes_url(case), data, token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    assert ALREADY_CORRECTED in html.unescape(response.get_data(as_text=True))
    assert count(CaseNote) == 2


def test_the_notes_only_filter_and_everything(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    services.add_note(me, case, "A note.")
    db.session.commit()
    everything = _history(client.get(f"/cases/{case.id}"))
    assert [("case-note" in li.get("class", [])) for li in everything] == [True, False]
    notes = client.get(f"/cases/{case.id}?show=notes")
    assert notes.status_code == 200
    assert [li.select_one(".keep-lines").get_text() for li in _history(notes)] == ["A note."]
    soup = BeautifulSoup(notes.get_data(as_text=True), "html.parser")
    assert soup.select_one("#history nav [aria-current]").get_text() == "Notes only (1)"
    # Anything else asked for is everything.
    assert len(_history(client.get(f"/cases/{case.id}?show=%27%20OR%201=1"))) == 2


def test_the_notes_only_filter_of_a_case_without_notes(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    response = client.get(f"/cases/{case.id}?show=notes")
    assert _history(response) == []
    assert "No notes on this case yet." in response.get_data(as_text=True)


def test_the_notes_search_filters_the_notes_on_the_server(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    for text in ("Asked for the PASSPORT copy.", "Passport copy received.", "申請人來電。",
                 "Nothing to do with it."):
        services.add_note(me, case, text)
    db.session.commit()

    def found(query: str) -> list[str]:
        response = client.get(f"/cases/{case.id}", query_string={"show": "notes", "q": query})
        assert response.status_code == 200
        return [li.select_one(".keep-lines").get_text() for li in _history(response)]

    assert found("passport") == ["Passport copy received.", "Asked for the PASSPORT copy."]
    assert found("來電") == ["申請人來電。"]
    assert found("<script>") == []
    assert found("   ") == found("") == ["Nothing to do with it.", "申請人來電。",
                                          "Passport copy received.",
                                          "Asked for the PASSPORT copy."]
    text = html.unescape(client.get(f"/cases/{case.id}?show=notes&q=Passport").get_data(
        as_text=True))
    assert "2 notes contain “Passport”." in text


@pytest.mark.parametrize(("query", "message"), [
    ("x" * 101, "Field cannot be longer than 100 characters."),
    ("Lee\x00Mei", CONTROL),
])
def test_a_search_that_cannot_be_read_is_explained_and_the_history_shown_whole(
        client, as_role, db, query, message):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    services.add_note(me, case, "A note.")
    db.session.commit()
    response = client.get(f"/cases/{case.id}", query_string={"show": "notes", "q": query})
    assert response.status_code == 422
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert message in soup.select_one("#note-search-error").get_text()
    assert len(_history(response)) == 1  # the notes, unsearched


def test_html_in_a_note_is_shown_as_text(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    typed = "<script>alert(1)</script>\n<b>bold</b> & <a href='x'>link</a>"
    response = client.post_form(_notes_url(case), {"text": typed}, token_from=f"/cases/{case.id}")
    assert response.status_code == 302
    note = db.session.scalar(select(CaseNote))
    assert note.text == typed
    for address in (f"/cases/{case.id}", f"/cases/{case.id}?show=notes&q=script"):
        page = client.get(address).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        entry = BeautifulSoup(page, "html.parser").select_one(f"#note-{note.id} .keep-lines")
        assert entry.find("b") is None and entry.find("a") is None
        assert entry.get_text() == typed


def test_a_note_keeps_a_colleagues_open_form_valid(client, as_role, db, make_user):
    """A caseworker opens the case to add a child; meanwhile a supervisor writes a note; the
    caseworker's form, carrying the version the page had, is still accepted."""
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    version = case.version
    token = client.csrf_token(f"/cases/{case.id}")
    services.add_note(make_user(Role.SUPERVISOR), case, "Checked the file.")
    db.session.commit()
    child = dependant_data()
    response = client.post(f"/cases/{case.id}/dependants", data={
        "csrf_token": token, "version": str(version), "relation": "child",
        "family_name": child.family_name, "given_names": child.given_names,
        "date_of_birth": child.date_of_birth.isoformat(), "nationality": child.nationality,
        "passport_number": child.passport_number})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


@pytest.mark.parametrize("who", ["other_caseworker", "supervisor"])
def test_a_note_on_an_ended_case_not_ones_own(client, as_role, db, make_user, who):
    owner = make_user(Role.CASEWORKER)
    case = make_case(owner, Scheme.GEP_PRO, CaseStatus.WITHDRAWN)
    as_role(Role.SUPERVISOR if who == "supervisor" else Role.CASEWORKER)
    page = client.get(f"/cases/{case.id}")
    assert BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one(
        "details#add-note form") is not None
    response = client.post_form(_notes_url(case), {"text": "The applicant phoned after "
                                                   "withdrawing."}, token_from=f"/cases/{case.id}")
    assert response.status_code == 302
    assert count(CaseNote) == 1


def test_the_note_form_says_where_notes_are_searched(client, as_role, db):
    me = as_role(Role.CASEWORKER)
    case = make_case(me)
    soup = BeautifulSoup(client.get(f"/cases/{case.id}").get_data(as_text=True), "html.parser")
    hint = soup.select_one("#text-hint").get_text()
    assert "not by the case search" in hint and "Search notes" in hint
    assert soup.select_one("#text")["aria-describedby"] == "text-hint"
    assert soup.select_one("#text")["maxlength"] == str(NOTE_LENGTH)

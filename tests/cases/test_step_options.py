"""Which steps the case page offers, and why the others cannot be taken now.

``lifecycle.step_options`` answers, for each step the case's status allows, whether it can be
taken now, and if not why and from when. Each row of the table is a case in a situation a
caseworker meets; the test asserts the answer, then that it agrees with taking each step for
real (an offered step is not refused, a refused one is refused with the same words), then
that the case page shows it: an available step as a form, an unavailable one as a disabled
button with the reason next to it, in English and in Chinese (dates the reader's way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
from bs4 import BeautifulSoup

from backoffice.auth.models import Role, User
from backoffice.cases import lifecycle, services
from backoffice.cases.models import Case
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import HK_TZ
from backoffice.core.i18n import force_language
from backoffice.extensions import db as _db
from backoffice.quota.models import QuotaPeriod
from tests.cases.factories import NOW, make_case, step_data

S = CaseStatus
ZH = "zh_Hant_HK"


def hk_morning(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=HK_TZ).astimezone(UTC)


# --- situations: each sets the world up and says when the page is opened ----------------------

def _at_now(case: Case) -> datetime:
    return NOW


def _inside_window(case: Case) -> datetime:
    return hk_morning(case.stay_ends_on - timedelta(days=7))


def _after_stay_end(case: Case) -> datetime:
    return hk_morning(case.stay_ends_on + timedelta(days=1))


def _quota_2026(limit: int | None) -> Callable[[Case], datetime]:
    def setup(case: Case) -> datetime:
        period = _db.session.query(QuotaPeriod).filter_by(scheme="QMAS", year=2026).one()
        period.quota_limit = period.allocated if limit is None else limit
        _db.session.commit()
        return NOW
    return setup


def _no_quota_2026(case: Case) -> datetime:
    _db.session.query(QuotaPeriod).filter_by(scheme="QMAS", year=2026).delete()
    _db.session.commit()
    return NOW


@dataclass(frozen=True)
class Expect:
    """What one step's option says: available or not, words its reason (or note) contains,
    and the date from which it is possible."""

    available: bool = True
    says: tuple[str, ...] = ()
    possible_from: Callable[[Case], date] | None = None
    note: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    scheme: Scheme
    status: CaseStatus
    setup: Callable[[Case], datetime] = _at_now
    expect: dict[str, Expect] = field(default_factory=dict)
    not_offered: tuple[str, ...] = ()
    overrides: dict = field(default_factory=dict)


OK = Expect()
FULL = ("The QMAS quota for 2026 is full (0 of 0 places allocated).",)

ROWS = {
    "submit, eligible": Row(Scheme.QMAS, S.DRAFT, expect={"submit": OK, "withdraw": OK}),
    "submit, with an eligibility problem": Row(
        Scheme.GEP_ENT, S.DRAFT, overrides={"business_plan": None},
        expect={"submit": Expect(False, ("This case cannot be submitted:",)),
                "withdraw": OK}),
    "request extension, before the window": Row(
        Scheme.QMAS, S.IN_STAY,
        expect={"request_extension": Expect(
            False, ("The extension window opens on 16 Feb 2027 (28 days before the stay ends "
                    "on 16 Mar 2027); an extension cannot be requested before.",),
            possible_from=lambda case: case.extension_window_opens_on),
            "lapse": OK, "close": OK}),
    "request extension, in the window without the job offer QMAS needs": Row(
        Scheme.QMAS, S.IN_STAY, _inside_window,
        expect={"request_extension": Expect(False, (
            "A job offer must be recorded before an extension can be requested under this "
            "scheme.",))}),
    "request extension, in the window": Row(
        Scheme.GEP_PRO, S.IN_STAY, _inside_window, expect={"request_extension": OK}),
    "request extension, after the stay ended": Row(
        Scheme.GEP_PRO, S.IN_STAY, _after_stay_end,
        expect={"request_extension": Expect(False, ("an extension can no longer be "
                                                    "requested",))}),
    "approve a waiting case, quota full": Row(
        Scheme.QMAS, S.AWAITING_QUOTA, _quota_2026(None),
        expect={"approve": Expect(False, FULL), "refuse": OK, "withdraw": OK}),
    "approve a waiting case, quota not set": Row(
        Scheme.QMAS, S.AWAITING_QUOTA, _no_quota_2026,
        expect={"approve": Expect(False, ("The QMAS quota for 2026 has not been set",))}),
    "approve a waiting case, a place left": Row(
        Scheme.QMAS, S.AWAITING_QUOTA, _quota_2026(5), expect={"approve": OK}),
    # The approval still does something: the case moves to wait for a place, and says so.
    "approve under review, quota full": Row(
        Scheme.QMAS, S.UNDER_REVIEW, _quota_2026(None),
        expect={"approve": Expect(True, note=FULL), "hold_for_quota": OK}),
    "approve under review, no quota scheme": Row(
        Scheme.GEP_PRO, S.UNDER_REVIEW, expect={"approve": OK}),
    "record arrival before the visa is issued": Row(
        Scheme.QMAS, S.APPROVED, expect={"issue_visa": OK}, not_offered=("record_arrival",)),
    "record arrival, visa issued": Row(
        Scheme.QMAS, S.VISA_ISSUED, expect={"record_arrival": OK}),
}


@pytest.fixture
def situation(request, db, make_user):
    row: Row = ROWS[request.param]
    caseworker = make_user(Role.CASEWORKER)
    case = make_case(caseworker, row.scheme, row.status, **row.overrides)
    at = row.setup(case)
    return row, _db.session.get(Case, case.id), caseworker, at, request.param


def _rendered(message) -> str:
    return str(message) if message is not None else ""


@pytest.mark.parametrize("situation", list(ROWS), indirect=True)
def test_the_answer(situation):
    row, case, caseworker, at, _ = situation
    options = {o.name: o for o in services.step_options(case, caseworker, now=at)}

    # Exactly the steps the status allows, none it forbids; a step only for exceptional cases
    # (refuse as ineligible) only when it can be taken.
    allowed = [t.name for t in case.policy.transitions_from(case.status)]
    assert list(options) == [name for name in allowed if name in options]
    assert {name for name in allowed if name not in options} <= {
        t.name for t in case.policy.transitions if t.only_when_possible}
    for name in row.not_offered:
        assert name not in options
    for name, expect in row.expect.items():
        option = options[name]
        with force_language("en"):
            assert option.available is expect.available, _rendered(option.refusal)
            for words in expect.says:
                assert words in _rendered(option.refusal)
            for words in expect.note:
                assert words in _rendered(option.note)
        if not expect.note:
            assert option.note is None
        wanted = expect.possible_from(case) if expect.possible_from else None
        assert option.possible_from == wanted


@pytest.mark.parametrize("situation", list(ROWS), indirect=True)
def test_the_answer_is_what_taking_the_step_does(situation):
    """The options preview the transition: one copy of each rule. Every step is taken for
    real, inside a savepoint rolled back after it."""
    _, case, caseworker, at, _ = situation
    for option in services.step_options(case, caseworker, now=at):
        nested = _db.session.begin_nested()
        try:
            services.transition(case, option.name, caseworker, reason="A reason.", now=at,
                                data=step_data(option.name, at.astimezone(HK_TZ).date()))
        except services.QuotaBlocked as exc:
            assert exc.held == option.available, option.name
            assert str(exc.args[0]) == str(option.refusal or exc.args[0])
        except services.CaseError as exc:
            assert not option.available, f"{option.name} offered but refused: {exc}"
            assert str(exc) == str(option.refusal)
        else:
            assert option.available, f"{option.name} refused but it can be taken"
        finally:
            nested.rollback()
            _db.session.expire_all()


def test_no_options_for_someone_who_may_not_act(db, make_user):
    owner, other = make_user(Role.CASEWORKER), make_user(Role.CASEWORKER)
    case = make_case(owner, Scheme.QMAS, S.UNDER_REVIEW)
    assert services.step_options(case, other, now=NOW) == []


# --- the page ----------------------------------------------------------------------------------

# situation -> step -> what the disabled step's reason reads, in each language.
PAGE_ROWS = {
    "request extension, before the window": (
        "request_extension", {"en": ("Possible from 16 Feb 2027.", "16 Mar 2027"),
                              ZH: ("2027年2月16日", "2027年3月16日")}),
    "submit, with an eligibility problem": (
        "submit", {"en": ("This case cannot be submitted:",), ZH: ()}),
    "approve a waiting case, quota full": (
        "approve", {"en": FULL, ZH: ()}),
}


def _page(client, login, caseworker: User, case: Case, language: str, at: datetime,
          monkeypatch) -> BeautifulSoup:
    user = _db.session.get(User, caseworker.id)
    user.language = language
    _db.session.commit()
    monkeypatch.setattr(lifecycle, "utcnow", lambda: at)
    assert login(caseworker).status_code == 302
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def offered(actions: BeautifulSoup, case: Case, name: str) -> bool:
    """The page offers the step: a form posting it from the case page, or a link to its own
    page."""
    return bool(actions.find("form", action=f"/cases/{case.id}/step/{name}")
                or actions.find("a", href=f"/cases/{case.id}/step/{name}"))


@pytest.mark.parametrize("language", ["en", ZH])
@pytest.mark.parametrize("situation", list(PAGE_ROWS), indirect=True)
def test_the_page_shows_an_unavailable_step_disabled_with_its_reason(
        situation, language, client, login, monkeypatch):
    row, case, caseworker, at, key = situation
    name, reads = PAGE_ROWS[key]
    option = next(o for o in services.step_options(case, caseworker, now=at) if o.name == name)
    with force_language(language):
        reason = " ".join(str(option.refusal).split())
    page = _page(client, login, caseworker, case, language, at, monkeypatch)

    actions = page.find("section", attrs={"aria-labelledby": "actions-heading"})
    # Nothing to post for it: no form or link leads to the step.
    assert not offered(actions, case, name)
    button = actions.find(attrs={"data-step": name}).find("button")
    assert button.has_attr("disabled") and button["aria-disabled"] == "true"
    assert button["type"] == "button"
    why = page.find(id=button["aria-describedby"])
    text = " ".join(why.get_text(" ").split())
    assert reason in text
    for words in reads[language]:
        assert words in text
    # The other steps stay offered.
    for other in row.expect:
        if other != name and row.expect[other].available:
            assert offered(actions, case, other), other


@pytest.mark.parametrize("situation", ["record arrival before the visa is issued"],
                         indirect=True)
def test_the_page_does_not_offer_a_step_the_status_forbids(situation, client, login,
                                                           monkeypatch):
    _, case, caseworker, at, _ = situation
    page = _page(client, login, caseworker, case, "en", at, monkeypatch)
    actions = page.find("section", attrs={"aria-labelledby": "actions-heading"})
    assert not actions.find(attrs={"data-step": "record_arrival"})
    assert not offered(actions, case, "record_arrival")
    assert offered(actions, case, "issue_visa")


@pytest.mark.parametrize("situation", ["approve under review, quota full"], indirect=True)
def test_the_page_says_an_approval_will_wait_for_a_place(situation, client, login,
                                                         monkeypatch):
    _, case, caseworker, at, _ = situation
    page = _page(client, login, caseworker, case, "en", at, monkeypatch)
    button = page.find("a", href=f"/cases/{case.id}/step/approve")
    assert not button.has_attr("aria-disabled")
    note = page.find(id=button["aria-describedby"])
    assert FULL[0] in " ".join(note.get_text(" ").split())

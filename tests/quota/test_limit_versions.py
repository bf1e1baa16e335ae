"""Changing a year's limit from a form rendered before someone else changed it is refused, in
the words a stale case edit uses, and nothing is saved; places taken meanwhile never make the
form stale. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from backoffice.auth.models import Role, User
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.extensions import db as _db
from backoffice.quota import services as quota
from backoffice.quota.models import QuotaLimitChange, QuotaPeriod
from tests.cases.factories import make_case

YEAR = 2026
STALE = ("The QMAS quota for 2026 was changed by someone else while you were working on it. "
         "Nothing was saved: reload the page to see the changes, then try again.")


def period(year: int = YEAR) -> QuotaPeriod | None:
    _db.session.expire_all()
    return _db.session.scalar(select(QuotaPeriod).where(QuotaPeriod.year == year))


def changes() -> int:
    return _db.session.scalar(select(func.count()).select_from(QuotaLimitChange))


# --- The service --------------------------------------------------------------------------

@pytest.mark.parametrize(("first", "second", "refused"), [
    (None, None, False),  # neither form checks (a caller without a version): last one wins
    (1, None, False),
    (1, 1, True),         # both rendered at version 1: the second is stale
    (1, 2, False),        # the second was rendered after the first was saved
    (0, None, False),
], ids=["unchecked", "second-unchecked", "same-version", "after-reload", "first-stale"])
def test_a_change_from_a_stale_version_is_refused(db, make_user, first, second, refused):
    supervisor = make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", YEAR, 100)
    db.session.commit()
    assert period().limit_version == 1
    if first == 0:  # rendered before the year was set, which it now is
        with pytest.raises(quota.StaleLimit, match=re.escape(STALE)):
            quota.set_limit(supervisor, "QMAS", YEAR, 150, expected_version=first)
        db.session.rollback()
        assert period().quota_limit == 100
        return
    quota.set_limit(supervisor, "QMAS", YEAR, 150, expected_version=first)
    db.session.commit()
    before = changes()
    if refused:
        with pytest.raises(quota.StaleLimit, match=re.escape(STALE)):
            quota.set_limit(supervisor, "QMAS", YEAR, 200, expected_version=second)
        db.session.rollback()
        assert (period().quota_limit, period().limit_version, changes()) == (150, 2, before)
    else:
        quota.set_limit(supervisor, "QMAS", YEAR, 200, expected_version=second)
        db.session.commit()
        assert (period().quota_limit, period().limit_version, changes()) == (200, 3, before + 1)


def test_a_year_not_set_when_the_form_was_shown_is_set_at_version_one(db, make_user):
    supervisor = make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", YEAR, 40, expected_version=0)
    db.session.commit()
    assert (period().quota_limit, period().limit_version) == (40, 1)


def test_places_taken_never_make_the_limit_form_stale(db, make_user):
    """Each approval changes the period row (``allocated``) but not the limit's version."""
    supervisor = make_user(Role.SUPERVISOR)
    worker = make_user(Role.CASEWORKER)
    quota.set_limit(supervisor, "QMAS", YEAR, 10)
    db.session.commit()
    for _ in range(2):
        make_case(worker, Scheme.QMAS, CaseStatus.APPROVED)
    quota.release_places([make_case(worker, Scheme.QMAS, CaseStatus.APPROVED).id], worker,
                         "withdraw", None)
    db.session.commit()
    assert (period().allocated, period().limit_version) == (2, 1)
    quota.set_limit(supervisor, "QMAS", YEAR, 20, expected_version=1)
    db.session.commit()
    assert (period().quota_limit, period().limit_version) == (20, 2)


def test_a_stale_form_below_the_allocated_is_refused_as_stale(db, make_user):
    """Both rules fail: the reader is told to reload first (the numbers may have changed)."""
    supervisor = make_user(Role.SUPERVISOR)
    worker = make_user(Role.CASEWORKER)
    quota.set_limit(supervisor, "QMAS", YEAR, 10)
    make_case(worker, Scheme.QMAS, CaseStatus.APPROVED)
    quota.set_limit(supervisor, "QMAS", YEAR, 12, expected_version=1)
    db.session.commit()
    with pytest.raises(quota.StaleLimit):
        quota.set_limit(supervisor, "QMAS", YEAR, 0, expected_version=1)


def test_two_supervisors_saving_at_once_one_wins(race_app, db, make_user):
    """Two forms rendered at version 1 saved at the same instant: exactly one is saved, the
    other is refused as stale (PostgreSQL: the second UPDATE waits for the first's row lock,
    then finds the version moved; SQLite: the writers run one after the other)."""
    supervisor, other = make_user(Role.SUPERVISOR), make_user(Role.SUPERVISOR)
    quota.set_limit(supervisor, "QMAS", YEAR, 100)
    ids = supervisor.id, other.id  # read now: after the commit a read would begin (and lock)
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def save(user_id: int, limit: int) -> None:
        with race_app.app_context():
            barrier.wait()
            try:
                quota.set_limit(_db.session.get(User, user_id), "QMAS", YEAR, limit,
                                expected_version=1)
                _db.session.commit()
                outcomes[limit] = "saved"
            except quota.StaleLimit:
                _db.session.rollback()
                outcomes[limit] = "stale"
            except Exception as exc:
                _db.session.rollback()
                outcomes[limit] = f"ERROR {type(exc).__name__}: {exc}"
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=save, args=(ids[0], 200)),
               threading.Thread(target=save, args=(ids[1], 300))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["saved", "stale"], outcomes
    winner = next(limit for limit, outcome in outcomes.items() if outcome == "saved")
    assert (period().quota_limit, period().limit_version) == (winner, 2)


# --- Through the dashboard's form ---------------------------------------------------------

@pytest.fixture
def supervisor(as_role):
    """The signed-in supervisor who uses the dashboard."""
    return as_role(Role.SUPERVISOR)


def rendered_form(client, year: int = YEAR) -> dict[str, str]:
    """The limit form's fields as the dashboard rendered them (what a browser would post)."""
    html = client.get("/quota/", query_string={"year": year}).get_data(as_text=True)
    form = html[html.index('action="/quota/limit"'):]
    form = form[:form.index("</form>")]
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    assert "version" in fields, form
    return fields


def test_the_form_carries_the_year_and_its_limit_version(client, supervisor):
    assert rendered_form(client)["version"] == f"{YEAR}:0"  # not set yet
    quota.set_limit(supervisor, "QMAS", YEAR, 100)
    _db.session.commit()
    assert rendered_form(client)["version"] == f"{YEAR}:1"


def test_the_second_of_two_forms_is_refused_and_the_first_stands(client, supervisor):
    quota.set_limit(supervisor, "QMAS", YEAR, 100)
    _db.session.commit()
    first, second = rendered_form(client), rendered_form(client)
    assert first["version"] == second["version"] == f"{YEAR}:1"

    saved = client.post("/quota/limit", data={**first, "limit": "150"})
    assert saved.status_code == 302
    before = changes()
    refused = client.post("/quota/limit", data={**second, "limit": "300", "note": "Late"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert html.count(STALE) == 2  # in the summary and beside the field
    assert re.search(r'id="limit-error">' + re.escape(STALE), html)
    assert (period().quota_limit, changes()) == (150, before)


def test_a_form_of_a_year_not_set_is_refused_once_someone_sets_it(client, supervisor, make_user):
    shown = rendered_form(client, 2027)
    quota.set_limit(make_user(Role.SUPERVISOR), "QMAS", 2027, 500)
    _db.session.commit()
    refused = client.post("/quota/limit", data={**shown, "year": "2027", "limit": "10"})
    assert refused.status_code == 422
    assert STALE.replace("2026", "2027") in refused.get_data(as_text=True)
    assert period(2027).quota_limit == 500


def test_approvals_between_rendering_and_saving_do_not_refuse(client, supervisor, make_user):
    quota.set_limit(supervisor, "QMAS", YEAR, 100)
    _db.session.commit()
    shown = rendered_form(client)
    make_case(make_user(Role.CASEWORKER), Scheme.QMAS, CaseStatus.APPROVED)
    assert client.post("/quota/limit", data={**shown, "limit": "120"}).status_code == 302
    assert (period().quota_limit, period().allocated) == (120, 1)


def test_a_year_typed_into_the_form_is_not_checked_against_the_shown_years_version(
        client, supervisor):
    """The version belongs to the year the page showed; another year typed in was never
    shown, so there is nothing the form could be stale against."""
    quota.set_limit(supervisor, "QMAS", 2027, 100)
    quota.set_limit(supervisor, "QMAS", 2027, 110)
    _db.session.commit()
    shown = rendered_form(client)  # 2026, not set: "2026:0"
    assert client.post("/quota/limit", data={**shown, "year": "2027", "limit": "120"}
                       ).status_code == 302
    assert period(2027).quota_limit == 120


@pytest.mark.parametrize("version", ["abc", "2026", "2026:x", "26:1"])
def test_an_unreadable_version_is_refused_and_nothing_saved(client, supervisor, version):
    quota.set_limit(supervisor, "QMAS", YEAR, 100)
    _db.session.commit()
    shown = rendered_form(client)
    response = client.post("/quota/limit", data={**shown, "version": version, "limit": "150"})
    assert response.status_code == 422
    assert "The form could not be read; reload the page and try again." in response.get_data(
        as_text=True)
    assert period().quota_limit == 100


def test_a_stale_form_is_refused_in_the_readers_language(client, supervisor):
    supervisor.language = "zh_Hant_HK"
    quota.set_limit(supervisor, "QMAS", YEAR, 100)
    _db.session.commit()
    first, second = rendered_form(client), rendered_form(client)
    assert client.post("/quota/limit", data={**first, "limit": "150"}).status_code == 302
    refused = client.post("/quota/limit", data={**second, "limit": "300"})
    assert refused.status_code == 422
    assert refused.get_data(as_text=True).count(
        "你處理期間，其他人已更改2026年的QMAS配額。所有資料均未儲存：請重新載入頁面查看有關更改，"
        "然後再試。") == 2

"""Sign-in throttling: limits per client address and over all addresses, the lock per
account and address, the admin's unlock, and which proxies may name the client's address."""

from __future__ import annotations

import uuid
from html import unescape

import pytest
import redis
from sqlalchemy import func, select

from backoffice.auth import services as accounts
from backoffice.auth.models import Role, SecurityEvent, SecurityEventKind, SignInLock, User
from backoffice.auth.throttling import limiter_of
from backoffice.extensions import db as _db
from tests.conftest import PASSWORD, REDIS_URL, Client, build_app, service_missing

WRONG = "not the right password"
ATTACKER, VICTIM_DESK, ELSEWHERE = "198.51.100.23", "192.0.2.10", "203.0.113.5"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def sign_in(client: Client, email: str, password: str, address: str, **headers):
    return client.post_form("/login", {"email": email, "password": password},
                            environ_base={"REMOTE_ADDR": address}, headers=headers)


def count(model, *where) -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_one_address_trying_one_password_on_every_account_is_stopped(app, client, make_user):
    """The finding: 50 accounts, one password, one address. After the configured number of
    failures the address gets 429 with Retry-After, and no more passwords are checked."""
    limit = int(app.config["LOGIN_FAILURES_PER_ADDRESS"].split()[0])
    users = [make_user(Role.CASEWORKER) for _ in range(50)]
    statuses = [sign_in(client, user.email, "Summer2026!Summer", ATTACKER).status_code
                for user in users]
    assert statuses == [422] * limit + [429] * (50 - limit)

    response = sign_in(client, users[-1].email, "Summer2026!Summer", ATTACKER)
    assert response.status_code == 429
    # Flask-Limiter gives the window's end in whole seconds, rounded up: at most one more.
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60 + 1
    page = text(response)
    assert "Too many failed sign-in attempts have come from your network address" in page
    assert "There is a problem" in page  # in the page's error summary, the form still there
    assert 'name="email"' in page
    # Throttled attempts check no password: they are not failures of anyone's account.
    assert count(SecurityEvent, SecurityEvent.kind == SecurityEventKind.LOGIN_FAILED) == limit
    assert count(SignInLock, SignInLock.failures > 1) == 0
    # Even the right password waits, from that address only.
    assert sign_in(client, users[0].email, PASSWORD, ATTACKER).status_code == 429
    assert sign_in(client, users[0].email, PASSWORD, ELSEWHERE).status_code == 302


def test_successful_sign_ins_and_empty_forms_are_not_counted(app, client, make_user):
    user = make_user(Role.CASEWORKER)
    limit = int(app.config["LOGIN_FAILURES_PER_ADDRESS"].split()[0])
    for _ in range(limit + 5):
        assert sign_in(client, user.email, PASSWORD, ATTACKER).status_code == 302
        client.post_form("/logout", token_from="/account/password")
        assert client.post_form("/login", {"email": user.email, "password": ""},
                                environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 422
    assert sign_in(client, user.email, PASSWORD, ATTACKER).status_code == 302


def test_another_address_cannot_lock_the_victim_out(app, client, make_user):
    """Policy: five failures in a row lock the account for the address they came from only.
    An attacker (or a colleague mistyping) locks themselves out, not the owner."""
    victim = make_user(Role.CASEWORKER, email="victim@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, victim.email, WRONG, ATTACKER)
    assert sign_in(client, victim.email, PASSWORD, ATTACKER).status_code == 429
    # Any number of further tries from there are refused unchecked and count for nothing.
    for _ in range(30):
        assert sign_in(client, victim.email, WRONG, ATTACKER).status_code == 429

    response = sign_in(client, victim.email, PASSWORD, VICTIM_DESK)
    assert response.status_code == 302, text(response)
    locks = _db.session.scalars(select(SignInLock).where(SignInLock.user_id == victim.id)).all()
    assert [(lock.address, lock.locked_until is not None) for lock in locks] == [
        (ATTACKER, True)]


def test_a_throttled_address_adds_nothing_to_a_victims_lock(app, client, make_user):
    victim = make_user(Role.CASEWORKER)
    others = [make_user(Role.CASEWORKER) for _ in range(25)]
    for other in others:
        sign_in(client, other.email, WRONG, ATTACKER)
    for _ in range(10):
        assert sign_in(client, victim.email, WRONG, ATTACKER).status_code == 429
    assert count(SignInLock, SignInLock.user_id == victim.id) == 0
    assert sign_in(client, victim.email, PASSWORD, VICTIM_DESK).status_code == 302


def test_a_spray_from_many_addresses_is_stopped_for_everyone(app, client, make_user,
                                                             monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_ALL_ADDRESSES", "6 per 15 minutes")
    user = make_user(Role.CASEWORKER)
    for n in range(6):
        assert sign_in(client, user.email, WRONG, f"198.51.100.{n + 1}").status_code == 422
    response = sign_in(client, user.email, PASSWORD, ELSEWHERE)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "Signing in is paused for a short while" in text(response)


def test_a_limit_set_to_nothing_is_off(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", "")
    users = [make_user(Role.CASEWORKER) for _ in range(25)]
    assert {sign_in(client, u.email, WRONG, ATTACKER).status_code for u in users} == {422}


# --- Several processes, one storage ----------------------------------------------------------

def _apps_on(storage: str, tmp_path, app) -> list:
    """Two app instances (as two gunicorn processes would each build) on one database and
    one limits storage; each has a limiter of its own."""
    prefix = f"test-limits-{uuid.uuid4().hex[:8]}"
    made = [build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / f"p{n}",
                      RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=prefix,
                      LOGIN_FAILURES_PER_ADDRESS="3 per 15 minutes")
            for n in range(2)]
    for one in made:
        one.test_client_class = Client
    assert limiter_of(made[0]) is not limiter_of(made[1])
    return made


def _cross_process_statuses(apps) -> list[int]:
    first, second = (one.test_client() for one in apps)
    statuses = [sign_in(first, "ghost@example.org", WRONG, ATTACKER).status_code
                for _ in range(3)]
    statuses.append(sign_in(second, "ghost@example.org", WRONG, ATTACKER).status_code)
    return statuses


def _dispose(apps) -> None:
    for one in apps:
        with one.app_context():
            _db.engine.dispose()


def test_limits_are_shared_by_two_processes_on_redis(app, db, tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    apps = _apps_on(REDIS_URL, tmp_path, app)
    try:
        assert _cross_process_statuses(apps) == [422, 422, 422, 429]
    finally:
        # Only this test's keys: the Redis is shared with other runs, so never reset it.
        prefix = apps[0].config["RATELIMIT_KEY_PREFIX"]
        connection = redis.Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)
        _dispose(apps)


def test_memory_limits_are_one_processs_own(app, db, tmp_path):
    """The control for the test above: memory is not shared, which is why production needs
    Redis and the embedded run serves the web app from one process."""
    apps = _apps_on("memory://", tmp_path, app)
    try:
        assert _cross_process_statuses(apps) == [422, 422, 422, 422]
    finally:
        _dispose(apps)


# --- Proxies --------------------------------------------------------------------------------

@pytest.mark.parametrize(("trusted", "statuses"), [
    # No trusted proxy: X-Forwarded-For is the client's own word and changes nothing.
    (0, [422, 422, 422, 429]),
    # One trusted proxy: the address it adds is the client's, so each is counted apart.
    (1, [422, 422, 422, 422]),
])
def test_x_forwarded_for_counts_only_from_trusted_proxies(app, db, tmp_path, trusted, statuses):
    other = build_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, TRUSTED_PROXIES=trusted,
                      LOGIN_FAILURES_PER_ADDRESS="3 per 15 minutes")
    other.test_client_class = Client
    client = other.test_client()
    try:
        got = [sign_in(client, "ghost@example.org", WRONG, "10.0.0.1",
                       **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code
               for n in range(1, 5)]
        assert got == statuses
        ips = set(_db.session.scalars(select(SecurityEvent.ip)))
        assert ips == ({"10.0.0.1"} if trusted == 0 else {f"198.51.100.{n}" for n in range(1, 5)})
    finally:
        with other.app_context():
            _db.engine.dispose()


@pytest.mark.parametrize(("ip", "key"), [
    ("192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # same line, same count
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    (None, ""), ("", ""), ("not-an-address", "not-an-address"),
])
def test_addresses_are_counted_by_ipv4_address_or_ipv6_network(ip, key):
    assert accounts.address_key(ip) == key


# --- Unlocking ------------------------------------------------------------------------------

def test_an_admin_unlocks_an_account_and_the_log_says_who(app, client, make_user, login):
    worker = make_user(Role.CASEWORKER)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, worker.email, WRONG, "127.0.0.1")
    assert sign_in(client, worker.email, PASSWORD, "127.0.0.1").status_code == 429

    admin = make_user(Role.ADMIN)
    assert login(admin).status_code == 302
    page = text(client.get(f"/admin/users/{worker.id}"))
    assert "Locked for sign-in from 1 address" in page
    assert "Unlock account" in page
    response = client.post_form(f"/admin/users/{worker.id}/unlock",
                                token_from=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    assert "account is unlocked (1 address)" in text(client.get(response.headers["Location"]))
    event = _db.session.scalar(select(SecurityEvent).where(
        SecurityEvent.kind == SecurityEventKind.UNLOCKED))
    assert (event.user_id, event.actor_id, event.detail_data) == (
        worker.id, admin.id, {"key": "unlocked", "values": {"addresses": ["127.0.0.1"]}})
    assert accounts.describe_detail(event) == "Unlocked for 127.0.0.1."

    client.post_form("/logout", token_from="/admin/users")
    assert sign_in(client, worker.email, PASSWORD, "127.0.0.1").status_code == 302


def test_unlocking_an_account_that_is_not_locked_says_so(client, make_user, as_role):
    as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    response = client.post_form(f"/admin/users/{worker.id}/unlock",
                                token_from=f"/admin/users/{worker.id}")
    assert response.status_code == 422
    assert f"{worker.full_name}'s account is not locked." in text(response)
    assert count(SecurityEvent, SecurityEvent.kind == SecurityEventKind.UNLOCKED) == 0


def test_unlock_needs_the_forms_token(client, make_user, as_role):
    as_role(Role.ADMIN)
    worker = make_user(Role.CASEWORKER)
    assert client.post(f"/admin/users/{worker.id}/unlock").status_code == 400


def test_the_users_list_shows_a_locked_account(app, client, make_user, as_role):
    worker = make_user(Role.CASEWORKER, full_name="Locked Person")
    with app.test_request_context():
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            accounts.sign_in(worker.email, WRONG, accounts.RequestInfo(ip=ATTACKER))
        _db.session.commit()
    as_role(Role.ADMIN)
    page = text(client.get("/admin/users"))
    row = page[page.index("Locked Person"):]
    assert row.index("Locked</span>") < row.index("</tr>")
    assert _db.session.get(User, worker.id).active

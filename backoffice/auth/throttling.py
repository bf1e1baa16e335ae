"""Limits on failed sign-ins per client address and over all addresses (Flask-Limiter).

Together with the lock per account and address (services.sign_in) they are the policy in the
README's security section:

* a password tried and refused counts once against the client's address and once against
  the total of all addresses; a form sent without a password counts nowhere;
* past ``LOGIN_FAILURES_PER_ADDRESS`` that address gets 429 with ``Retry-After`` for every
  sign-in (even a right password) until the oldest failure ages out (a moving window);
  past ``LOGIN_FAILURES_ALL_ADDRESSES`` every address does — a spray from many addresses;
* a refused, throttled attempt checks no password, so it counts toward no account's lock.

The counts live in ``RATELIMIT_STORAGE_URI`` (Redis in production, shared by every gunicorn
process; this process's memory in the embedded run, which has one web process).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, current_app, g, make_response, render_template, request
from flask_babel import ngettext
from flask_limiter import Limiter, RequestLimit

from backoffice.auth.services import address_key
from backoffice.core.i18n import LazyText as LazyString


def per_address_message(minutes: int) -> str:
    return ngettext(
        "Too many failed sign-in attempts have come from your network address, so signing in "
        "from it is paused. Try again in %(num)d minute or ask an administrator.",
        "Too many failed sign-in attempts have come from your network address, so signing in "
        "from it is paused. Try again in %(num)d minutes or ask an administrator.", minutes)


def all_addresses_message(minutes: int) -> str:
    return ngettext(
        "Signing in is paused for a short while because of many failed attempts from many "
        "places. Try again in %(num)d minute.",
        "Signing in is paused for a short while because of many failed attempts from many "
        "places. Try again in %(num)d minutes.", minutes)


def client_key() -> str:
    """The client's address as ProxyFix leaves it (only proxies the settings trust may
    change it), IPv6 by its /64 network."""
    return address_key(request.remote_addr) or "unknown"


def _failed(_response) -> bool:
    """Count the request only when the view checked a password and it did not open the
    account (the view sets ``g.sign_in_failed``)."""
    return bool(g.get("sign_in_failed"))


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def throttled_page(message: str | LazyString, retry_after: int):
    """The sign-in page with ``message`` at the top: 429 with ``Retry-After`` seconds."""
    from backoffice.auth.forms import LoginForm

    form = LoginForm(formdata=None, next=request.args.get("next", ""))
    form.form_errors.append(str(message))
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(max(1, retry_after))
    return response


def _on_breach(message: Callable[[int], str]) -> Callable[[RequestLimit], object]:
    def respond(request_limit: RequestLimit):
        retry_after = math.ceil(request_limit.reset_at - time.time())
        current_app.logger.warning("sign-in throttled (%s) for %s", request_limit.limit,
                                   client_key())
        return throttled_page(message(_minutes(retry_after)), retry_after)

    return respond


def _limit_from(setting: str) -> Callable[[], str]:
    # Read per request, so a setting changed in the config (or a test) takes effect.
    return lambda: current_app.config[setting] or "1 per second"


def _off(setting: str) -> Callable[[], bool]:
    return lambda: not current_app.config[setting]


def init_app(app: Flask, endpoint: str = "auth.login") -> Limiter:
    """Give ``app`` its own limiter on the storage its settings name, limiting the POSTs of
    ``endpoint``. One limiter per app (not one for the process), so two apps on one storage
    share counts only through that storage, as two gunicorn processes do."""
    limiter = Limiter(key_func=client_key, default_limits=[], app=app)
    view = app.view_functions[endpoint]
    # Flask-Limiter checks a decorated limit in the view's wrapper, so the app's view
    # function becomes the wrapped one (this app's only: another app keeps its own).
    view = limiter.limit(
        _limit_from("LOGIN_FAILURES_PER_ADDRESS"), key_func=client_key, methods=["POST"],
        deduct_when=_failed, exempt_when=_off("LOGIN_FAILURES_PER_ADDRESS"),
        on_breach=_on_breach(per_address_message))(view)
    view = limiter.shared_limit(
        _limit_from("LOGIN_FAILURES_ALL_ADDRESSES"), scope="sign-in-all-addresses",
        key_func=lambda: "all", methods=["POST"], deduct_when=_failed,
        exempt_when=_off("LOGIN_FAILURES_ALL_ADDRESSES"),
        on_breach=_on_breach(all_addresses_message))(view)
    app.view_functions[endpoint] = view
    app.extensions["sign_in_limiter"] = limiter
    return limiter


def limiter_of(app: Flask) -> Limiter:
    return app.extensions["sign_in_limiter"]

"""Cross-cutting web security: permission checks, safe redirects, headers, session lifetime."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, session
from flask_babel import gettext
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from backoffice.core.dates import utcnow
from backoffice.extensions import login_manager

# Only this site's own files: Bootstrap and every script are served by the app itself.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def permission_required(permission: Hashable) -> Callable:
    """Refuse anonymous users (to the sign-in page) and users without ``permission`` (403).

    ``permission`` is whatever the user model's ``can`` understands (auth's Permission): core
    only passes it on.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # read by the route-by-role test
        return wrapped

    return decorator


def is_safe_redirect(target: str | None) -> bool:
    """True only for a path on this site: relative, no scheme, no host, no backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def set_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user and current_user.is_authenticated:
        # Case data must not linger in shared caches or the back/forward cache after sign-out.
        headers.setdefault("Cache-Control", "no-store")
    return response


def enforce_absolute_session_lifetime() -> None:
    """End a session that is older than SESSION_ABSOLUTE_LIFETIME, however active it is."""
    if not current_user.is_authenticated:
        return
    started = session.get("auth_at")
    limit = current_app.config["SESSION_ABSOLUTE_LIFETIME"]
    try:
        expired = started is None or utcnow() - datetime.fromisoformat(started) > limit
    except (TypeError, ValueError):
        expired = True
    if expired:
        logout_user()
        session.clear()
        flash(gettext("Your session has ended. Please sign in again."), "info")


# How stale a session's signature may grow before a request signs it again. The idle limit
# (PERMANENT_SESSION_LIFETIME) counts from the cookie's last signing; signing it on every
# request (Flask's SESSION_REFRESH_EACH_REQUEST) re-serialises, compresses and signs the
# cookie each time, about 0.15 ms of a 2 ms request. Once a minute ends an idle session at
# most a minute early.
SESSION_TOUCH_SECONDS = 60


def touch_session() -> None:
    """Mark the session changed when its cookie was last signed a minute ago or more (its
    ``seen`` time), so the idle timer restarts without a new cookie on every request."""
    if not session:
        return
    now = int(utcnow().timestamp())
    seen = session.get("seen")
    if not isinstance(seen, int) or not 0 <= now - seen < SESSION_TOUCH_SECONDS:
        session["seen"] = now


def trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For from exactly ``TRUSTED_PROXIES`` proxies (0: from none).

    The sign-in limits count by client address, so an address a client may write itself
    would let anyone choose a fresh one for every attempt; only proxies we run may set it.
    """
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)


def init_app(app: Flask) -> None:
    trust_proxies(app)
    app.after_request(set_security_headers)
    app.before_request(enforce_absolute_session_lifetime)
    app.before_request(touch_session)


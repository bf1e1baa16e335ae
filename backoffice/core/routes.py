"""The start page and the role-dependent navigation, both built from what features offer;
the health probes (``core/health.py``) are registered with them."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from backoffice.core import bp, signals
from backoffice.core import health as _health  # noqa: F401  (its probes attach to bp)
from backoffice.core.i18n import LANGUAGE_COOKIE, LANGUAGES
from backoffice.core.security import is_safe_redirect
from backoffice.extensions import db


@dataclass(frozen=True)
class NavItem:
    """A menu entry a feature contributes through ``signals.menu_items``.

    ``order`` places it in the menu (lower first); a user's start page is the first entry
    their permissions allow. ``badge`` gives a count shown beside the entry (unread items).
    """

    label: str
    endpoint: str
    permission: Hashable
    order: int
    badge: Callable[[Any], int] | None = None


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool
    badge: int = 0


def _menu() -> list[tuple[NavItem, str]]:
    """Every menu item with its address, collected and built once per app and mount point
    (every page shows the menu, and neither the items nor their addresses change while the
    app runs)."""
    cache = current_app.extensions.setdefault("backoffice.menu_urls", {})
    urls = cache.get(request.script_root)
    if urls is None:
        offered = [item for _, items in signals.menu_items.send(current_app._get_current_object())
                   for item in items]
        urls = [(item, url_for(item.endpoint)) for item in sorted(offered, key=lambda i: i.order)
                if item.endpoint in current_app.view_functions]
        cache[request.script_root] = urls
    return urls


def _allowed() -> list[tuple[NavItem, str]]:
    return [(item, url) for item, url in _menu() if current_user.can(item.permission)]


def nav_items() -> list[NavLink]:
    if not current_user.is_authenticated:
        return []
    allowed = _allowed()
    # The current section is the item whose address is the longest prefix of this page's.
    matching = [url for _, url in allowed if request.path.startswith(url)]
    current = max(matching, key=len, default=None)
    return [NavLink(item.label, url, url == current, item.badge(current_user) if item.badge else 0)
            for item, url in allowed]


def header_templates() -> list[str]:
    """The templates features add to the header of a signed-in user's pages."""
    found = current_app.extensions.get("backoffice.header_templates")
    if found is None:
        found = [name for _, name in signals.header_templates.send(
            current_app._get_current_object())]
        current_app.extensions["backoffice.header_templates"] = found
    return found


@bp.app_context_processor
def inject_navigation() -> dict:
    return {"nav_items": nav_items, "header_templates": header_templates}


@bp.get("/")
def home():
    """A signed-in user starts at the first menu entry their role allows."""
    if not current_user.is_authenticated:
        return redirect(url_for(current_app.login_manager.login_view))
    allowed = _allowed()
    if not allowed:
        abort(403)
    return redirect(allowed[0][1])


@bp.post("/language")
def choose_language():
    """The header's switcher (a plain form: no JavaScript needed). A signed-in user's choice
    is saved on the account; a visitor's is kept in a cookie for a year."""
    code = request.form.get("language", "")
    back = request.form.get("next")
    target = back if is_safe_redirect(back) else url_for("core.home")
    response = redirect(target)
    if code not in LANGUAGES:
        return response
    if current_user.is_authenticated:
        signals.language_chosen.send(current_app._get_current_object(), user=current_user,
                                     language=code)
        db.session.commit()
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, httponly=True,
                        samesite="Lax", secure=request.is_secure)
    return response

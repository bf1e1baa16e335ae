"""The start page and the role-dependent navigation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, redirect, request, url_for
from flask_login import current_user

from backoffice.auth.models import Permission
from backoffice.core import bp


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    permission: Permission


# The whole menu in one place; each user sees the items their role permits.
NAVIGATION = [
    NavItem("Cases", "cases.index", Permission.WORK_CASES),
    NavItem("New case", "cases.create", Permission.WORK_CASES),
    NavItem("Due soon", "cases.due_soon", Permission.WORK_CASES),
    NavItem("Quota", "quota.dashboard", Permission.SUPERVISE),
    NavItem("Notifications", "notifications.centre", Permission.WORK_CASES),
    NavItem("Failed reminders", "notifications.failed", Permission.SUPERVISE),
    NavItem("Worker status", "notifications.worker_status", Permission.SUPERVISE),
    NavItem("Users", "auth.users", Permission.MANAGE_USERS),
    NavItem("Security log", "auth.security_log", Permission.MANAGE_USERS),
]


# Counts shown beside a navigation item, by endpoint; features register their own
# (notifications: unread count), so this module needs to know none of them.
NAV_BADGES: dict[str, Callable[[Any], int]] = {}


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool
    badge: int = 0


def _menu_urls() -> list[tuple[NavItem, str]]:
    """Every menu item with its address, built once per app and mount point (every page
    shows the menu, and the addresses never change while the app runs)."""
    cache = current_app.extensions.setdefault("backoffice.menu_urls", {})
    urls = cache.get(request.script_root)
    if urls is None:
        urls = [(item, url_for(item.endpoint)) for item in NAVIGATION
                if item.endpoint in current_app.view_functions]
        cache[request.script_root] = urls
    return urls


def nav_items() -> list[NavLink]:
    if not current_user.is_authenticated:
        return []
    allowed = [(item, url) for item, url in _menu_urls() if current_user.can(item.permission)]
    # The current section is the item whose address is the longest prefix of this page's.
    matching = [url for _, url in allowed if request.path.startswith(url)]
    current = max(matching, key=len, default=None)
    return [NavLink(item.label, url, url == current,
                    NAV_BADGES[item.endpoint](current_user) if item.endpoint in NAV_BADGES else 0)
            for item, url in allowed]


@bp.app_context_processor
def inject_navigation() -> dict:
    return {"nav_items": nav_items}


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.can_work_cases():
        return redirect(url_for("cases.index"))
    return redirect(url_for("auth.users"))

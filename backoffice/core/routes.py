"""The start page and the role-dependent navigation."""

from __future__ import annotations

from dataclasses import dataclass

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
    NavItem("Worker status", "notifications.worker_status", Permission.SUPERVISE),
    NavItem("Users", "auth.users", Permission.MANAGE_USERS),
    NavItem("Security log", "auth.security_log", Permission.MANAGE_USERS),
]


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool


def nav_items() -> list[NavLink]:
    if not current_user.is_authenticated:
        return []
    allowed = [(item, url_for(item.endpoint)) for item in NAVIGATION
               if item.endpoint in current_app.view_functions and current_user.can(item.permission)]
    # The current section is the item whose address is the longest prefix of this page's.
    matching = [url for _, url in allowed if request.path.startswith(url)]
    current = max(matching, key=len, default=None)
    return [NavLink(item.label, url, url == current) for item, url in allowed]


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

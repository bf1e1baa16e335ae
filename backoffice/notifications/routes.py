"""Notification pages: the notification centre, a case's reminders, failed reminders and the
worker's health."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from backoffice.auth import signals as auth_signals
from backoffice.auth.models import Permission
from backoffice.auth.queries import loaded_with_user
from backoffice.cases.models import Case
from backoffice.core import signals
from backoffice.core.dates import utcnow
from backoffice.core.forms import BaseForm
from backoffice.core.i18n import lazy_gettext
from backoffice.core.refusals import refusals, saved
from backoffice.core.routes import NavItem
from backoffice.core.security import permission_required
from backoffice.extensions import db
from backoffice.notifications import bp, services
from backoffice.notifications.models import Notification, Reminder


@auth_signals.loaded_with_user.connect
def _unread_with_the_user(_app, **_kwargs) -> dict:
    return {"unread": services.UNREAD_OF_USER}


def _unread(user) -> int:
    """The count beside "Notifications" in the menu: as read with the user on a page that
    changes nothing, else one indexed COUNT."""
    loaded = loaded_with_user("unread") if user == current_user else None
    return loaded if loaded is not None else services.unread_count(user.id)


@signals.menu_items.connect
def _menu_items(_app, **_kwargs) -> list[NavItem]:
    return [NavItem(lazy_gettext("Notifications"), "notifications.centre", Permission.WORK_CASES,
                    order=50, badge=_unread),
            NavItem(lazy_gettext("Failed reminders"), "notifications.failed", Permission.SUPERVISE,
                    order=60),
            NavItem(lazy_gettext("Worker status"), "notifications.worker_status",
                    Permission.SUPERVISE, order=70)]


def _checked_form() -> None:
    if not BaseForm().validate_on_submit():
        abort(400)


@bp.get("/")
@permission_required(Permission.WORK_CASES)
def centre():
    return render_template("notifications/centre.html",
                           centre=services.notifications_for(current_user.id))


@bp.post("/<id:notification_id>/read")
@permission_required(Permission.WORK_CASES)
def mark_read(notification_id: int):
    _checked_form()
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        abort(404)  # someone else's is not theirs to see either
    return _marked(services.mark_read(current_user.id, notification_id))


@bp.post("/read-all")
@permission_required(Permission.WORK_CASES)
def mark_all_read():
    _checked_form()
    return _marked(services.mark_read(current_user.id))


def _marked(n: int):
    return saved(ngettext("%(num)d notification marked as read.",
                          "%(num)d notifications marked as read.", n),
                 url_for("notifications.centre"))


@bp.get("/case/<id:case_id>")
@permission_required(Permission.WORK_CASES)
def case_reminders(case_id: int):
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return render_template("notifications/case_reminders.html", case=case,
                           reminders=services.reminders_for_case(case_id))


@bp.get("/failed")
@permission_required(Permission.SUPERVISE)
def failed():
    return render_template("notifications/failed.html", reminders=services.failed_reminders())


@bp.post("/reminders/<id:reminder_id>/retry")
@permission_required(Permission.SUPERVISE)
def retry(reminder_id: int):
    _checked_form()
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None:
        abort(404)
    with refusals() as refused:
        services.retry(current_user, reminder)
    if refused:
        flash(str(refused.message), "danger")
        return redirect(url_for("notifications.failed"))
    return saved(_("Reminder %(id)s is queued again; the worker sends it within a minute.",
                   id=reminder.id),
                 url_for("notifications.failed"))


@bp.get("/worker")
@permission_required(Permission.SUPERVISE)
def worker_status():
    now = utcnow()
    beats = [(beat, services.is_stale(beat, now)) for beat in services.worker_heartbeats()]
    return render_template("notifications/worker_status.html", beats=beats, now=now,
                           queue=services.queue_size())

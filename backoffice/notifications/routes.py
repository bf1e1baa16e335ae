"""Notification pages."""

from __future__ import annotations

from flask import render_template

from backoffice.auth.models import Permission
from backoffice.core.dates import utcnow
from backoffice.core.security import permission_required
from backoffice.notifications import bp, services


@bp.get("/worker")
@permission_required(Permission.SUPERVISE)
def worker_status():
    now = utcnow()
    beats = [(beat, services.is_stale(beat, now)) for beat in services.worker_heartbeats()]
    return render_template("notifications/worker_status.html", beats=beats, now=now)

"""Periodic tasks run by the Celery worker; the schedule is in core/celery.py."""

from __future__ import annotations

import socket

from celery import shared_task

from backoffice.extensions import db
from backoffice.notifications import services


@shared_task(name="backoffice.notifications.tasks.heartbeat")
def heartbeat(hostname: str | None = None) -> str:
    """Record that a worker is alive and beat is scheduling; the supervisors' page reads it."""
    beat = services.record_heartbeat(hostname or socket.gethostname())
    db.session.commit()
    return beat.hostname

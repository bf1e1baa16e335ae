"""Periodic case work run by the Celery worker; the schedule is in core/celery.py."""

from __future__ import annotations

from celery import shared_task

from backoffice.cases import stay
from backoffice.core.dates import hk_today
from backoffice.extensions import db


@shared_task(name="backoffice.cases.tasks.sweep_deadlines")
def sweep_deadlines() -> dict[str, int]:
    """Mark passed deadlines and lapse ended stays. Safe to run twice or in two workers."""
    counts = stay.sweep(hk_today())
    db.session.commit()
    return counts

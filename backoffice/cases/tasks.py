"""Periodic case work run by the Celery worker, with its schedule."""

from __future__ import annotations

from celery import shared_task

from backoffice.cases import deadline_sweep
from backoffice.core import signals
from backoffice.core.dates import hk_today
from backoffice.extensions import db


@shared_task(name="backoffice.cases.tasks.sweep_deadlines")
def sweep_deadlines() -> dict[str, int]:
    """Mark passed deadlines and lapse ended stays. Safe to run twice or in two workers."""
    counts = deadline_sweep.sweep(hk_today())
    db.session.commit()
    return counts


@signals.beat_schedule.connect
def _schedule(_sender, **_kwargs) -> dict:
    # Deadlines are due by Hong Kong day; sweeping every 10 minutes marks them soon after
    # midnight and costs one indexed query when there is nothing to do.
    return {"sweep-deadlines": {"task": sweep_deadlines.name, "schedule": 600.0}}

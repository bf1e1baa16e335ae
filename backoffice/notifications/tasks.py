"""Periodic tasks run by the Celery worker, with their schedule."""

from __future__ import annotations

import logging
import socket

from celery import shared_task

from backoffice.core import signals
from backoffice.core.dates import hk_today
from backoffice.extensions import db
from backoffice.notifications import mail, services

logger = logging.getLogger(__name__)


@signals.beat_schedule.connect
def _schedule(_sender, **_kwargs) -> dict:
    # Reminders are rows; planning writes them, dispatch sends what is due. Dispatch also
    # runs every minute as the sweeper for anything a lost message or a dead worker left.
    return {
        "worker-heartbeat": {"task": heartbeat.name, "schedule": 30.0},
        "plan-reminders": {"task": plan_reminders.name, "schedule": 300.0},
        "dispatch-reminders": {"task": dispatch_reminders.name, "schedule": 60.0},
    }


@shared_task(name="backoffice.notifications.tasks.heartbeat")
def heartbeat(hostname: str | None = None) -> str:
    """Record that a worker is alive and beat is scheduling; the supervisors' page reads it."""
    beat = services.record_heartbeat(hostname or socket.gethostname())
    db.session.commit()
    return beat.hostname


@shared_task(name="backoffice.notifications.tasks.plan_reminders")
def plan_reminders() -> dict[str, int]:
    """Write the reminders that are due (periodic). Then ring the dispatcher's doorbell."""
    counts = services.plan_reminders(hk_today())
    db.session.commit()
    if any(counts.values()):
        ring_dispatcher()
    return counts


@shared_task(name="backoffice.notifications.tasks.dispatch_reminders")
def dispatch_reminders(max_batches: int = 50) -> dict[str, int]:
    """Send due reminders in claimed batches (periodic, and after planning).

    Each claim is committed before sending, and each reminder's outcome right after its send,
    so a crash loses nothing and repeats at most the one message in flight. Also the sweeper:
    whatever a dead worker claimed comes due again when its lease runs out.
    """
    outcomes: dict[str, int] = {}
    with mail.mailer() as sender:
        for _ in range(max_batches):
            ids = services.claim_due()
            db.session.commit()
            if not ids:
                break
            prepared = services.prepare(ids)
            for reminder_id in ids:
                if reminder_id not in prepared:
                    continue
                state = services.deliver_prepared(prepared[reminder_id], sender=sender)
                db.session.commit()
                outcomes[state.value] = outcomes.get(state.value, 0) + 1
    return outcomes


def ring_dispatcher() -> None:
    """Ask a worker to dispatch now. If the broker is down nothing is lost: the reminders wait
    in the database for the periodic dispatch."""
    try:
        dispatch_reminders.apply_async(retry=False)
    except Exception as exc:
        logger.warning("could not reach the broker to dispatch reminders now: %s", exc)

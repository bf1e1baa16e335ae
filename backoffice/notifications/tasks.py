"""Periodic tasks run by the Celery worker, with their schedule."""

from __future__ import annotations

import logging
import socket

from celery import bootsteps, shared_task
from celery.signals import celeryd_init

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


@shared_task(name="backoffice.notifications.tasks.record_broker_reachable")
def record_broker_reachable(reachable: bool, hostname: str | None = None) -> None:
    """Note on the worker page whether this worker has its broker. Run in the worker's own
    process by ``BrokerWatch`` (``.apply()``, no broker involved)."""
    try:
        services.record_broker_reachable(hostname or socket.gethostname(), reachable)
        db.session.commit()
    finally:
        # This runs in the main process, which forks the pool's children: it keeps no
        # database connection a child could inherit.
        db.session.remove()
        db.engine.dispose()


class BrokerWatch(bootsteps.StartStopStep):
    """A step of the worker's consumer: started once the worker consumes from the broker,
    stopped when it loses the connection (and again at shutdown, which is not an outage).
    So the database learns of an outage from the worker that lives through it."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c) -> None:
        record_broker_reachable.apply(args=[True])

    def stop(self, c) -> None:
        if c.blueprint.state == bootsteps.RUN:  # a shutdown closes the blueprint first
            logger.warning("lost the broker; reminders wait in the database until it is back")
            record_broker_reachable.apply(args=[False])


@celeryd_init.connect
def _watch_the_broker(sender=None, instance=None, **_kwargs) -> None:
    instance.app.steps["consumer"].add(BrokerWatch)


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
    so a crash loses nothing and repeats at most the one message in flight. Before each send
    the batch re-takes the reminder (``services.take``, for an email in the same statement
    as the previous one's mark: ``services.deliver_and_take``), so one whose lease ran out and that
    another dispatcher claimed is left to that one; a batch whose lease runs out gives back
    what it has not tried and claims afresh. Also the sweeper: whatever a dead worker claimed
    comes due again when its lease runs out.

    On PostgreSQL an email's mark commits while the next email's envelope and content go out;
    that email's final "." waits for the mark to be durable (``services.deliver_and_take``).
    """
    outcomes: dict[str, int] = {}
    # The emails' writes go through their own connection (services.marks_connection): each
    # one commits itself, one round trip instead of four.
    with mail.mailer() as sender, services.marks_connection() as marks:
        for _ in range(max_batches):
            claim, claimed_at = services.new_claim(), services.utcnow()
            ids = services.claim_due(now=claimed_at, claim=claim)
            db.session.commit()
            if not ids:
                break
            expires = claimed_at + services.lease()
            prepared = services.prepare(ids)
            queue = [reminder_id for reminder_id in ids if reminder_id in prepared]
            held = bool(queue) and services.take(queue[0], claim)
            db.session.commit()
            for n, reminder_id in enumerate(queue):
                rest = queue[n + 1:]
                if held:
                    state, taken = services.deliver_and_take(
                        prepared[reminder_id], prepared[rest[0]] if rest else None, claim,
                        expires, sender=sender, marks=marks)
                    outcome = state.value
                else:
                    outcome = "taken_by_another"
                    taken = (services.take(rest[0], claim)
                             if rest and services.utcnow() < expires else None)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if rest and taken is None:  # the lease ran out: give back the rest
                    services.release(claim, rest)
                    db.session.commit()
                    break
                held = bool(taken)
                # One commit a message (a commit is most of a send's cost): this outcome, and
                # the next reminder's renewed lease, which so holds before that one leaves.
                # (A sent email's, on PostgreSQL, was committed by its own statement on
                # ``marks``; the session then has nothing to commit, and sends nothing.)
                db.session.commit()
    return outcomes


def ring_dispatcher() -> None:
    """Ask a worker to dispatch now. If the broker is down nothing is lost: the reminders wait
    in the database for the periodic dispatch."""
    try:
        dispatch_reminders.apply_async(retry=False)
    except Exception as exc:
        logger.warning("could not reach the broker to dispatch reminders now: %s", exc)

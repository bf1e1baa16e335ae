"""The worker makes the PDFs of the letters written since it last looked, with its schedule."""

from __future__ import annotations

import logging

from celery import shared_task

from backoffice.core import signals
from backoffice.extensions import db
from backoffice.letters import services

logger = logging.getLogger(__name__)

BATCH = 20  # letters made per run: each takes a fraction of a second


@signals.beat_schedule.connect
def _schedule(_sender, **_kwargs) -> dict:
    return {"make-letters": {"task": make_letters.name, "schedule": 60.0}}


@shared_task(name="backoffice.letters.tasks.make_letters")
def make_letters(batch: int = BATCH) -> int:
    """Make the PDF of each letter still without one, each in its own transaction (a
    letter that fails to render is logged and left for the next run, not the others)."""
    made = 0
    for letter in services.pending(batch):
        try:
            services.make_pdf(letter)
            db.session.commit()
            made += 1
        except Exception:  # one bad letter must not stop the rest
            db.session.rollback()
            logger.exception("letter %s could not be made", letter.id)
    return made

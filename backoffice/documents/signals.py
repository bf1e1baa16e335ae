"""What the documents feature tells the features above it. Receivers run inside the sender's
transaction."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

documents_requested = _signals.signal("documents-requested", doc="""
Documents were asked of the applicant; sent after the request is flushed, with ``request``
(a DocumentRequest), ``case``, ``actor`` and ``lines`` (the checklist lines asked for).
Receivers that email the applicant return True when an email was queued. Listeners: letters
(the request letter, kept on the case), notifications (the email, through the outbox).
""")

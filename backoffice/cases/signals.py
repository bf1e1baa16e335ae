"""What the cases feature tells the features above it. Receivers run inside the sender's
transaction, so whatever they change commits or rolls back with the change they react to.

Each signal carries sets, not single rows, so that one receiver serves a caseworker's one
case and the deadline sweep's thousands alike: ``*_ids`` is either a list of ids or a SQL
``select`` of one id column (the set-based form; receivers use it as ``IN (...)``).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

deadline_closed = _signals.signal("deadline-closed", doc="""
Deadlines stop being anyone's work: open ones are met (a job offer recorded, the arrival, an
extension granted, the extension window's day come) or cancelled (the date moved, the
deadline no longer applies, the case ended), and missed ones still outstanding are retired
(the case ended, or a deadline of their kind on a new date replaced them). Sent before the
deadlines are written, with ``deadline_ids``, ``closure`` (a models.DeadlineClosure: why) and
``at`` (when). Listener: notifications cancels their pending reminders and resolves their
unread notifications.
""")

case_status_changed = _signals.signal("case-status-changed", doc="""
Cases moved by a step of their lifecycle; sent after the status is written, with the step
(``transition``, a schemes.Transition), ``case_ids``, ``actor`` (None for the system) and
``at``. An extension point: no feature listens yet (letters to applicants will).
""")

case_reassigned = _signals.signal("case-reassigned", doc="""
A case changed hands; sent with ``case`` (the Case), ``actor``, ``previous_assignee_id`` and
``assignee_id``. An extension point: no feature listens yet (reminders re-check their
recipient when they are sent).
""")

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
``at``. Listener: letters writes the letter a step tells (letters/kinds.py STEP_LETTERS).
""")

case_reassigned = _signals.signal("case-reassigned", doc="""
A case changed hands; sent with ``case`` (the Case), ``actor``, ``previous_assignee_id`` and
``assignee_id``. An extension point: no feature listens yet (reminders re-check their
recipient when they are sent).
""")

documents_outstanding = _signals.signal("documents-outstanding", doc="""
Asked by a step that needs the case's documents (``Guard.DOCUMENTS_COMPLETE``, an approval),
with ``case``, before it changes anything. Receivers return the labels (lazy messages) of the
required documents neither received nor waived; any label refuses the step, naming them.
Listener: documents (the case's checklist).
""")

case_changed = _signals.signal("case-changed", doc="""
A case's people or facts changed: it was created or edited, or a dependant added or removed.
Sent with ``case`` after the change is flushed. Listener: documents recounts the checklist
(each dependant brings items of their own; a claimed programme brings its letter).
""")

case_page_panels = _signals.signal("case-page-panels", doc="""
The case page is being shown, with ``case`` and ``user``. Receivers return a panel's HTML
(Markup) or None; the page shows them under the case's deadlines, in the features' order.
Listeners: documents (the checklist), letters (the letters sent).
""")

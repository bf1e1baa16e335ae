"""What the accounts feature asks of the features above it."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

loaded_with_user = _signals.signal("loaded-with-user", doc="""
Sent with the app as sender when the statement that loads the signed-in user on every request
is first built (once per app). Each receiver returns a dict of names to scalar subqueries
correlated with ``users.id``: read in that same statement, so a value every page shows costs
no statement of its own; ``backoffice.auth.queries.loaded_with_user(name)`` gives it. Listener:
notifications, the unread count of the menu's badge.
""")

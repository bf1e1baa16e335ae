"""The signals through which features plug themselves into the shared frame.

Core sends these and collects the answers; it never names a feature. A feature connects its
receivers in its own modules (``routes.py`` for the menu, ``tasks.py`` for its periodic
tasks), which ``create_app`` imports, so adding a feature changes no other feature's file
(indico: ``core/signals/``). Signals between features are declared by the feature that sends
them (``backoffice/cases/signals.py``). docs/ARCHITECTURE.md lists every sender and listener.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

menu_items = _signals.signal("menu-items", doc="""
Sent with the app as sender when the main menu is built (once per app). Each receiver
returns an iterable of :class:`backoffice.core.routes.NavItem`: its feature's entries.
""")

header_templates = _signals.signal("header-templates", doc="""
Sent with the app as sender when the page header is built (once per app). Each receiver
returns the name of a template included in the header for a signed-in user (the account
links, for example).
""")

beat_schedule = _signals.signal("beat-schedule", doc="""
Sent with the Celery app as sender when Celery is set up. Each receiver returns a dict of
Celery beat entries for its feature's periodic tasks, declared next to those tasks.
""")

language_chosen = _signals.signal("language-chosen", doc="""
Sent with the app as sender when a signed-in user picks a language with the header's
switcher, with ``user`` and ``language`` (a code of ``backoffice.core.i18n.LANGUAGES``). The
feature that owns accounts saves it as the user's preference; the switcher commits.
""")

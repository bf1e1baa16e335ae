"""The body of a queue's table: one ``<tr>`` per case, written in Python.

Through Jinja the fifty rows of a queue page cost more than the page's own SQL (2.6 ms of a
12 ms page at 1M cases: about thirty expressions a row, each looked up, escaped and yielded
through three template frames). The same HTML written here costs a fraction of that. The
template keeps the page around the rows (headings, filters, forms); this module writes only
the cells, and escapes every value it did not write itself, with the standard library's
``html.escape`` (a third of markupsafe's ``escape`` for a short text, which also builds a
``Markup`` for each value: eleven a row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from html import escape as _e
from urllib.parse import urlencode

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from backoffice.cases import stay
from backoffice.cases.queries import WaitingLine
from backoffice.core.export import csv_country
from backoffice.core.i18n import format_date
from backoffice.core.identity import mask_hkid, mask_passport


@dataclass(frozen=True)
class QueueTable:
    """What every row of one page shares: the words and links worked out once a page."""

    back: str  # the queue page the case page's back link returns to
    today: date
    colour_of: Callable[[object], str]  # a status's badge colour
    bulk: bool  # a select box for bulk reassignment in the first cell
    line: WaitingLine | None  # the waiting line's numbers, on the Awaiting quota queue
    select_label: str  # "Select %(reference)s", translated

    def rows(self, rows: Iterable) -> Markup:
        """The ``<tr>`` of each row (a queue query's row), in order."""
        rows = list(rows)
        case_url = url_for("cases.show", case_id=1)[:-1]
        back_query = _e("?" + urlencode({"back": self.back}))
        # Named once per country, scheme, status and deadline kind on the page (a few), not
        # once per row: each naming is a catalogue lookup.
        countries = {code: _e(csv_country(code)) for code in {r.nationality for r in rows}}
        schemes = {s: _e(str(s.short_label)) for s in {r.scheme for r in rows}}
        statuses = {s: (_e(self.colour_of(s)), _e(str(s.label)))
                    for s in {r.status for r in rows}}
        kinds = {k: _e(str(k.label)) for k in {r.next_deadline_kind for r in rows} if k}
        none_open = _e(_("None open"))
        # A page sorted by next deadline has many rows due on one day: each (kind, day)
        # worded once (its countdown is a plural message in the reader's language).
        deadlines: dict[tuple, str] = {}
        # Each day written once a page: a page shows a few dozen days, in two columns.
        days: dict[date | None, str] = {None: "—"}
        out = []
        for row in rows:
            first = ""
            if self.bulk:
                label = _e(self.select_label % {"reference": row.reference})
                first = (f'<td><input class="form-check-input" type="checkbox" name="case_ids" '
                         f'value="{row.id}" id="pick-{row.id}" aria-label="{label}">'
                         f'<input type="hidden" name="shown" value="{row.id}:{row.version}">'
                         f"</td>")
            if self.line is not None:
                first += f'<td class="place-in-line">{self.line.place_of(row.id) or "—"}</td>'
            chinese = (f' <span lang="zh-Hant">{_e(row.chinese_name)}</span>'
                       if row.chinese_name else "")
            colour, status = statuses[row.status]
            missing = ""
            if row.documents_missing:
                words = _e(ngettext("%(num)d document missing", "%(num)d documents missing",
                                    row.documents_missing))
                missing = f'<br><span class="small documents-missing">{words}</span>'
            key = (row.next_deadline_kind, row.next_deadline_on)
            deadline = deadlines.get(key)
            if deadline is None:
                deadline = deadlines[key] = self._deadline_cell(row, kinds, none_open)
            for day in (row.status_since, row.submitted_on):
                if day not in days:
                    days[day] = _e(format_date(day))
            out.append(
                f"<tr>{first}"
                f'<td class="text-nowrap"><a href="{case_url}{row.id}{back_query}" class="mono">'
                f"{_e(row.reference)}</a></td>"
                f"<td>{_e(row.family_name.upper())}, {_e(row.given_names)}{chinese}</td>"
                f"<td>{schemes[row.scheme]}</td>"
                f'<td><span class="badge text-bg-{colour}">{status}</span>{missing}</td>'
                f"{deadline}"
                f'<td class="text-nowrap">{days[row.status_since]}</td>'
                f'<td class="text-nowrap">{days[row.submitted_on]}</td>'
                f"<td>{countries[row.nationality]}</td>"
                f'<td class="mono text-nowrap">{_e(mask_passport(row.passport_number))}</td>'
                f'<td class="mono text-nowrap">{_e(mask_hkid(row.hkid))}</td>'
                f"<td>{_e(row.assignee_name or '—')}</td></tr>")
        return Markup("\n".join(out))  # noqa: S704  # nosec B704  # every value was escaped

    def _deadline_cell(self, row, kinds: dict, none_open: Markup) -> str:
        if row.next_deadline_on is None:
            return f'<td class="next-deadline"><span class="text-muted">{none_open}</span></td>'
        urgency = stay.urgency(row.next_deadline_kind, row.next_deadline_on, self.today)
        border = " border" if urgency.colour == "light" else ""
        return (f'<td class="next-deadline"><span class="small">{kinds[row.next_deadline_kind]}'
                f'</span><br><span class="text-nowrap">{_e(format_date(row.next_deadline_on))}'
                f'</span> <span class="badge text-bg-{_e(urgency.colour)}{border}">'
                f"{_e(str(urgency.countdown))}</span></td>")


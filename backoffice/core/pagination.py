"""Simple page-by-number pagination for small tables (accounts, logs).

It fetches one row more than a page to know whether a next page exists, so it never runs a
COUNT over the table. Large tables (cases) use keyset pagination in their own feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Select

from backoffice.extensions import db

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def paginate(query: Select, per_page: int) -> Page:
    """Page ``query`` by the ``page`` request argument; bad or huge numbers fall back safely."""
    number = request.args.get("page", 1, type=int) or 1
    number = min(max(number, 1), MAX_PAGE)
    rows = db.session.scalars(query.limit(per_page + 1).offset((number - 1) * per_page)).all()
    return Page(items=list(rows[:per_page]), number=number, per_page=per_page,
                has_next=len(rows) > per_page)

"""Template filters and globals shared by every feature (the language-dependent ones, dates
and numbers, are in ``core/i18n.py``)."""

from __future__ import annotations

from datetime import date

from flask import Flask

from backoffice.core.dates import hk_today
from backoffice.core.identity import mask_hkid, mask_passport


def iso_date(value: date | None) -> str:
    """A date as an input or a machine reads it (2026-12-03); pages show ``|date``."""
    return "" if value is None else value.isoformat()


def init_app(app: Flask) -> None:
    app.add_template_filter(iso_date, "iso_date")
    # The Hong Kong day of an instant, to compare with a date (``|date`` words either).
    app.add_template_filter(hk_today, "hk_date")
    app.add_template_filter(mask_passport, "mask_passport")
    app.add_template_filter(lambda v: mask_hkid(v) if v else "", "mask_hkid")

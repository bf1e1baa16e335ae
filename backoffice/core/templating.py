"""Template filters and globals shared by every feature."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from backoffice.core.dates import to_hk
from backoffice.core.identity import mask_hkid, mask_passport


def hk_datetime(value: datetime | None) -> str:
    """A UTC timestamp shown in Hong Kong time."""
    return "" if value is None else f"{to_hk(value):%Y-%m-%d %H:%M}"


def iso_date(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def init_app(app: Flask) -> None:
    app.add_template_filter(hk_datetime, "hk_datetime")
    app.add_template_filter(iso_date, "iso_date")
    app.add_template_filter(mask_passport, "mask_passport")
    app.add_template_filter(lambda v: mask_hkid(v) if v else "", "mask_hkid")

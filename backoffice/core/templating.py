"""Template filters and globals shared by every feature (the language-dependent ones, dates
and numbers, are in ``core/i18n.py``)."""

from __future__ import annotations

from datetime import date

from flask import Flask, current_app, render_template, request
from markupsafe import Markup

from backoffice.core.dates import hk_today
from backoffice.core.i18n import current_language
from backoffice.core.identity import mask_hkid, mask_passport


def iso_date(value: date | None) -> str:
    """A date as an input or a machine reads it (2026-12-03); pages show ``|date``."""
    return "" if value is None else value.isoformat()


FIXED_FRAGMENTS = "backoffice.fixed_fragments"  # the app's extension key for the cache


def fixed_fragment(name: str) -> Markup:
    """The partial template ``name`` as rendered in the reader's language, rendered once per
    process and language, then reused.

    For the parts of the frame that are the same on every page (the style sheets, the
    scripts, the footer): rendering them, Bootstrap's tags and the addresses of the static
    files among them, cost about 0.3 ms of every page. Such a template may use the language
    and nothing else of the request or the user.
    """
    # Kept by the app (its settings choose the tags), by template, language and mount point.
    cache = current_app.extensions.setdefault(FIXED_FRAGMENTS, {})
    key = (name, current_language().code, request.script_root)
    fragment = cache.get(key)
    if fragment is None:
        rendered = render_template(name)
        fragment = cache[key] = Markup(rendered)  # noqa: S704  # nosec B704  # Jinja escaped it
    return fragment


def init_app(app: Flask) -> None:
    app.add_template_global(fixed_fragment, "fixed_fragment")
    app.add_template_filter(iso_date, "iso_date")
    # The Hong Kong day of an instant, to compare with a date (``|date`` words either).
    app.add_template_filter(hk_today, "hk_date")
    app.add_template_filter(mask_passport, "mask_passport")
    app.add_template_filter(lambda v: mask_hkid(v) if v else "", "mask_hkid")

"""The supervisors' QMAS quota dashboard: the year's numbers, setting the limit, the export.

Every view: load → authorise → call a service → respond. The limit is changed only by
``services.set_limit``; a refusal (a QuotaError, e.g. a limit below what is allocated, or a
form rendered before someone else set the limit) comes back beside the field with the
numbers, and nothing is saved.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from backoffice.auth.models import Permission
from backoffice.cases import waiting
from backoffice.cases.queries import Queue
from backoffice.cases.schemes import CaseStatus
from backoffice.core import signals
from backoffice.core.dates import hk_today
from backoffice.core.export import csv_response
from backoffice.core.i18n import format_number, lazy_gettext
from backoffice.core.refusals import refusals, saved
from backoffice.core.routes import NavItem
from backoffice.core.security import permission_required
from backoffice.quota import services
from backoffice.quota.forms import LimitForm, YearForm
from backoffice.reports import bp, dashboard


@signals.menu_items.connect
def _menu_items(_app, **_kwargs) -> list[NavItem]:
    return [NavItem(lazy_gettext("Quota"), "reports.quota_dashboard", Permission.SUPERVISE,
                    order=40)]


def _chosen_year(form: YearForm) -> int:
    """The year asked for, or this Hong Kong year when none (or an unusable one) is given."""
    if form.validate() and form.year.data is not None:
        return form.year.data
    return hk_today().year


def _render_dashboard(year: int, limit_form: LimitForm | None = None,
                      year_form: YearForm | None = None, status: int = 200):
    today = hk_today()
    summary = dashboard.year_summary(year)
    months = dashboard.monthly_allocations(summary)
    last_month = 12 if year < today.year else (today.month if year == today.year else 0)
    if limit_form is None:
        # The version the limit is changed from: a form rendered before someone else's
        # change is refused (approvals do not move it).
        version = summary.period.limit_version if summary.period else 0
        limit_form = LimitForm(formdata=None, year=year, limit=summary.limit,
                               version=(year, version))
    page_number = request.args.get("page", 1, type=int) or 1
    pipeline = dashboard.pipeline_counts()
    return render_template(
        "reports/quota_dashboard.html",
        year=year, today=today, summary=summary, release_text=dashboard.release_text,
        first_year=services.FIRST_YEAR, last_year=services.LAST_YEAR,
        year_form=year_form or YearForm(formdata=None, year=year),
        limit_form=limit_form,
        pipeline=pipeline, forecast=dashboard.forecast(summary, pipeline, today),
        # The offer is of this year's places: a past or future year shows none.
        offer=(waiting.offer(dashboard.SCHEME, current_user,
                             waiting=pipeline[CaseStatus.AWAITING_QUOTA])
               if year == today.year else None),
        months=months, chart=dashboard.chart(months, summary.limit, last_month),
        projection=dashboard.projected_run_out(year, summary.limit, summary.allocated, today),
        nationalities=dashboard.nationality_counts(summary),
        page=dashboard.allocations_page(summary, page_number),
        history=dashboard.limit_history(summary),
        all_queue=Queue.ALL.value, awaiting_queue=Queue.AWAITING_QUOTA.value,
    ), status


@bp.get("/quota/")
@permission_required(Permission.SUPERVISE)
def quota_dashboard():
    year_form = YearForm(request.args)
    year = _chosen_year(year_form)
    if year_form.errors:
        return _render_dashboard(year, year_form=year_form, status=422)
    return _render_dashboard(year)  # the picker then shows the year on display


@bp.post("/quota/limit")
@permission_required(Permission.SUPERVISE)
def set_quota_limit():
    form = LimitForm()
    if form.validate_on_submit():
        year, limit = form.year.data, form.limit.data
        with refusals(form.limit.errors) as refused:
            services.set_limit(current_user, dashboard.SCHEME.value, year, limit,
                               form.note.data, expected_version=form.version.version_for(year))
        if not refused:
            scheme = dashboard.SCHEME.value
            if limit is None:
                message = _("The %(scheme)s quota for %(year)s is now no limit (quota "
                            "suspended).", scheme=scheme, year=year)
            else:
                message = ngettext("The %(scheme)s quota for %(year)s is now %(places)s place.",
                                   "The %(scheme)s quota for %(year)s is now %(places)s places.",
                                   limit, scheme=scheme, year=year, places=format_number(limit))
            return saved(message, url_for("reports.quota_dashboard", year=year))
    year = form.year.data if not form.year.errors and form.year.data else hk_today().year
    return _render_dashboard(year, limit_form=form, status=422)


@bp.get("/quota/export.csv")
@permission_required(Permission.SUPERVISE)
def quota_export():
    year_form = YearForm(request.args)
    year = _chosen_year(year_form)
    if year_form.errors:
        # A file cannot say that another year was exported: the dashboard explains it instead.
        return redirect(url_for("reports.quota_dashboard", **request.args.to_dict(flat=False)))

    return csv_response(dashboard.csv_rows(year), dashboard.csv_filename(year))

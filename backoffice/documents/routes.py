"""The documents page of a case, its actions, the panel on the case page and the downloads.

Views load the case, authorise, call a service and answer: a refusal is shown on the
documents page it came from (422) with the form as it was sent; a success redirects there.
"""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge

from backoffice.auth import services as accounts
from backoffice.auth.models import Permission, User
from backoffice.cases import signals
from backoffice.cases.models import Case
from backoffice.cases.routes import load_case
from backoffice.core.dates import hk_today
from backoffice.core.i18n import format_date
from backoffice.core.refusals import refusals, saved
from backoffice.core.security import permission_required
from backoffice.documents import bp, downloads, services, storage, uploads
from backoffice.documents.forms import (
    AcceptForm,
    LineForm,
    ReceivedForm,
    RejectForm,
    RequestForm,
    UploadForm,
    WaiveForm,
    WithdrawForm,
)
from backoffice.documents.models import DocumentFile
from backoffice.extensions import db


def _page(case_id: int) -> str:
    return url_for("documents.checklist", case_id=case_id)


def _size_limit() -> int:
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def _forms(case: Case, today: date, **given) -> dict:
    lines = services.checklist(case)
    request_form = given.pop("request_form", None) or RequestForm(
        formdata=None, due_on=services.default_due_on(case, today))
    request_form.items.choices = [(line.key, str(line.label)) for line in lines
                                  if line.can_be_requested]
    return {"lines": lines, "request_form": request_form,
            "item_labels": {line.item.id: line.label for line in lines if line.item},
            "upload_form": UploadForm(formdata=None, received_on=today),
            "received_form": ReceivedForm(formdata=None, received_on=today),
            "accept_form": AcceptForm(formdata=None), "reject_form": RejectForm(formdata=None),
            "waive_form": WaiveForm(formdata=None), "withdraw_form": WithdrawForm(formdata=None),
            "returned_item": None, "returned_file": None, **given}


def _render(case: Case, status: int = 200, error: object | None = None, **given):
    today = hk_today()
    forms = _forms(case, today, **given)
    return render_template(
        "documents/checklist.html", case=case, today=today, error=error,
        requests=services.requests_of(case), can_act=case.can_act(current_user) and case.is_open,
        size_limit=_size_limit(), **forms), status


@bp.get("/<id:case_id>/documents")
@permission_required(Permission.WORK_CASES)
def checklist(case_id: int):
    return _render(load_case(case_id))


def _problem(form) -> str:
    """A line's form is small and sits in a list: what was wrong with it is said at the top
    of the page, with the field it is about."""
    for field in form:
        if field.errors:
            error = " ".join(str(error) for error in field.errors)
            if getattr(field.widget, "input_type", None) == "hidden":
                return error  # the line or the token: no label of its own to name
            return _("%(field)s: %(error)s", field=field.label.text, error=error)
    return _("The form could not be read; reload the page and try again.")


def _line_action(case_id: int, form: LineForm, act, message: str, form_name: str):
    """One shape for every action on a line: validate the form, call the service, answer."""
    case = load_case(case_id)
    with refusals() as refused:
        valid = form.validate_on_submit()
        if valid:
            act(case, form)
    if refused or not valid:
        return _render(case, 422, error=refused.message if refused else _problem(form),
                       **{form_name: form, "returned_item": form.item.data})
    return saved(message, _page(case_id) + f"#line-{form.item.data.replace('/', '-')}")


@bp.post("/<id:case_id>/documents/upload")
@permission_required(Permission.WORK_CASES)
def upload(case_id: int):
    # The declared length is checked before the body is read (MAX_CONTENT_LENGTH refuses a
    # body past the limit while it is read; check_upload counts the file's own bytes).
    form = UploadForm()

    def act(case: Case, form: UploadForm) -> None:
        uploads.refuse_oversize(request.content_length, _size_limit())
        with uploads.check_upload(form.file.data.stream, form.file.data.filename,
                                  limit=_size_limit(),
                                  allowed=current_app.config["UPLOAD_TYPES"]) as checked:
            services.upload(current_user, case, form.item.data, checked,
                            received_on=form.received_on.data,
                            replaces_id=int(form.replaces.data) if (form.replaces.data or "")
                            .isdigit() else None)

    return _line_action(case_id, form, act, _("File uploaded; the document is received."),
                        "upload_form")


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    """A body past MAX_CONTENT_LENGTH is refused before it is read: said on the page it came
    from, not as a bare 413."""
    case_id = (request.view_args or {}).get("case_id")
    flash(str(uploads.too_large(_size_limit())), "danger")
    if case_id is None:
        return redirect(url_for("cases.index"), 303)
    return redirect(_page(case_id), 303)


@bp.post("/<id:case_id>/documents/receive")
@permission_required(Permission.WORK_CASES)
def receive(case_id: int):
    return _line_action(
        case_id, ReceivedForm(),
        lambda case, form: services.mark_received(current_user, case, form.item.data,
                                                  form.received_on.data),
        _("The document is marked received."), "received_form")


@bp.post("/<id:case_id>/documents/accept")
@permission_required(Permission.WORK_CASES)
def accept(case_id: int):
    return _line_action(
        case_id, AcceptForm(),
        lambda case, form: services.accept(current_user, case, form.item.data),
        _("The document is accepted."), "accept_form")


@bp.post("/<id:case_id>/documents/reject")
@permission_required(Permission.WORK_CASES)
def reject(case_id: int):
    return _line_action(
        case_id, RejectForm(),
        lambda case, form: services.reject(current_user, case, form.item.data,
                                           form.reason.data),
        _("The document is rejected; it is missing again."), "reject_form")


@bp.post("/<id:case_id>/documents/waive")
@permission_required(Permission.WORK_CASES)
def waive(case_id: int):
    return _line_action(
        case_id, WaiveForm(),
        lambda case, form: services.waive(current_user, case, form.item.data, form.reason.data),
        _("The document is waived."), "waive_form")


def _file_or_404(case: Case, file_id: int) -> DocumentFile:
    file = services.file_of(case, file_id)
    if file is None:
        abort(404)
    return file


@bp.post("/<id:case_id>/documents/files/<id:file_id>/withdraw")
@permission_required(Permission.SUPERVISE)
def withdraw(case_id: int, file_id: int):
    case = load_case(case_id)
    file = _file_or_404(case, file_id)
    form = WithdrawForm()
    with refusals() as refused:
        valid = form.validate_on_submit()
        if valid:
            services.withdraw(current_user, case, file, form.reason.data)
    if refused or not valid:
        return _render(case, 422, error=refused.message if refused else _problem(form),
                       withdraw_form=form, returned_file=file_id)
    return saved(_("“%(file)s” is withdrawn; it is kept, marked withdrawn.",
                   file=file.display_name), _page(case_id))


@bp.get("/<id:case_id>/documents/files/<id:file_id>")
@permission_required(Permission.WORK_CASES)
def download(case_id: int, file_id: int):
    case = load_case(case_id)
    return serve(case, _file_or_404(case, file_id))


def serve(case: Case, file: DocumentFile):
    """A file of the case (``case`` loaded and authorised: anyone who may view it) as a
    download, never shown in the browser, and written in the security log first."""
    try:
        stream = storage.storage().open(file.storage_key)
    except storage.StoredFileMissing:
        current_app.logger.error("document file %s of case %s is missing from the store",
                                 file.id, case.id)
        abort(404)
    user: User = current_user._get_current_object()
    accounts.record_download(user, accounts.RequestInfo(
        ip=request.remote_addr, user_agent=request.headers.get("User-Agent")),
        reference=case.reference, file_id=file.id, file_name=file.display_name)
    db.session.commit()  # the log line is kept whatever happens to the stream
    return downloads.attachment(stream, display_name=file.display_name,
                                content_type=file.content_type, size=file.size)


@bp.post("/<id:case_id>/documents/request")
@permission_required(Permission.WORK_CASES)
def request_documents(case_id: int):
    case = load_case(case_id)
    form = RequestForm()
    form.items.choices = [(line.key, str(line.label)) for line in services.checklist(case)
                          if line.can_be_requested]
    with refusals() as refused:
        valid = form.validate_on_submit()
        if valid:
            made = services.request_documents(current_user, case, form.items.data or [],
                                              form.due_on.data, form.message.data)
    if refused or not valid:
        return _render(case, 422, error=refused.message if refused else None,
                       request_form=form)
    message = (_("Documents requested, due %(date)s. A letter is on the case and an email "
                 "was sent to the applicant.", date=format_date(made.due_on)) if made.emailed
               else _("Documents requested, due %(date)s. A letter is on the case (the "
                      "applicant has no email address or did not agree to email).",
                      date=format_date(made.due_on)))
    return saved(message, _page(case_id))


@signals.case_page_panels.connect
def _panel(_sender=None, *, case: Case, user: User, **_kwargs) -> Markup:
    """The case page's documents panel: what is missing at a glance, with the way in."""
    lines = services.checklist(case, services.items_of(case, details=False))
    return Markup(render_template(  # noqa: S704  # nosec B704  # a rendered template
        "documents/_panel.html", case=case, lines=lines,
        missing=[line for line in lines if line.missing]))


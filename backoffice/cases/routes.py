"""Caseworker pages: queues, search, the case page, forms and lifecycle actions.

Every view: load → authorise → call a service → respond. Rules live in services; a refused
change comes back as a CaseError whose message is shown on the page it came from.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from backoffice.auth.models import Permission, User
from backoffice.cases import (
    bp,
    calendar,
    duplicates,
    guards,
    queries,
    search,
    services,
    stay,
    waiting,
)
from backoffice.cases import signals as case_signals
from backoffice.cases.events import former_references
from backoffice.cases.forms import (
    ApproveInLineForm,
    BulkReassignForm,
    CaseForm,
    CorrectDateForm,
    DependantForm,
    HistoryFilterForm,
    JobOfferForm,
    NoteForm,
    QueueFilterForm,
    ReasonForm,
    ReassignForm,
    SaveFilterForm,
    SchemeChangeForm,
    SearchForm,
    StepForm,
    TakeForm,
    assignee_choices,
    note_choices,
)
from backoffice.cases.models import Case, CaseNote, Dependant, Relationship, SavedFilter
from backoffice.cases.queries import Filters, Queue
from backoffice.cases.queue_rows import QueueTable
from backoffice.cases.schemes import CaseStatus, Guard, PolicyError, Scheme
from backoffice.cases.words import LazyList, Sentences
from backoffice.core import signals
from backoffice.core.dates import hk_today
from backoffice.core.export import csv_response
from backoffice.core.forms import BaseForm
from backoffice.core.i18n import format_date, language_for
from backoffice.core.i18n import lazy_gettext as _l
from backoffice.core.refusals import Refused, check_form, first_error, kept, refusals, saved
from backoffice.core.routes import NavItem
from backoffice.core.security import is_safe_redirect, permission_required
from backoffice.extensions import db

_STATUS_COLOURS = {
    CaseStatus.DRAFT: "secondary", CaseStatus.AWAITING_QUOTA: "warning",
    CaseStatus.APPROVED: "success", CaseStatus.VISA_ISSUED: "success",
    CaseStatus.IN_STAY: "primary", CaseStatus.EXTENSION_REQUESTED: "warning",
    CaseStatus.EXTENDED: "primary", CaseStatus.REFUSED: "danger", CaseStatus.WITHDRAWN: "dark",
    CaseStatus.LAPSED: "danger", CaseStatus.CLOSED: "dark",
}


@signals.menu_items.connect
def _menu_items(_app, **_kwargs) -> list[NavItem]:
    return [NavItem(_l("Cases"), "cases.index", Permission.WORK_CASES, order=10),
            NavItem(_l("New case"), "cases.create", Permission.WORK_CASES, order=20),
            NavItem(_l("Due soon"), "cases.due_soon", Permission.WORK_CASES, order=30)]


@signals.header_templates.connect
def _header_search(_app, **_kwargs) -> str:
    return "cases/_header_search.html"


@bp.app_template_filter("status_colour")
def status_colour(status: CaseStatus) -> str:
    """The Bootstrap colour of a status badge (the label always says the status in words)."""
    return _STATUS_COLOURS.get(status, "info")


def load_case(case_id: int) -> Case:
    """The case of ``case_id`` for a page about it: 404 when there is none, 403 for a user
    who may not view it (the pages of the features above cases load their case here too)."""
    case = queries.case_by_id(case_id)
    if case is None:
        abort(404)
    if not case.can_view(current_user):
        abort(403)
    return case


def _saved(message: str, case: Case):
    return saved(message, url_for("cases.show", case_id=case.id))


def _check_can_change(case: Case, *, acting: bool = True) -> None:
    """Authorise a change to the case before its form is read. A case that ended since the
    page was shown, or (``acting``) that is not the user's to change, is refused for that
    reason: not as a stale form, and not for what was typed into a form the page, shown
    again, no longer offers."""
    guards.check_open(case)
    if acting:
        guards.check_can_act(case, current_user)


def _refused(case_id: int, refused: Refused, **forms):
    """The one way out of a refused case form. A refusal that kept a change is a change: go
    to the case with its reason (303). One that changed nothing shows the case again in
    place (422) with its reason at the top, whichever forms the case now offers, and the
    refused form as it was typed."""
    if refused.kept:
        return kept(refused.message, url_for("cases.show", case_id=case_id))
    return _render_case(load_case(case_id), 422, error=refused.message, **forms)


def _stale() -> dict[type[Exception], str]:
    """A version clash caught at flush is the same refusal as a stale form, worded when the
    request is read (in its reader's language), not once at import."""
    return {StaleDataError: str(services.StaleCase())}


# --- Queues -------------------------------------------------------------------------------

def _filters(form: QueueFilterForm, default_sort: str = queries.DEFAULT_SORT) -> Filters:
    if not form.validate():
        return Filters(sort=default_sort)
    return Filters(
        q=form.q.data, scheme=Scheme(form.scheme.data) if form.scheme.data else None,
        status=CaseStatus(form.status.data) if form.status.data else None,
        assignee_id=form.assignee.data, nationality=form.nationality.data or None,
        submitted_from=form.submitted_from.data, submitted_to=form.submitted_to.data,
        sort=form.sort.data or default_sort)


def _queue_or_404(name: str, *, export: bool = False) -> Queue:
    try:
        queue = Queue(name)
    except ValueError:
        abort(404)
    if export and queue.export_supervisors_only and not current_user.can_supervise():
        abort(403)
    return queue


_BACK_LENGTH = 2000  # longer than any queue address the app writes


def safe_back(target: str | None) -> str | None:
    """``target`` if it is a queue page of this site (with its filters and page in the query
    string), else None: a back link never leads anywhere else, whatever was sent."""
    if not target or len(target) > _BACK_LENGTH or not is_safe_redirect(target):
        return None
    path = urlsplit(target).path
    if path == url_for("cases.index"):
        return target
    prefix = url_for("cases.queue_view", name="all").removesuffix("all")
    try:
        Queue(path.removeprefix(prefix) if path.startswith(prefix) else "")
    except ValueError:
        return None
    return target


def _queue_query(args: MultiDict) -> str:
    """The queue's filters as a query string in one spelling (the filters' own fields only:
    no page cursor, no blanks; sorted), so that the saved filters shown can be recognised."""
    fields = set(QueueFilterForm.FILTER_FIELDS)
    return urlencode(sorted((k, v) for k, v in args.items(multi=True) if k in fields and v))


def _queue_urls() -> dict[str, str]:
    """Each queue's address by its name, built once per app and mount point: every queue
    page links to every queue (its tabs) and to itself (the filters, Clear)."""
    cache = current_app.extensions.setdefault("backoffice.queue_urls", {})
    urls = cache.get(request.script_root)
    if urls is None:
        urls = cache[request.script_root] = {
            q.value: url_for("cases.queue_view", name=q.value) for q in Queue}
    return urls


def _render_queue(queue: Queue, args: MultiDict, save_form: SaveFilterForm | None = None,
                  status: int = 200):
    assignees = services.active_caseworkers() if queue is Queue.ALL else ()
    form = QueueFilterForm(args, assignees=assignees, sort=queue.default_sort)
    filters = _filters(form, queue.default_sort)
    page = queries.queue_page(queue, current_user, filters, args.get("after"))
    line = (queries.waiting_line(Scheme.QMAS, [row.id for row in page.rows])
            if queue is Queue.AWAITING_QUOTA else None)
    bulk_form = None
    if current_user.can_supervise() and queue.offers_bulk_reassignment:
        bulk_form = BulkReassignForm(formdata=None)
        bulk_form.assignee.choices = assignee_choices(assignees or services.active_caseworkers())
    query = _queue_query(args)
    queue_urls = _queue_urls()
    here = queue_urls[queue.value] + (f"?{query}" if query else "")
    if args.get("after"):
        here += ("&" if query else "?") + urlencode({"after": args["after"]})
    if len(here) <= _BACK_LENGTH and session.get("queue_back") != here:
        # The case page's back link returns here, also after the case's own forms redirect.
        # (A longer address, which only a hand-made one can be, would not fit the cookie.)
        # Set only when it changes: any setting signs and sends the cookie again.
        session["queue_back"] = here
    saved_filters = queries.saved_filters_of(current_user)
    active_saved = next((f for f in saved_filters
                         if f.queue == queue.value and f.query == query), None)
    if form.errors and status == 200:
        status = 422
    table = QueueTable(back=here, today=hk_today(), colour_of=status_colour,
                       bulk=bulk_form is not None, line=line,
                       select_label=_("Select %(reference)s"))
    return render_template(
        "cases/queue.html", queue=queue, queues=list(Queue), queue_urls=queue_urls, form=form,
        page=page,
        count=queries.queue_count(queue, current_user, filters, page),
        count_limit=queries.COUNT_LIMIT, bulk_form=bulk_form, here=here,
        query_args={k: v for k, v in args.items() if k != "after" and v},
        saved_filters=saved_filters, active_saved=active_saved,
        save_form=save_form or SaveFilterForm(formdata=None, query=query),
        rows=table.rows(page.rows), line=line,
        offer=(waiting.offer(Scheme.QMAS, current_user, waiting=line.length)
               if line is not None else None)), status


@bp.get("/")
@permission_required(Permission.WORK_CASES)
def index():
    return queue_view("mine")


@bp.get("/queue/<name>")
@permission_required(Permission.WORK_CASES)
def queue_view(name: str):
    return _render_queue(_queue_or_404(name), request.args)


@bp.get("/search", endpoint="search")
@permission_required(Permission.WORK_CASES)
def search_page():
    """Every case the user may view that matches the query, each with why it matched. The
    page without a query is the search form with its help; a query that cannot be run
    (empty, too short, too long) is explained beside the box (422)."""
    form = SearchForm(request.args)
    found = None
    if "q" in request.args and form.validate():
        try:
            found = search.search(current_user, form.q.data, limit=search.LIMIT)
        except search.SearchRefused as refused:
            form.q.errors = [str(refused.message)]
    status = 422 if form.errors else 200
    return render_template("cases/search.html", form=form, found=found,
                           limit=search.LIMIT), status


@bp.get("/queue/<name>/export.csv")
@permission_required(Permission.WORK_CASES)
def export_csv(name: str):
    queue = _queue_or_404(name, export=True)
    caseworkers = services.active_caseworkers()
    form = QueueFilterForm(request.args, assignees=caseworkers)
    filters = _filters(form)
    if form.errors:
        # A file cannot say that a filter was ignored: the queue page explains it instead.
        return redirect(url_for("cases.queue_view", name=queue.value,
                                **request.args.to_dict(flat=False)))
    user = current_user._get_current_object()
    assignee = next((p.full_name for p in caseworkers if p.id == filters.assignee_id), None)
    return csv_response(queries.csv_rows(queue, user, filters),
                        queries.csv_filename(queue, filters, assignee))


def _skipped_messages(outcome: services.Reassigned, assignee: User) -> list[str]:
    """One sentence per reason a ticked case was left as it was, naming each such case."""
    said = {
        services.SkipReason.ENDED: lambda refs: _(
            "Not reassigned, because the case has ended: %(references)s.", references=refs),
        services.SkipReason.ALREADY_THEIRS: lambda refs: _(
            "Not reassigned, because already assigned to %(name)s: %(references)s.",
            name=assignee.full_name, references=refs),
        services.SkipReason.CHANGED: lambda refs: _(
            "Not reassigned, because someone else changed the case after the queue was "
            "shown (look at it again, then tick it again): %(references)s.", references=refs),
    }
    messages = []
    for reason, say in said.items():
        cases = outcome.skipped_for(reason)
        if cases:
            messages.append(say(str(LazyList([c.reference for c in cases]))))
    return messages


@bp.post("/reassign")
@permission_required(Permission.SUPERVISE)
def bulk_reassign():
    form = BulkReassignForm()
    caseworkers = services.active_caseworkers()
    form.assignee.choices = assignee_choices(caseworkers)
    back = safe_back(request.form.get("back")) or url_for("cases.queue_view", name="all")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        return redirect(back)
    assignee = db.session.get(User, form.assignee.data)
    versions = dict(form.shown.data or ())
    with refusals(also=_stale()) as refused:
        outcome = services.reassign(current_user, queries.cases_by_ids(form.case_ids.data),
                                    assignee, versions)
    if refused:
        flash(refused.message, "danger")
        return redirect(back)
    db.session.commit()
    changed = len(outcome.reassigned)
    if changed:
        flash(ngettext("%(num)d case reassigned to %(name)s.",
                       "%(num)d cases reassigned to %(name)s.", changed,
                       name=assignee.full_name), "success")
    else:
        flash(_("No case was reassigned."), "warning")
    for message in _skipped_messages(outcome, assignee):
        flash(message, "warning")
    return redirect(back)


# --- The waiting line ------------------------------------------------------------------------

def _render_line(offer: waiting.Offer, form: ApproveInLineForm, status: int = 200,
                 outcome: waiting.LineOutcome | None = None):
    named = [case.id for case in offer.chosen] + [p.case.id for p in offer.passed]
    return render_template("cases/approve_in_line.html", offer=offer, form=form,
                           outcome=outcome, today=hk_today(),
                           line=queries.waiting_line(offer.scheme, named),
                           queue_url=url_for("cases.queue_view",
                                             name=Queue.AWAITING_QUOTA.value)), status


@bp.get("/waiting-line/approve")
@permission_required(Permission.SUPERVISE)
def approve_in_line_page():
    """The confirmation page: the first cases in line that the free places can take, by name,
    and those passed over with why. Nothing is changed until it is confirmed."""
    offer = waiting.offer(Scheme.QMAS, current_user, choose=True)
    return _render_line(offer, ApproveInLineForm(formdata=None))


@bp.post("/waiting-line/approve")
@permission_required(Permission.SUPERVISE)
def approve_in_line():
    form = ApproveInLineForm()
    if not form.validate_on_submit():
        return _render_line(waiting.offer(Scheme.QMAS, current_user, choose=True), form, 422)
    outcome = waiting.approve_in_line(current_user, form.shown.data)
    db.session.commit()
    if not outcome.approved:
        return _render_line(waiting.offer(Scheme.QMAS, current_user, choose=True),
                            ApproveInLineForm(formdata=None), 409, outcome)
    flash(ngettext("%(num)d case approved from the waiting line: %(references)s.",
                   "%(num)d cases approved from the waiting line: %(references)s.",
                   len(outcome.approved),
                   references=str(LazyList([c.reference for c in outcome.approved]))),
          "success")
    for left in outcome.left:
        flash(_("%(reference)s stays in line: %(reason)s", reference=left.case.reference,
                reason=left.reason), "warning")
    return redirect(url_for("cases.queue_view", name=Queue.AWAITING_QUOTA.value))


# --- Saved filters --------------------------------------------------------------------------

@bp.post("/queue/<name>/saved-filters")
@permission_required(Permission.WORK_CASES)
def save_filter(name: str):
    """Keep the queue's filters as shown under a name; a name missing, too long or taken is
    explained beside the box, on the queue page as it was (422)."""
    queue = _queue_or_404(name)
    form = SaveFilterForm()
    args = MultiDict(parse_qsl(form.query.data or "", keep_blank_values=False))
    valid = form.validate_on_submit()
    if valid and not QueueFilterForm(args, assignees=services.active_caseworkers()).validate():
        form.name.errors.append(_("These filters cannot be saved as they are: correct them "
                                  "first."))
        valid = False
    refused = None
    if valid:
        with refusals(form.name.errors) as refused:
            saved_filter = services.save_filter(current_user, form.name.data, queue.value,
                                                _queue_query(args))
    if refused or not valid:
        return _render_queue(queue, args, save_form=form, status=422)
    return saved(_("Filters saved as “%(name)s”.", name=saved_filter.name),
                 _saved_filter_url(saved_filter))


def _saved_filter_url(saved_filter: SavedFilter) -> str:
    url = url_for("cases.queue_view", name=saved_filter.queue)
    return f"{url}?{saved_filter.query}" if saved_filter.query else url


@bp.post("/saved-filters/<id:filter_id>/delete")
@permission_required(Permission.WORK_CASES)
def delete_filter(filter_id: int):
    """Delete one of one's own saved filters; someone else's is not found (404)."""
    saved_filter = db.session.get(SavedFilter, filter_id)
    if saved_filter is None or saved_filter.user_id != current_user.id:
        abort(404)
    form = BaseForm()
    if not form.validate_on_submit():
        abort(400)
    name, queue = saved_filter.name, saved_filter.queue
    services.delete_filter(current_user, saved_filter)
    return saved(_("Saved filters “%(name)s” deleted.", name=name),
                 url_for("cases.queue_view", name=queue))


# --- One case -----------------------------------------------------------------------------

def _back_link() -> tuple[str, object]:
    """Where the case page's back link goes, and its words: the queue page (filters and page)
    the case was opened from (``back``), else the queue page shown last in this session, else
    My cases. A ``back`` that is not one of this site's queue pages is ignored."""
    target = safe_back(request.args.get("back")) or safe_back(session.get("queue_back"))
    if target is None:
        return url_for("cases.index"), Queue.MINE.label
    path = urlsplit(target).path
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return target, (Queue(name).label if name in set(Queue) else Queue.MINE.label)


def _case_forms(case: Case, history: list, notes: list[CaseNote], options: list,
                **given) -> dict:
    today = hk_today()
    steps = {o.name: StepForm(step=o.transition, case=case, version=case.version,
                              formdata=None, on=today)
             for o in options if o.available and not o.transition.has_own_page}
    if "step_form" in given:
        returned = given.pop("step_form")
        steps[returned.step.name] = returned
    forms = {
        "step_forms": steps,
        "correct_date_form": CorrectDateForm(version=case.version, formdata=None,
                                             dates=services.correctable_dates(case, today,
                                                                              history)),
        "job_offer_form": JobOfferForm(version=case.version, formdata=None,
                                       offered_on=today),
        "dependant_form": DependantForm(version=case.version, formdata=None),
        "take_form": TakeForm(version=case.version, formdata=None),
        "reason_form": ReasonForm(version=case.version, formdata=None),
        "note_form": NoteForm(formdata=None),
        "reassign_form": None,
    }
    if case.can_reassign(current_user) and case.is_open:
        form = ReassignForm(version=case.version, assignee=case.assignee_id, formdata=None)
        form.assignee.choices = assignee_choices(services.active_caseworkers())
        forms["reassign_form"] = form
    forms.update(given)
    # A note corrected already is corrected again through its correction (services.add_note).
    corrected = {n.corrects_note_id for n in notes}
    forms["note_form"].corrects.choices = note_choices([n for n in notes if n.id not in corrected])
    # A form that came back (refused, or with errors) is shown open, as it was typed.
    forms["returned"] = set(given)
    return forms


def _render_case(case: Case, status: int = 200, error: str | None = None, **forms):
    events = queries.case_events(case.id)
    notes = queries.case_notes(case.id)
    # The history's filters: the notes alone (a link), and a search of the notes. A search
    # that cannot be read is explained beside its box, and the history shown whole.
    history_form = HistoryFilterForm(request.args)
    searched = history_form.validate()
    if not searched and status == 200:
        status = 422
    history = queries.history(events, notes, notes_only=request.args.get("show") == "notes",
                              search=history_form.q.data if searched else None)
    queries.load_case_lists(case)
    draft = case.status == CaseStatus.DRAFT
    permanent = [ground.message for ground in services.permanent_grounds(case)] if draft else []
    # A permanent ground is shown alone: what else is missing cannot change the outcome.
    submission_problems = services.submission_problems(case) if draft and not permanent else []
    today = hk_today()
    # Asked once: each option runs the step's guards (and the quota's preview for approval).
    options = services.step_options(case, current_user)
    return render_template(
        "cases/show.html", case=case, events=events, error=error, today=today,
        deadlines=[stay.deadline_view(d, today) for d in case.deadlines],
        children_turning_18={d.id: stay.child_turns_18_during_stay(d.date_of_birth, case)
                             for d in case.active_dependants},
        policy=case.policy, applicant_language=language_for(case.applicant.language),
        former_references=former_references(events),
        steps=options,
        submission_problems=submission_problems, permanent_grounds=permanent,
        Relationship=Relationship, history=history, history_form=history_form,
        back_link=_back_link(),
        line=(queries.waiting_line(case.scheme, [case.id])
              if case.status == CaseStatus.AWAITING_QUOTA else None),
        panels=[panel for _receiver, panel in
                case_signals.case_page_panels.send(case=case, user=current_user) if panel],
        **_case_forms(case, events, notes, options, **forms)), status


@bp.get("/<id:case_id>")
@permission_required(Permission.WORK_CASES)
def show(case_id: int):
    return _render_case(load_case(case_id))


def _form_page(form: CaseForm, case: Case | None):
    # 422 for every form sent back unsaved: its errors, a refusal or matches to confirm.
    failed = form.errors or form.form_errors or form.matches
    return render_template("cases/form.html", form=form, case=case), 422 if failed else 200


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.WORK_CASES)
def create():
    """A new case. An applicant who matches someone in another case is not saved: the form
    comes back (422) with the matches, until saving anyway is confirmed with a reason."""
    form = CaseForm()
    if request.method == "GET":
        form.submitted_on.data = hk_today()
    if form.validate_on_submit():
        with refusals() as refused:
            scheme = Scheme(form.scheme.data)
            case = services.create_case(current_user, scheme, form.applicant_data(),
                                        form.case_facts(scheme),
                                        accept_duplicates=form.accepted_reason())
        if not refused:
            return _saved(_("Case %(reference)s created as a draft, assigned to you.",
                            reference=case.reference), case)
        _record_refusal(form, refused)
    return _form_page(form, None)


def _record_refusal(form, refused: Refused) -> None:
    """A refusal on the form's page. A duplicate refusal puts its matches on the form (shown
    with the confirmation); a missing reason for saving anyway goes beside its field, and
    anything else (the matches' warning among them) at the top."""
    found = refused.refusal
    if isinstance(found, duplicates.DuplicatesFound):
        form.matches = found.matches
        if isinstance(found, duplicates.DuplicateReasonMissing):
            form.duplicate_reason.errors = [*form.duplicate_reason.errors, refused.message]
            return
    form.form_errors.append(refused.message)


@bp.route("/<id:case_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.WORK_CASES)
def edit(case_id: int):
    case = load_case(case_id)
    if not case.can_act(current_user):
        abort(403)
    # Only the case's scheme's fields; those fixed after submission are shown as text and
    # taken from the case, whatever is posted for them.
    if request.method == "GET":
        form = CaseForm(formdata=None, obj=case, data=_applicant_values(case), case=case)
    else:
        form = CaseForm(case=case)
    if form.validate_on_submit():
        with refusals(also=_stale()) as refused:
            changed = services.update_case(current_user, case, form.applicant_data(),
                                           form.case_facts(), form.version.data or 0,
                                           accept_duplicates=form.accepted_reason())
        if not refused:
            if not changed:
                flash(_("Nothing was changed."), "info")
                return redirect(url_for("cases.show", case_id=case.id))
            return _saved(_("Case saved."), case)
        _record_refusal(form, refused)
    return _form_page(form, case)


def _applicant_values(case: Case) -> dict:
    a = case.applicant
    values = {name: getattr(a, name) for name in (
        "family_name", "given_names", "chinese_name", "date_of_birth", "nationality",
        "passport_number", "hkid", "email", "phone", "email_consent", "language")}
    values["programme"] = case.programme.value if case.programme else ""
    return values


def _step_form(case: Case, name: str) -> StepForm:
    """The form of the step called ``name`` on ``case``, or 404 for a step its policy does
    not have."""
    try:
        transition = case.policy.transition(name)
    except PolicyError:
        abort(404)
    return StepForm(step=transition, case=case, version=case.version,
                    formdata=request.form if request.method == "POST" else None)


@bp.route("/<id:case_id>/step/<step>", methods=["GET", "POST"])
@permission_required(Permission.WORK_CASES)
def step(case_id: int, step: str):
    """One rule for the step's page and its posts: two rules on one path make a bad id
    answer 405 for one method instead of 404."""
    if request.method == "POST":
        return take_step(case_id, step)
    return step_page(case_id, step)


def step_page(case_id: int, step: str):
    """The step's own page: what it asks for, filled with today's date and the usual
    values. A step that cannot be taken now goes back to the case, which says why."""
    case = load_case(case_id)
    form = _step_form(case, step)
    with refusals() as refused:
        _check_can_change(case)
        services.allowed_step(case, step)
    option = next((o for o in services.step_options(case, current_user) if o.name == step),
                  None)
    if refused or option is None or not option.available:
        flash(refused.message or (str(option.refusal) if option else _(
            "“%(step)s” is not possible for this case now.", step=form.step.label)), "warning")
        return redirect(url_for("cases.show", case_id=case.id))
    form.fill_defaults(case, hk_today())
    if "reason" in form and Guard.INELIGIBLE in form.step.guards:
        # A refusal on a permanent ground starts from the ground's words.
        form.reason.data = str(Sentences(g.message for g in services.permanent_grounds(case)))
    return _render_step(case, form)


def _render_step(case: Case, form: StepForm, status: int = 200, error: str | None = None,
                 consequences: list | None = None, see_case: object | None = None):
    """The step's page: its questions, or (``consequences`` given) the answers to check
    with what the step will do, and the button that takes it. ``see_case``: the other case
    a refusal names, linked beside it."""
    return render_template("cases/step.html", case=case, form=form, step=form.step,
                           error=error, consequences=consequences, today=hk_today(),
                           see_case=see_case,
                           earliest=services.earliest_step_date(case)), status


def take_step(case_id: int, step: str):
    """Take a step. A step with a page of its own answers on it: its questions again with
    the problem, or the answers and their consequences to confirm (until ``confirmed`` is
    set by that page). A step taken on the case page answers there."""
    case = load_case(case_id)
    form = _step_form(case, step)
    with refusals() as refused:
        # Not a step from this status (a page shown before the case moved on): the case page,
        # with its history, says where the case is now. (An ended case says so below, on the
        # step's page.)
        if case.is_open:
            services.allowed_step(case, step)
    if refused:
        return _refused(case_id, refused)
    own_page = form.step.has_own_page
    reason = form.reason.data if "reason" in form else None
    consequences = event = None
    with refusals(also=_stale()) as refused:
        _check_can_change(case)
        valid = form.validate_on_submit()
        if not valid or form.change.data:
            pass  # the questions again: with their problems, or to change the answers
        elif form.step.needs_confirmation and form.confirmed.data != "1":
            consequences = services.preview(case, step, current_user, reason,
                                            form.step_data(), form.version.data)
        else:
            event = services.transition(case, step, current_user, reason=reason,
                                        expected_version=form.version.data,
                                        data=form.step_data())
    if refused and (refused.kept or not own_page):
        return _refused(case_id, refused, step_form=form)
    if refused:
        return _render_step(load_case(case_id), form, 422, error=refused.message,
                            see_case=getattr(refused.refusal, "see_case", None))
    if not valid and not own_page:
        return _refused(case_id, Refused(first_error(form)), step_form=form)
    if event is None:
        return _render_step(case, form, 200 if valid else 422, consequences=consequences)
    return _saved(_("%(reference)s moved to “%(status)s”.", reference=case.reference,
                    status=event.to_status.label), case)


# --- A draft's change of scheme ---------------------------------------------------------------

@bp.route("/<id:case_id>/scheme", methods=["GET", "POST"])
@permission_required(Permission.WORK_CASES)
def change_scheme(case_id: int):
    """A draft's change of scheme, on a page of its own: the questions, then (posted) the
    answers to check with what the change will do, then the change. One rule for both
    methods, as for a step's page."""
    if request.method == "POST":
        return _post_scheme_change(case_id)
    case = load_case(case_id)
    with refusals() as refused:
        services.check_scheme_changeable(current_user, case)
    if refused:
        # The case page says where the case is and what can be done with it now.
        flash(refused.message, "warning")
        return redirect(url_for("cases.show", case_id=case.id))
    return _render_scheme_change(case, SchemeChangeForm.for_case(case))


def _render_scheme_change(case: Case, form: SchemeChangeForm, status: int = 200,
                          consequences: list | None = None):
    return render_template("cases/scheme.html", case=case, form=form,
                           consequences=consequences), status


def _post_scheme_change(case_id: int):
    """Answered on its own page: the questions again with their problems (422), the answers
    and what the change will do (until ``confirmed`` is set by that page), or, made, the
    case (303). A refusal (not a draft, not the user's case, the same scheme, a stale form,
    what the new scheme lacks) is said at the top of the form, as it was typed (422)."""
    case = load_case(case_id)
    form = SchemeChangeForm(case=case)
    old_reference = case.reference
    consequences = event = None
    with refusals(also=_stale()) as refused:
        services.check_scheme_changeable(current_user, case)
        valid = form.validate_on_submit()
        if not valid or form.change.data:
            pass  # the questions again: with their problems, or to change the answers
        elif form.confirmed.data != "1":
            consequences = services.preview_scheme_change(
                current_user, case, form.scheme.data, form.case_facts(), form.reason.data,
                form.version.data)
        else:
            event = services.change_scheme(current_user, case, form.scheme.data,
                                           form.case_facts(), form.reason.data,
                                           form.version.data)
    if refused:
        form.form_errors.extend(getattr(refused.refusal, "problems", None)
                                or [refused.message])
        return _render_scheme_change(load_case(case_id), form, 422)
    if event is None:
        return _render_scheme_change(case, form, 200 if valid else 422, consequences)
    return saved(_("%(old)s is now %(new)s, a %(scheme)s case; the old reference stays "
                   "searchable.", old=old_reference, new=case.reference,
                   scheme=case.scheme.short_label),
                 url_for("cases.show", case_id=case.id))


@bp.post("/<id:case_id>/dependants")
@permission_required(Permission.WORK_CASES)
def add_dependant(case_id: int):
    case = load_case(case_id)
    form = DependantForm()
    with refusals(also=_stale()) as refused:
        _check_can_change(case)
        valid = form.validate_on_submit()
        if valid:
            dependant = services.add_dependant(
                current_user, case, Relationship(form.relation.data), form.data_for_service(),
                form.married.data, form.version.data,
                accept_duplicates=form.accepted_reason())
    if refused and isinstance(refused.refusal, duplicates.DuplicatesFound):
        # Not saved: the case page again, the form open with the matches to confirm.
        _record_refusal(form, refused)
        return _render_case(load_case(case_id), 422, dependant_form=form)
    if refused:
        return _refused(case_id, refused, dependant_form=form)
    if not valid:
        return _render_case(case, 422, dependant_form=form)
    return _saved(_("%(relationship)s %(name)s added.", relationship=dependant.relation.label,
                    name=dependant.full_name), case)


@bp.post("/<id:case_id>/dependants/<id:dependant_id>/remove")
@permission_required(Permission.WORK_CASES)
def remove_dependant(case_id: int, dependant_id: int):
    case = load_case(case_id)
    dependant = db.session.get(Dependant, dependant_id)
    if dependant is None or dependant.case_id != case.id:
        abort(404)
    form = ReasonForm()
    with refusals(also=_stale()) as refused:
        _check_can_change(case)
        check_form(form)
        services.remove_dependant(current_user, case, dependant, form.reason.data or "",
                                  form.version.data)
    if refused:
        return _refused(case_id, refused)
    return _saved(_("%(name)s removed from the case.", name=dependant.full_name), case)


@bp.post("/<id:case_id>/take")
@permission_required(Permission.WORK_CASES)
def take(case_id: int):
    case = load_case(case_id)
    form = TakeForm()
    with refusals(also=_stale()) as refused:
        _check_can_change(case, acting=False)  # taking is how one comes to act on it
        check_form(form)
        services.take_case(current_user, case, form.version.data)
    if refused:
        return _refused(case_id, refused)
    return _saved(_("%(reference)s is now assigned to you.", reference=case.reference), case)


@bp.post("/<id:case_id>/reassign")
@permission_required(Permission.SUPERVISE)
def reassign(case_id: int):
    case = load_case(case_id)
    form = ReassignForm()
    form.assignee.choices = assignee_choices(services.active_caseworkers())
    with refusals(also=_stale()) as refused:
        _check_can_change(case)
        check_form(form)
        assignee = db.session.get(User, form.assignee.data)
        services.reassign_case(current_user, case, assignee, form.version.data)
    if refused:
        return _refused(case_id, refused)
    return _saved(_("%(reference)s reassigned to %(name)s.", reference=case.reference,
                    name=assignee.full_name), case)


@bp.post("/<id:case_id>/notes")
@permission_required(Permission.WORK_CASES)
def add_note(case_id: int):
    """Write a note (or a correction of an earlier note) on the case; any case the user may
    view, open or ended (``Case.can_add_note``: a note changes nothing on the case)."""
    case = load_case(case_id)
    if not case.can_add_note(current_user):
        abort(403)
    form = NoteForm()
    with refusals() as refused:
        valid = form.validate_on_submit()
        if valid:
            note = services.add_note(current_user, case, form.text.data, form.corrects.data)
    if refused:
        return _refused(case_id, refused, note_form=form)
    if not valid:
        return _render_case(case, 422, note_form=form)
    message = (_("Correction added to %(reference)s; the note it corrects is marked as "
                 "corrected.", reference=case.reference) if note.corrects_note_id
               else _("Note added to %(reference)s.", reference=case.reference))
    return saved(message, url_for("cases.show", case_id=case.id, _anchor=f"note-{note.id}"))


# --- The stay -----------------------------------------------------------------------------

@bp.post("/<id:case_id>/dates")
@permission_required(Permission.WORK_CASES)
def correct_date(case_id: int):
    case = load_case(case_id)
    form = CorrectDateForm(dates=services.correctable_dates(case, hk_today()))
    stay_ended = case.stay_ends_on
    with refusals(also=_stale()) as refused:
        _check_can_change(case)
        valid = form.validate_on_submit()
        if valid:
            services.correct_date(current_user, case, form.which.data, form.corrected.data,
                                  form.reason.data, form.version.data, hk_today())
    if refused:
        return _refused(case_id, refused, correct_date_form=form)
    if not valid:
        return _render_case(case, 422, correct_date_form=form)
    if case.stay_ends_on != stay_ended:
        return _saved(_("Date corrected; the stay now ends on %(date)s.",
                        date=format_date(case.stay_ends_on)), case)
    return _saved(_("Date corrected; what depends on it was recomputed (see the history)."),
                  case)


@bp.post("/<id:case_id>/job-offers")
@permission_required(Permission.WORK_CASES)
def record_job_offer(case_id: int):
    case = load_case(case_id)
    form = JobOfferForm()
    with refusals(also=_stale()) as refused:
        _check_can_change(case)
        valid = form.validate_on_submit()
        if valid:
            services.record_job_offer(current_user, case, stay.JobOfferData(
                employer=form.employer.data, post=form.post.data, salary=form.salary.data,
                start_date=form.start_date.data, offered_on=form.offered_on.data),
                form.version.data)
    if refused:
        return _refused(case_id, refused, job_offer_form=form)
    if not valid:
        return _render_case(case, 422, job_offer_form=form)
    return _saved(_("Job offer recorded."), case)


# --- Deadlines across cases -----------------------------------------------------------------

@bp.get("/due-soon")
@permission_required(Permission.WORK_CASES)
def due_soon():
    office = request.args.get("scope") == "office"
    if office and not current_user.can_supervise():
        abort(403)
    today = hk_today()
    upcoming, overdue = queries.due_soon(current_user, office, today)
    return render_template("cases/due_soon.html", upcoming=upcoming, overdue=overdue,
                           office=office, today=today, days=queries.DUE_SOON_DAYS,
                           limit=queries.DEADLINE_LIST_LIMIT)


@bp.get("/calendar")
@permission_required(Permission.WORK_CASES)
def calendar_page():
    # The feed is written in the account's language (calendar.feed), whatever this page's.
    return render_template("cases/calendar.html",
                           feed_language=language_for(current_user.language))


@bp.post("/calendar/reset")
@permission_required(Permission.WORK_CASES)
def calendar_reset():
    form = BaseForm()
    if not form.validate_on_submit():
        abort(400)
    had_one = current_user.calendar_token is not None
    calendar.reset_token(current_user)
    return saved(_("A new calendar address was made; the old one no longer works.") if had_one
                 else _("Your calendar address is ready."), url_for("cases.calendar_page"))


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    """No sign-in: calendar apps cannot sign in. The unguessable token is the key."""
    user = calendar.user_for_token(token)
    if user is None or not user.can_work_cases():
        abort(404)
    return Response(calendar.feed(user), mimetype="text/calendar",
                    headers={"Content-Disposition": 'inline; filename="deadlines.ics"',
                             "Cache-Control": "private, max-age=300"})

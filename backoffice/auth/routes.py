"""Sign-in, sign-out, password change and the admin's account pages."""

from __future__ import annotations

import math

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import Select, bindparam, func, select

from backoffice.auth import bp, queries, throttling
from backoffice.auth import services as accounts
from backoffice.auth import signals as auth_signals
from backoffice.auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    CreateUserForm,
    LanguageForm,
    LoginForm,
    ResetPasswordForm,
    RoleForm,
    SecurityLogFilterForm,
)
from backoffice.auth.models import Permission, Role, User
from backoffice.core import signals
from backoffice.core.dates import utcnow
from backoffice.core.export import csv_response
from backoffice.core.i18n import force_language, language_for
from backoffice.core.i18n import lazy_gettext as _l
from backoffice.core.pagination import paginate
from backoffice.core.refusals import refusals, saved
from backoffice.core.routes import NavItem
from backoffice.core.security import is_safe_redirect, permission_required
from backoffice.extensions import db, login_manager


@signals.menu_items.connect
def _menu_items(_app, **_kwargs) -> list[NavItem]:
    return [NavItem(_l("Users"), "auth.users", Permission.MANAGE_USERS, order=80),
            NavItem(_l("Security log"), "auth.security_log", Permission.MANAGE_USERS, order=90)]


@signals.header_templates.connect
def _header_template(_app, **_kwargs) -> str:
    return "auth/_account_menu.html"


@signals.language_chosen.connect
def _save_language(_app, user: User, language: str, **_kwargs) -> None:
    accounts.set_language(user, language)


@bp.app_template_global("describe_detail")
def _describe_detail(event) -> str:
    return accounts.describe_detail(event)


def _user_statement() -> tuple[Select, tuple[str, ...]]:
    """The statement that finds the signed-in user, with what the features above ask to read
    alongside (``auth.signals.loaded_with_user``), and the names of those values. Built once
    per app: every request runs it, and building a select costs about what running it does."""
    found = current_app.extensions.get("backoffice.user_statement")
    if found is None:
        extras: dict = {}
        for _receiver, columns in auth_signals.loaded_with_user.send(
                current_app._get_current_object()):
            extras.update(columns)
        statement = (select(User, *(column.label(name) for name, column in extras.items()))
                     .where(User.session_token == bindparam("token"), User.active.is_(True)))
        found = current_app.extensions["backoffice.user_statement"] = (statement, tuple(extras))
    return found


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    """Find the user by the session token in the cookie; a rotated token finds no one."""
    statement, names = _user_statement()
    row = db.session.execute(statement, {"token": session_token}).first()
    if row is None:
        return None
    g.loaded_with_user = dict(zip(names, row[1:], strict=True))
    return row[0]



def request_info() -> accounts.RequestInfo:
    return accounts.RequestInfo(ip=request.remote_addr,
                                user_agent=request.headers.get("User-Agent"))


def _start_session(user: User) -> None:
    # A fresh session on sign-in, so nothing set before (a fixated cookie) survives.
    session.clear()
    login_user(user)
    session.permanent = True
    session["auth_at"] = utcnow().isoformat()


def home_for(_user: User) -> str:
    return url_for("core.home")


# What a user whose password someone else chose may still open: the page to choose their own,
# sign-out, the choice of the language to read it in, and the files every page needs.
_OPEN_WITH_A_TEMPORARY_PASSWORD = {"auth.change_password", "auth.logout", "auth.change_language",
                                   "core.choose_language", "static"}


@bp.before_app_request
def _choose_a_password_first():
    """A temporary password (set by an admin or `flask create-user`) opens one page only:
    the one where the user chooses their own."""
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    endpoint = request.endpoint or ""
    if endpoint in _OPEN_WITH_A_TEMPORARY_PASSWORD or endpoint.endswith(".static"):
        return None
    flash(_("Choose your own password before you go on: the one you signed in with was set "
            "by an administrator."), "info")
    return redirect(url_for("auth.change_password"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in. Throttled per client address and over all addresses (auth/throttling.py,
    attached when the blueprint is registered)."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = accounts.sign_in(form.email.data, form.password.data, request_info())
        g.sign_in_failed = result.failed  # counted by the limits after the response
        if result.ok:
            _start_session(result.user)
        db.session.commit()  # failures and lockouts are recorded too
        if result.ok:
            # In the account's own language, which the next page will be in.
            with force_language(result.user.language):
                flash(_("Signed in as %(name)s.", name=result.user.full_name), "success")
            if result.user.must_change_password:
                return redirect(url_for("auth.change_password"))
            target = form.next.data
            return redirect(target if is_safe_redirect(target) else home_for(result.user))
        if result.locked_until is not None:
            retry_after = math.ceil((result.locked_until - utcnow()).total_seconds())
            response = throttling.throttled_page(result.error, retry_after)
            return response
        form.form_errors.append(str(result.error))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.post("/logout")
@login_required
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    accounts.sign_out(current_user, request_info())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with refusals(form.current_password.errors) as refused:
            accounts.change_password(current_user, form.current_password.data,
                                     form.new_password.data, request_info())
        if not refused:
            user = current_user._get_current_object()
            _start_session(user)  # the old token is gone; this browser keeps working
            return saved(_("Your password has been changed. Other sessions have been signed "
                           "out."), home_for(user))
    return _render_account(form=form, status=200 if not form.errors else 422)


def _render_account(form: ChangePasswordForm | None = None,
                    language_form: LanguageForm | None = None, status: int = 200):
    """The account page: the password form and the language form, either of which may
    come back with its errors."""
    return render_template(
        "auth/change_password.html", form=form or ChangePasswordForm(formdata=None),
        language_form=language_form or LanguageForm(formdata=None,
                                                    language=current_user.language),
        must_change=current_user.must_change_password), status


@bp.post("/account/language")
@login_required
def change_language():
    """Save the language the signed-in user reads the back office in."""
    form = LanguageForm()
    if form.validate_on_submit():
        accounts.set_language(current_user, form.language.data)
        language = language_for(form.language.data)
        # Said in the language just chosen, as the page it lands on will be.
        with force_language(language.code):
            message = _("From now on you read the back office in %(language)s.",
                        language=language.name)
        return saved(message, url_for("auth.change_password"))
    return _render_account(language_form=form, status=422)


# --- Account administration -------------------------------------------------------------

@bp.get("/admin/users")
@permission_required(Permission.MANAGE_USERS)
def users():
    query = select(User).order_by(User.active.desc(), func.lower(User.full_name), User.id)
    page = paginate(query, per_page=50)
    locked = accounts.locked_user_ids([user.id for user in page.items])
    return render_template("auth/users.html", page=page, locked=locked)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def create_user():
    form = CreateUserForm()
    if form.validate_on_submit():
        with refusals(form.email.errors) as refused:
            user = accounts.create_user(
                current_user, email=form.email.data, full_name=form.full_name.data,
                role=Role(form.role.data), password=form.password.data,
                language=form.language.data, info=request_info())
        if not refused:
            return saved(_("Account created for %(name)s (%(role)s).", name=user.full_name,
                           role=user.role.label),
                         url_for("auth.user_detail", user_id=user.id))
    return render_template("auth/user_new.html", form=form), 200 if not form.errors else 422


def _load_user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/users/<id:user_id>")
@permission_required(Permission.MANAGE_USERS)
def user_detail(user_id: int):
    user = _load_user_or_404(user_id)
    return _render_user(user)


def _render_user(user: User, role_form: RoleForm | None = None, status: int = 200,
                 reset_form: ResetPasswordForm | None = None,
                 language_form: LanguageForm | None = None):
    events = queries.recent_events_of(user)
    return render_template("auth/user_detail.html", user=user,
                           role_form=role_form or RoleForm(role=user.role.value),
                           reset_form=reset_form or ResetPasswordForm(formdata=None),
                           language_form=language_form or LanguageForm(
                               formdata=None, language=user.language),
                           language_name=language_for(user.language).name,
                           confirm_form=ConfirmForm(), events=events,
                           locks=accounts.active_locks(user)), status


@bp.post("/admin/users/<id:user_id>/role")
@permission_required(Permission.MANAGE_USERS)
def change_role(user_id: int):
    user = _load_user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        with refusals(form.role.errors) as refused:
            accounts.change_role(current_user, user, Role(form.role.data), request_info())
        if not refused:
            return saved(_("%(name)s's role is now %(role)s.", name=user.full_name,
                           role=user.role.label),
                         url_for("auth.user_detail", user_id=user.id))
    return _render_user(user, form, 422)


@bp.post("/admin/users/<id:user_id>/language")
@permission_required(Permission.MANAGE_USERS)
def change_user_language(user_id: int):
    user = _load_user_or_404(user_id)
    form = LanguageForm()
    if form.validate_on_submit():
        accounts.set_language(user, form.language.data)
        return saved(_("%(name)s reads the back office in %(language)s.", name=user.full_name,
                       language=language_for(user.language).name),
                     url_for("auth.user_detail", user_id=user.id))
    return _render_user(user, status=422, language_form=form)


@bp.post("/admin/users/<id:user_id>/<any(deactivate, reactivate):action>")
@permission_required(Permission.MANAGE_USERS)
def set_active(user_id: int, action: str):
    user = _load_user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    with refusals() as refused:
        accounts.set_active(current_user, user, action == "reactivate", request_info())
    if refused:
        flash(refused.message, "danger")
        return _render_user(user, status=422)
    if user.active:
        message = _("%(name)s's account is reactivated.", name=user.full_name)
    else:
        message = _("%(name)s's account is deactivated; their sessions have ended.",
                    name=user.full_name)
    return saved(message, url_for("auth.user_detail", user_id=user.id))


@bp.post("/admin/users/<id:user_id>/unlock")
@permission_required(Permission.MANAGE_USERS)
def unlock(user_id: int):
    user = _load_user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    with refusals() as refused:
        count = accounts.unlock(current_user, user, request_info())
    if refused:
        flash(refused.message, "danger")
        return _render_user(user, status=422)
    return saved(ngettext("%(name)s's account is unlocked (%(num)d address).",
                          "%(name)s's account is unlocked (%(num)d addresses).", count,
                          name=user.full_name),
                 url_for("auth.user_detail", user_id=user.id))


@bp.post("/admin/users/<id:user_id>/password")
@permission_required(Permission.MANAGE_USERS)
def reset_password(user_id: int):
    user = _load_user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with refusals(form.password.errors) as refused:
            accounts.reset_password(current_user, user, form.password.data, request_info())
        if not refused:
            return saved(_("%(name)s has a temporary password and must choose a new one at "
                           "next sign-in; their sessions have ended.", name=user.full_name),
                         url_for("auth.user_detail", user_id=user.id))
    return _render_user(user, status=422, reset_form=form)


def _log_filters(form: SecurityLogFilterForm) -> queries.LogFilters:
    if not form.validate():
        return queries.LogFilters()
    return queries.LogFilters(email=form.email.data, kind=form.kind.data or None,
                              date_from=form.date_from.data, date_to=form.date_to.data)


@bp.get("/admin/security-log")
@permission_required(Permission.MANAGE_USERS)
def security_log():
    form = SecurityLogFilterForm(request.args)
    filters = _log_filters(form)
    page = queries.log_page(filters, request.args.get("after"))
    query_args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template("auth/security_log.html", form=form, page=page,
                           query_args=query_args), 200 if not form.errors else 422


@bp.get("/admin/security-log/export.csv")
@permission_required(Permission.MANAGE_USERS)
def security_log_export():
    form = SecurityLogFilterForm(request.args)
    filters = _log_filters(form)
    if form.errors:
        # A file cannot say that a filter was ignored: the log page explains it instead.
        return redirect(url_for("auth.security_log", **request.args.to_dict(flat=False)))
    return csv_response(queries.log_csv_rows(filters), queries.log_csv_filename(filters))


@bp.record_once
def _throttle_sign_in(state) -> None:
    # Runs after the routes above are registered: the limits attach to the sign-in view.
    throttling.init_app(state.app)

"""Sign-in, sign-out, password change and the admin's account pages."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, func, select

from backoffice.auth import bp
from backoffice.auth import services as accounts
from backoffice.auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    CreateUserForm,
    LoginForm,
    RoleForm,
)
from backoffice.auth.models import Permission, Role, SecurityEvent, User
from backoffice.core import signals
from backoffice.core.dates import utcnow
from backoffice.core.pagination import paginate
from backoffice.core.refusals import refusals, saved
from backoffice.core.routes import NavItem
from backoffice.core.security import is_safe_redirect, permission_required
from backoffice.extensions import db, login_manager


@signals.menu_items.connect
def _menu_items(_app, **_kwargs) -> list[NavItem]:
    return [NavItem("Users", "auth.users", Permission.MANAGE_USERS, order=80),
            NavItem("Security log", "auth.security_log", Permission.MANAGE_USERS, order=90)]


@signals.header_templates.connect
def _header_template(_app, **_kwargs) -> str:
    return "auth/_account_menu.html"


# Every request runs this; built once, as building a select costs about what running it does.
_USER_BY_SESSION_TOKEN = select(User).where(User.session_token == bindparam("token"),
                                            User.active.is_(True))


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    """Find the user by the session token in the cookie; a rotated token finds no one."""
    return db.session.scalar(_USER_BY_SESSION_TOKEN, {"token": session_token})


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


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = accounts.sign_in(form.email.data, form.password.data, request_info())
        if result.ok:
            _start_session(result.user)
        db.session.commit()  # failures and lockouts are recorded too
        if result.ok:
            flash(f"Signed in as {result.user.full_name}.", "success")
            target = form.next.data
            return redirect(target if is_safe_redirect(target) else home_for(result.user))
        form.form_errors.append(result.error)
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
    flash("You have signed out.", "info")
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
            return saved("Your password has been changed. Other sessions have been signed "
                         "out.", home_for(user))
    return render_template("auth/change_password.html", form=form), 200 if not form.errors else 422


# --- Account administration -------------------------------------------------------------

@bp.get("/admin/users")
@permission_required(Permission.MANAGE_USERS)
def users():
    query = select(User).order_by(User.active.desc(), func.lower(User.full_name), User.id)
    page = paginate(query, per_page=50)
    return render_template("auth/users.html", page=page, now=utcnow())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def create_user():
    form = CreateUserForm()
    if form.validate_on_submit():
        with refusals(form.email.errors) as refused:
            user = accounts.create_user(
                current_user, email=form.email.data, full_name=form.full_name.data,
                role=Role(form.role.data), password=form.password.data, info=request_info())
        if not refused:
            return saved(f"Account created for {user.full_name} ({user.role.label}).",
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
    return _render_user(user, RoleForm(role=user.role.value))


def _render_user(user: User, role_form: RoleForm, status: int = 200):
    events = db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.user_id == user.id)
        .order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc()).limit(25)
    ).all()
    return render_template("auth/user_detail.html", user=user, role_form=role_form,
                           confirm_form=ConfirmForm(), events=events, now=utcnow()), status


@bp.post("/admin/users/<id:user_id>/role")
@permission_required(Permission.MANAGE_USERS)
def change_role(user_id: int):
    user = _load_user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        with refusals(form.role.errors) as refused:
            accounts.change_role(current_user, user, Role(form.role.data), request_info())
        if not refused:
            return saved(f"{user.full_name} is now {user.role.label.lower()}.",
                         url_for("auth.user_detail", user_id=user.id))
    return _render_user(user, form, 422)


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
        return _render_user(user, RoleForm(role=user.role.value), 422)
    done = "reactivated" if user.active else "deactivated; their sessions have ended"
    return saved(f"{user.full_name}'s account is {done}.",
                 url_for("auth.user_detail", user_id=user.id))


@bp.get("/admin/security-log")
@permission_required(Permission.MANAGE_USERS)
def security_log():
    query = select(SecurityEvent).order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
    page = paginate(query, per_page=100)
    return render_template("auth/security_log.html", page=page)

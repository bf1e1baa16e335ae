"""Forms for sign-in, password change and account administration."""

from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import Email, EqualTo, InputRequired, Length, ValidationError

from backoffice.auth.models import Role
from backoffice.auth.services import PASSWORD_MAX_LENGTH, password_problem
from backoffice.core.forms import BaseForm, SelectField, choices_of

ROLE_CHOICES = choices_of((role.value, role.label) for role in Role)


def _password_rules(_form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class LoginForm(BaseForm):
    email = EmailField("Email address", validators=[
        InputRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[
        InputRequired("Enter your password."), Length(max=PASSWORD_MAX_LENGTH)])
    next = HiddenField()
    submit = SubmitField("Sign in")


class ChangePasswordForm(BaseForm):
    current_password = PasswordField("Current password", validators=[
        InputRequired("Enter your current password.")])
    new_password = PasswordField("New password", validators=[
        InputRequired("Enter a new password."), _password_rules],
        description="At least 12 characters. A short sentence is easy to remember.")
    confirm = PasswordField("Repeat the new password", validators=[
        InputRequired("Repeat the new password."),
        EqualTo("new_password", "The two new passwords do not match.")])
    submit = SubmitField("Change password")


class CreateUserForm(BaseForm):
    full_name = StringField("Full name", validators=[
        InputRequired("Enter the person's full name."), Length(max=200)])
    email = EmailField("Email address", validators=[
        InputRequired("Enter an email address."),
        Email("Enter a valid email address, like name@example.org.", check_deliverability=False),
        Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[
        InputRequired("Choose a role.")])
    password = PasswordField("Initial password", validators=[
        InputRequired("Enter an initial password."), _password_rules],
        description="At least 12 characters. Give it to the person by a separate channel.")
    confirm = PasswordField("Repeat the password", validators=[
        InputRequired("Repeat the password."),
        EqualTo("password", "The two passwords do not match.")])
    submit = SubmitField("Create account")


class RoleForm(BaseForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[InputRequired("Choose a role.")])
    submit = SubmitField("Change role")


class ConfirmForm(BaseForm):
    """A form with only a CSRF token, for buttons that change state."""

    submit = SubmitField("Confirm")
